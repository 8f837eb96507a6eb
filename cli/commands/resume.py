"""``pyrunsc resume``: thaw a paused container."""
import click

from cli.commands import _util


@click.command("resume", short_help="Resume a paused container.")
@click.argument("container_id")
@click.pass_obj
def command(config, container_id):
    """Thaw the processes of the paused CONTAINER_ID."""
    _util.load(config, container_id).resume()
