"""``pyrunsc kill``: send a signal to a container's init (or all)."""
import click

from cli.commands import _util


class SignalType(click.ParamType):
    name = "signal"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return _util.parse_signal(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


@click.command("kill", short_help="Send a signal to a container.")
@click.option("--all", "-a", "all_", is_flag=True,
              help="Signal every process of the container.")
@click.argument("container_id")
@click.argument("sig", metavar="[SIGNAL]", type=SignalType(),
                default="SIGTERM")
@click.pass_obj
def command(config, all_, container_id, sig):
    """Send SIGNAL (name like KILL/SIGKILL or number; default SIGTERM)."""
    _util.load(config, container_id).signal(sig, all=all_)
