"""``pyrunsc events``: resource statistics of a container, as JSON lines."""
import re
import time

import click

from cli.commands import _util
from runtime.errors import ContainerNotFoundError, InvalidStateError


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}


class Duration(click.ParamType):
    """Seconds, or a Go duration as runc takes it: 500ms, 5s, 1m."""
    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h|)\s*", str(value))
        if not m or float(m.group(1)) * _UNITS[m.group(2)] <= 0:
            self.fail(f"{value!r}: must be a positive duration like 5s or "
                      "500ms", param, ctx)
        return float(m.group(1)) * _UNITS[m.group(2)]


@click.command("events", short_help="Display container statistics.")
@click.option("--stats", is_flag=True,
              help="Print the statistics once and exit.")
@click.option("--interval", type=Duration(), default="5s",
              show_default=True,
              help="Time between two statistics events (5s, 500ms, 2).")
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
