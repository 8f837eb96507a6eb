"""``pyrunsc spec``: write a default config.json, as ``runc spec`` does."""
import json
import os

import click

from runtime import specgen
from runtime.errors import SandboxError


@click.command("spec", short_help="Create a new OCI bundle specification.")
@click.option("--bundle", "-b", metavar="DIR",
              help="Directory of the bundle (default: the current one).")
@click.option("--rootless", is_flag=True,
              help="A spec for rootless containers (user namespace).")
@click.argument("args", nargs=-1, metavar="[-- COMMAND [ARG...]]")
def command(bundle, rootless, args):
    """Write config.json with runc's defaults into the bundle directory.

    Given a command after --, it becomes process.args and the process runs
    without a terminal (as with runsc spec).  An existing config.json is
    never overwritten.
    """
    spec = specgen.default_spec(rootless=rootless)
    if args:
        spec["process"]["args"] = list(args)
        spec["process"]["terminal"] = False
    path = os.path.join(bundle or ".", "config.json")
    if bundle and not os.path.isdir(bundle):
        raise SandboxError(f"bundle {bundle}: not a directory")
    data = json.dumps(spec, indent="\t") + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise SandboxError("file config.json exists: remove it first") \
            from None
    except OSError as e:
        raise SandboxError(f"writing {path}: {e.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(data)
