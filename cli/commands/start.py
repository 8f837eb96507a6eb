"""``pyrunsc start``: run the user process of a created container."""
import click

from cli.commands import _util


@click.command("start", short_help="Start a created container.")
@click.argument("container_id")
@click.pass_obj
def command(config, container_id):
    """Start the process of CONTAINER_ID (which must be created)."""
    _util.load(config, container_id).start()
