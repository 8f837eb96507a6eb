"""``pyrunsc events``: resource statistics of a container, as JSON lines."""
import time

import click

from cli.commands import _util
from runtime.errors import ContainerNotFoundError, InvalidStateError


@click.command("events", short_help="Display container statistics.")
@click.option("--stats", is_flag=True,
              help="Print the statistics once and exit.")
@click.option("--interval", type=click.FloatRange(min=0.01), default=5.0,
              show_default=True, metavar="SECONDS",
              help="Seconds between two statistics events.")
@click.argument("container_id")
@click.pass_obj
def command(config, stats, interval, container_id):
    """Print {"type":"stats","id":...,"data":{...}} (cgroup statistics).

    Without --stats, one line every --interval until the container stops.
    """
    c = _util.load(config, container_id)
    if stats:
        _util.echo_json(c.event())
        return
    while True:
        try:
            ev = c.event()
        except (ContainerNotFoundError, InvalidStateError):
            return
        _util.echo_json(ev)
        time.sleep(interval)
        try:
            c = _util.load(config, container_id)
        except ContainerNotFoundError:
            return
        if c.status == "stopped":
            return
