"""``pyrunsc wait``: wait for a container's init and print its exit status.

As ``runsc wait``: prints ``{"id": ..., "exitStatus": N}`` and exits 0;
the status is 0..255, or 128+N for death by signal N.
"""
import click

from cli.commands import _util


@click.command("wait", short_help="Wait for a container to exit.")
@click.option("--pid", type=int, default=None,
              help="Wait for this pid (in the container's pid namespace) "
                   "instead of init.")
@click.argument("container_id")
@click.pass_obj
def command(config, pid, container_id):
    """Block until CONTAINER_ID's process exits; print its status."""
    c = _util.load(config, container_id)
    status = c.wait() if pid is None else c.wait_pid(pid)
    _util.echo_json({"id": container_id, "exitStatus": status})
