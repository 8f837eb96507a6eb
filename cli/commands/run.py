"""``pyrunsc run``: create, start and (unless detached) wait and delete."""
import click

from cli.commands import _util
from runtime.errors import SandboxError, UnsupportedError


@click.command("run", short_help="Create and run a container.")
@click.option("--bundle", "-b", default=".", show_default=True,
              metavar="DIR", help="Bundle directory (holds config.json).")
@click.option("--console-socket", metavar="PATH",
              help="Unix socket that receives the pty master of a "
                   "terminal container; without it `run` is the console.")
@click.option("--pid-file", metavar="FILE",
              help="Write the container's init pid (host) here.")
@click.option("--detach", "-d", is_flag=True,
              help="Return once the container is started.")
@click.option("--keep", is_flag=True,
              help="Do not delete the container after it exits.")
@click.option("--preserve-fds", type=int, default=0,
              help="Not supported yet; only 0 is accepted.")
@click.option("--no-pivot", is_flag=True, hidden=True)
@click.option("--no-new-keyring", is_flag=True, hidden=True)
@click.option("--no-subreaper", is_flag=True, hidden=True)
@click.argument("container_id")
@click.pass_obj
def command(config, bundle, console_socket, pid_file, detach, keep,
            preserve_fds, no_pivot, no_new_keyring, no_subreaper,
            container_id):
    """Run CONTAINER_ID from the bundle; exit with its exit status.

    While waiting, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 and the job
    control signals are forwarded to the container's init.
    """
    _util.validate_id(container_id)
    if preserve_fds:
        raise UnsupportedError("--preserve-fds")
    bundle = _util.abspath_or_none(bundle)
    console_socket = _util.abspath_or_none(console_socket)
    pid_file = _util.abspath_or_none(pid_file)
    if detach:
        if not console_socket and _util.read_bundle_terminal(bundle):
            raise SandboxError("cannot allocate a pty for a detached "
                               "container without --console-socket")
        return _util.container_class().run(
            config, container_id, bundle, console_socket=console_socket,
            pid_file=pid_file, detach=True)
    return _util.run_attached(config, container_id, bundle,
                              console_socket=console_socket,
                              pid_file=pid_file, keep=keep)
