"""``pyrunsc exec``: run a new process in a running container."""
import contextlib
import json
import os
import shutil
import signal
import tempfile

import click

from cli.commands import _util
from runtime import specgen, waiter
from runtime.errors import SandboxError, UnsupportedError


def load_process(path):
    try:
        with open(path) as f:
            proc = json.load(f)
    except OSError as e:
        raise SandboxError(f"reading process {path}: {e.strerror}") from None
    except ValueError as e:
        raise SandboxError(f"reading process {path}: malformed JSON: {e}") \
            from None
    if not isinstance(proc, dict):
        raise SandboxError(f"reading process {path}: not a JSON object")
    return proc


@click.command("exec", short_help="Execute a new process in a container.",
               context_settings={"allow_interspersed_args": False})
@click.option("--console-socket", metavar="PATH",
              help="Unix socket that receives the pty master (with --tty).")
@click.option("--cwd", metavar="DIR", help="Working directory.")
@click.option("--env", "-e", multiple=True, metavar="KEY=VALUE",
              help="Set an environment variable (repeatable).")
@click.option("--tty", "-t", is_flag=True, help="Allocate a pty.")
@click.option("--user", "-u", metavar="UID[:GID]",
              help="User (numeric) to run as.")
@click.option("--additional-gids", "-g", multiple=True, type=int,
              metavar="GID", help="Supplementary group (repeatable).")
@click.option("--process", "-p", "process_file", metavar="FILE",
              help="process.json to run (instead of COMMAND and flags).")
@click.option("--detach", "-d", is_flag=True,
              help="Return once the process is started.")
@click.option("--pid-file", metavar="FILE",
              help="Write the process's host pid here.")
@click.option("--cap", "-c", multiple=True, metavar="CAP",
              help="Add a capability (repeatable), e.g. CAP_DAC_OVERRIDE.")
@click.option("--no-new-privs", is_flag=True,
              help="Set no_new_privs for the process.")
@click.option("--apparmor", metavar="PROFILE",
              help="AppArmor profile (accepted with a warning).")
@click.option("--process-label", metavar="LABEL", hidden=True,
              help="SELinux label: not supported.")
@click.option("--preserve-fds", type=int, default=0, hidden=True)
@click.option("--ignore-paused", is_flag=True, hidden=True)
@click.argument("container_id")
@click.argument("argv", nargs=-1, metavar="[COMMAND [ARG...]]")
@click.pass_obj
def command(config, console_socket, cwd, env, tty, user, additional_gids,
            process_file, detach, pid_file, cap, no_new_privs, apparmor,
            process_label, preserve_fds, ignore_paused, container_id, argv):
    """Run COMMAND in CONTAINER_ID; exit with its exit status.

    Defaults (env, cwd, user, capabilities) come from the container's
    process; the flags override them, as with runc exec.
    """
    if process_label:
        raise UnsupportedError("--process-label")
    if preserve_fds:
        raise UnsupportedError("--preserve-fds")
    if not argv and not process_file:
        raise click.UsageError("a COMMAND or --process FILE is required")
    c = _util.load(config, container_id)
    if process_file:
        process = load_process(process_file)
    else:
        process = specgen.exec_process(
            c.spec, list(argv), env=env, cwd=cwd, user=user, caps=cap,
            tty=tty, additional_gids=additional_gids,
            no_new_privs=no_new_privs, apparmor=apparmor)
    console_socket = _util.abspath_or_none(console_socket)
    pid_file = _util.abspath_or_none(pid_file)
    terminal = bool(process.get("terminal"))
    if detach:
        if terminal and not console_socket:
            raise SandboxError("cannot allocate a pty for a detached "
                               "process without --console-socket")
        status = c.execute(process, console_socket=console_socket,
                           detach=True, pid_file=pid_file)
        if pid_file and waiter.wanted():
            # An engine's shim reaps the pid of the pid file itself.
            waiter.replace_pid_file(c, pid_file, exec_pid=True)
        return status
    return _attached(c, process, console_socket, pid_file,
                     terminal and not console_socket)


def _attached(c, process, console_socket, pid_file, proxy_tty):
    """Start detached to learn the pid, then wait forwarding signals."""
    from cli.commands._console import ConsoleProxy
    tmp = tempfile.mkdtemp(prefix="pyrunsc-exec-")
    proxy = ConsoleProxy() if proxy_tty else None
    try:
        pf = pid_file or os.path.join(tmp, "pid")
        c.execute(process, detach=True, pid_file=pf,
                  console_socket=proxy.path if proxy else console_socket)
        with open(pf) as f:
            pid = int(f.read().strip())
        extra = None
        if proxy:
            proxy.receive()
            proxy.start()
            extra = {signal.SIGWINCH: proxy.resize}
        return _util.wait_forwarding(
            lambda: c.wait_pid(pid),
            lambda sig: c.signal_process(pid, sig), extra)
    finally:
        if proxy:
            proxy.close()
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
