"""``pyrunsc state``: print the OCI state of a container as JSON."""
import click

from cli.commands import _util


@click.command("state", short_help="Output the state of a container.")
@click.argument("container_id")
@click.pass_obj
def command(config, container_id):
    """Print the runtime-spec state JSON of CONTAINER_ID."""
    _util.echo_json(_util.load(config, container_id).state(), indent=2)
