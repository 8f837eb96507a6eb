"""``pyrunsc create``: create a container from a bundle, ready to start."""
import click

from cli.commands import _util
from runtime import waiter
from runtime.errors import UnsupportedError


@click.command("create", short_help="Create a container.")
@click.option("--bundle", "-b", default=".", show_default=True,
              metavar="DIR", help="Bundle directory (holds config.json).")
@click.option("--console-socket", metavar="PATH",
              help="Unix socket that receives the pty master of a "
                   "terminal container (SCM_RIGHTS).")
@click.option("--pid-file", metavar="FILE",
              help="Write the container's init pid (host) here, last.")
@click.option("--preserve-fds", type=int, default=0,
              help="Not supported yet; only 0 is accepted.")
@click.option("--no-pivot", is_flag=True, hidden=True,
              help="Accepted for runc compatibility; pivot_root is used.")
@click.option("--no-new-keyring", is_flag=True, hidden=True,
              help="Accepted for runc compatibility.")
@click.argument("container_id")
@click.pass_obj
def command(config, bundle, console_socket, pid_file, preserve_fds,
            no_pivot, no_new_keyring, container_id):
    """Create CONTAINER_ID from the bundle; its process waits for start."""
    _util.validate_id(container_id)
    if preserve_fds:
        raise UnsupportedError("--preserve-fds")
    pid_file = _util.abspath_or_none(pid_file)
    c = _util.container_class().create(
        config, container_id, _util.abspath_or_none(bundle),
        console_socket=_util.abspath_or_none(console_socket),
        pid_file=pid_file)
    if pid_file and waiter.wanted():
        # An engine's shim reaps the pid of the pid file itself.
        waiter.replace_pid_file(c, pid_file)
