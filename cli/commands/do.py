"""``pyrunsc do``: run a command in a sandbox on the host's root, read-only.

As ``runsc do``: a generated container id, a temporary bundle whose root
is the host's ``/`` (or ``--rootfs``) mounted read-only, a fresh tmpfs on
/tmp, hostname ``pyrunsc``, a new network namespace with only loopback
unless ``--network host``.  Everything is deleted afterwards; the exit
status is the command's.
"""
import contextlib
import json
import os
import secrets
import shutil
import tempfile

import click

from cli.commands import _util
from runtime import specgen
from runtime.errors import ContainerNotFoundError, SandboxError


def _hidden(path, spec):
    for m in spec["mounts"]:
        d = m["destination"].rstrip("/")
        if path == d or path.startswith(d + "/"):
            return True
    return False


@click.command("do", short_help="Run a command in a throwaway sandbox.",
               context_settings={"allow_interspersed_args": False})
@click.option("--rootfs", default="/", show_default=True, metavar="DIR",
              help="Root of the sandbox (read-only).")
@click.option("--cwd", metavar="DIR",
              help="Working directory (default: the current one when "
                   "--rootfs is / and it is not under /tmp, /proc, /dev or "
                   "/sys, else /).")
@click.option("--env", "-e", multiple=True, metavar="KEY=VALUE",
              help="Add or override an environment variable.")
@click.option("--hostname", default=specgen.DO_HOSTNAME, show_default=True)
@click.option("--writable", is_flag=True,
              help="Mount the root read-write (dangerous with /).")
@click.option("--tty", "-t", is_flag=True,
              help="Give the command a pty (the CLI proxies it).")
@click.argument("argv", nargs=-1, required=True,
                metavar="COMMAND [ARG...]")
@click.pass_obj
def command(config, rootfs, cwd, env, hostname, writable, tty, argv):
    """Run COMMAND inside a new sandbox; exit with its exit status."""
    rootfs = os.path.abspath(rootfs)
    default_cwd = cwd is None
    if default_cwd:
        cwd = os.getcwd() if rootfs == "/" else "/"
    environ = dict(os.environ)
    for e in env:
        k, sep, v = e.partition("=")
        if not sep:
            raise click.BadParameter(f"{e!r}: must be KEY=VALUE",
                                     param_hint="'--env'")
        environ[k] = v
    spec = specgen.do_spec(
        list(argv), cwd=cwd, env=environ, root=rootfs,
        readonly=not writable,
        network="host" if config.network == "host" else "none",
        hostname=hostname, terminal=tty)
    if default_cwd and _hidden(cwd, spec):
        # The current directory is under a mount of the sandbox (/tmp is a
        # fresh tmpfs): it does not exist in there.
        spec["process"]["cwd"] = "/"
    cid = "do-" + secrets.token_hex(6)
    bundle = tempfile.mkdtemp(prefix="pyrunsc-do-")
    try:
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f, indent=1)
        return _util.run_attached(config, cid, bundle)
    finally:
        with contextlib.suppress(ContainerNotFoundError, SandboxError):
            _util.container_class().load(config, cid).destroy(force=True)
        shutil.rmtree(bundle, ignore_errors=True)
