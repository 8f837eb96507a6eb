"""Helpers shared by the command modules: container access, signals, output.

Not a command (the registry in cli/main.py skips ``_`` modules).  The
runtime's ``Container`` is imported lazily through ``container_class`` so
that unit tests can substitute a fake and ``pyrunsc --help`` stays fast.
"""
import json
import logging
import os
import signal
import threading

import click

from runtime import meta
from runtime.errors import SandboxError

log = logging.getLogger(__name__)

# Signals that ``run`` (and ``do``) forward to the container while waiting,
# as runc does; SIGCHLD and SIGWINCH are the CLI's own.
FORWARDED = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM,
             signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGCONT,
             signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)


def container_class():
    from runtime.container import Container
    return Container


def validate_id(cid):
    """The runtime's id rule, checked before anything touches the root."""
    return meta.validate_id(cid)


def load(config, cid):
    validate_id(cid)
    return container_class().load(config, cid)


def echo_json(obj, indent=None):
    click.echo(json.dumps(obj, indent=indent))


def abspath_or_none(path):
    return os.path.abspath(path) if path else None


def parse_signal(text):
    """A signal as runc and kill(1) take it: 9, KILL, SIGKILL, kill, RTMIN+2.

    Returns the number; ValueError names what was wrong.
    """
    t = str(text).strip()
    if t.isdigit():
        n = int(t)
        if 1 <= n <= signal.SIGRTMAX:
            return n
        raise ValueError(f"invalid signal number {t}: must be between 1 "
                         f"and {int(signal.SIGRTMAX)}")
    name = t.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    for base, sign in (("SIGRTMIN+", 1), ("SIGRTMAX-", -1)):
        if name.startswith(base) and name[len(base):].isdigit():
            start = signal.SIGRTMIN if sign > 0 else signal.SIGRTMAX
            n = int(start) + sign * int(name[len(base):])
            if signal.SIGRTMIN <= n <= signal.SIGRTMAX:
                return n
            raise ValueError(f"unknown signal {text!r}")
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise ValueError(f"unknown signal {text!r}") from None


def wait_forwarding(wait, deliver, extra=None):
    """Run ``wait()`` while forwarding signals; return what ``wait`` returns.

    Signals in FORWARDED go to ``deliver(signo)``; ``extra`` maps further
    signal numbers (e.g. SIGWINCH) to handlers.  ``wait`` runs in a thread
    while the calling (main) thread takes signals synchronously with
    sigwaitinfo(2), so a signal never interrupts the runtime mid-call.

    Preconditions: called from the main thread, after every child of the
    CLI that should keep default signal handling has been spawned (the
    blocked mask is inherited by children).
    """
    extra = dict(extra or {})
    sigs = set(FORWARDED) | {signal.SIGCHLD} | set(extra)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    main_ident = threading.get_ident()
    box = {}

    def waiter():
        try:
            box["result"] = wait()
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e
        finally:
            signal.pthread_kill(main_ident, signal.SIGCHLD)

    t = threading.Thread(target=waiter, name="pyrunsc-wait", daemon=True)
    t.start()
    try:
        while not box:
            info = signal.sigwaitinfo(sigs)
            signo = info.si_signo
            if signo == signal.SIGCHLD:
                continue
            if signo in extra:
                extra[signo]()
                continue
            log.debug("forwarding signal %d to the container", signo)
            try:
                deliver(signo)
            except SandboxError as e:
                log.warning("forwarding signal %d: %s", signo, e)
        t.join()
        # Signals that arrived as the process ended are dropped here rather
        # than delivered to the CLI once the mask is restored.
        while signal.sigtimedwait(sigs, 0) is not None:
            pass
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    if "error" in box:
        raise box["error"]
    return box["result"]


def read_bundle_terminal(bundle):
    """``process.terminal`` of ``<bundle>/config.json``; False if unreadable.

    Only used to decide whether the CLI must proxy a pty; the runtime
    reports a broken config.json itself.
    """
    try:
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
        return bool((spec.get("process") or {}).get("terminal"))
    except (OSError, ValueError, AttributeError):
        return False


def run_attached(config, cid, bundle, *, console_socket=None, pid_file=None,
                 keep=False):
    """create + start + wait (forwarding signals) + delete; the exit status.

    A terminal process without a console socket gets the CLI's own pty
    proxy.  Unless ``keep``, the container is deleted afterwards, also when
    anything failed.
    """
    from cli.commands._console import ConsoleProxy
    proxy = None
    if not console_socket and read_bundle_terminal(bundle):
        proxy = ConsoleProxy()
        console_socket = proxy.path
    try:
        c = container_class().create(config, cid, bundle,
                                     console_socket=console_socket,
                                     pid_file=pid_file)
        try:
            extra = None
            if proxy:
                proxy.receive()
                proxy.start()
                extra = {signal.SIGWINCH: proxy.resize}
            c.start()
            status = wait_forwarding(c.wait, c.signal, extra)
        except BaseException:
            if not keep:
                try:
                    c.destroy(force=True)
                except SandboxError as e:
                    log.warning("cid=%s deleting after failure: %s", cid, e)
            raise
        if not keep:
            c.destroy(force=True)
        return status
    finally:
        if proxy:
            proxy.close()
