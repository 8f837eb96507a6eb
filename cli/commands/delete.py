"""``pyrunsc delete``: remove a container and everything it holds."""
import click

from cli.commands import _util


@click.command("delete", short_help="Delete a container's resources.")
@click.option("--force", "-f", is_flag=True,
              help="Kill the container first if it is still running.")
@click.argument("container_id")
@click.pass_obj
def command(config, force, container_id):
    """Delete CONTAINER_ID (created or stopped, any state with --force)."""
    _util.load(config, container_id).destroy(force=force)
