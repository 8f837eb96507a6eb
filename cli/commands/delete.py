"""``pyrunsc delete``: remove a container and everything it holds."""
import os

import click

from cli.commands import _util
from runtime import meta
from runtime.errors import ContainerNotFoundError


@click.command("delete", short_help="Delete a container's resources.")
@click.option("--force", "-f", is_flag=True,
              help="Kill the container first if it is still running; a "
                   "container that does not exist is not an error.")
@click.argument("container_id")
@click.pass_obj
def command(config, force, container_id):
    """Delete CONTAINER_ID (created or stopped, any state with --force)."""
    try:
        c = _util.load(config, container_id)
    except ContainerNotFoundError:
        if not force:
            raise
        _remove_leftover(config.root, container_id)
        return
    c.destroy(force=force)


def _remove_leftover(root, cid):
    """As runc: ``delete --force`` of an unknown id removes a directory
    that a create killed before writing its metadata left behind."""
    with meta.locked(root, cid, missing_ok=True) as fd:
        d = meta.container_dir(root, cid)
        if fd is not None and not os.path.exists(os.path.join(d, meta.META)):
            meta.remove_dir(root, cid)
