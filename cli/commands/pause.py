"""``pyrunsc pause``: freeze every process of a running container."""
import click

from cli.commands import _util


@click.command("pause", short_help="Suspend all processes of a container.")
@click.argument("container_id")
@click.pass_obj
def command(config, container_id):
    """Freeze CONTAINER_ID (cgroup freezer); resume thaws it."""
    _util.load(config, container_id).pause()
