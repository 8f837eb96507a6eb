"""The gofer of one container, seen from boot: start, stop, `--overlay`.

Boot starts one gofer per container with two SOCK_SEQPACKET connections,
one for the sentry's nogil fast path and one for its Python client
(``sentry.fs.mounts.new_view``).  Boot waits for it through its reaper; if
it dies while the container runs, boot kills the container ("gofer socket
disconnected, killing container", as gVisor does).

The first container's gofer is a *spare* (``fork_spare``): boot forks it
first thing, while boot is still single-threaded, so it costs no
interpreter start and no imports (an exec of ``python3 -m cli gofer``
costs ~0.1-0.2 s here).  The spare closes every fd but its two sockets and
a control socket, then waits on it for one message naming its container
(bundle and spec path, sent by ``start`` once the container's init is
created); EOF means "not needed" and it exits.  (N.B. a message, not EOF,
starts it: the container's init holds a copy of boot's end until it
execs.)  From there it is the same ``runtime.gofer.main``
as the exec'd gofer: its own mount namespace, pivot_root, capabilities and
seccomp filter (the trust model of sentry/gofer/README.md is unchanged;
what it inherits from boot is memory of a process that has not yet seen
the container).  Later containers of a pod get a fresh ``exec`` of
``pyrunsc gofer``: boot is multithreaded by then and must not fork Python.

``--overlay``: the rootfs becomes copy-on-write.  Boot mounts a tmpfs at
``<state dir>/overlay`` holding ``upper`` and ``work`` and a kernel
overlayfs at ``<state dir>/overlay/merged`` (lower = the bundle's rootfs),
then points the spec's ``root.path`` at it, so the container's mount
namespace and the gofer's see the same upper layer; the image is never
written.  ``drop_overlay`` unmounts both (the upper layer is gone with the
tmpfs) when the container is destroyed.  These mounts live in a mount
namespace of boot's own (``private_mounts``, made before boot starts any
thread): the host never sees them, and they go with the sandbox however
boot ends - a SIGKILLed boot leaves no mount behind, only the empty
``overlay`` directory that ``delete`` removes with the state directory.
The container and the gofer copy that namespace when they make theirs.
"""
import logging
import os
import signal
import socket
import subprocess
import sys

from runtime import control, errors, meta, procs
from runtime import mounts as rmounts
from sentry import _sys

log = logging.getLogger(__name__)

OVERLAY_DIR = "overlay"
GOFER_SPEC = "gofer-spec.json"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Gofer:
    """A running gofer: its ``pid`` (reaped by boot's reaper) and the
    sentry's ends of its connections ``socks = (fast, slow)``; ``proc`` is
    the Popen of an exec'd one (kept so that Popen never reaps it)."""

    def __init__(self, pid, socks, proc=None):
        self.pid = pid
        self.proc = proc
        self.socks = socks
        self.stopping = False

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _socketpairs():
    return [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            for _ in range(2)]


class Spare:
    """A gofer forked by ``fork_spare``, waiting for its container."""

    def __init__(self, pid, ctl, socks):
        self.pid = pid
        self.ctl = ctl              # boot's end of its control socket
        self.socks = socks

    def use(self, bundle, spec_path):
        """Send the spare its container; returns the ``Gofer``.  Raises
        OSError if the spare is gone."""
        try:
            control.send_msg(self.ctl, {"bundle": bundle,
                                        "spec": spec_path})
        finally:
            self.discard()
        return Gofer(self.pid, self.socks)

    def discard(self):
        """Close the control socket: an unused spare exits on EOF."""
        self.ctl.close()


def fork_spare(config):
    """Fork a spare gofer from this process, which must be single-threaded
    (boot, before it starts its platform).  The caller reaps ``.pid``."""
    pairs = _socketpairs()
    theirs = [b.fileno() for _, b in pairs]
    ctl, ctl_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        _spare_main(config, ctl_theirs, theirs)     # never returns
    ctl_theirs.close()
    for _, b in pairs:
        b.close()
    return Spare(pid, ctl, (pairs[0][0], pairs[1][0]))


# The forked spare's inherited log handlers: their fds are closed, so they
# are kept referenced and never closed (closing one could close a reused fd).
_inherited_handlers = []


def _spare_main(config, ctl, sock_fds):
    """The spare gofer process: wait for the container, then serve it."""
    code = 1
    try:
        # N.B. not the app's stdio: an engine's shim that captures the
        # runtime's output (containerd with a terminal) waits for EOF on it.
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        procs.close_fds_except({0, 1, 2, ctl.fileno(), *sock_fds})
        root = logging.getLogger()
        _inherited_handlers.extend(root.handlers)
        root.handlers.clear()
        procs.set_comm(b"pyrunsc-gofer")
        os.chdir("/")
        from runtime import gofer       # while boot creates the container
        params, _ = control.recv_msg(ctl)
        ctl.close()
        if params is None:
            code = 0                     # not needed
            return
        from runtime import sandbox
        if sandbox.boot_logging is not None:
            sandbox.boot_logging(config, "gofer")
        code = gofer.main(params["bundle"], list(sock_fds),
                          spec_path=params["spec"])
    except BaseException as e:
        try:
            log.error("gofer: %s", e,
                      exc_info=not isinstance(e, errors.SandboxError))
        except BaseException:
            pass
    finally:
        try:
            logging.shutdown()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def start(config, bundle, spec, state_dir, spare=None):
    """Start the gofer of the container of ``bundle`` (whose effective spec
    is ``spec``, written to ``<state_dir>/gofer-spec.json`` for it): the
    ``spare`` if given and still there, else an exec of ``pyrunsc gofer``."""
    spec_path = os.path.join(state_dir, GOFER_SPEC)
    meta.write_json_atomic(spec_path, spec)
    if spare is not None:
        try:
            return spare.use(bundle, spec_path)
        except OSError as e:
            log.debug("spare gofer %d gone (%s): exec'ing one", spare.pid, e)
            for sock in spare.socks:
                sock.close()
    pairs = _socketpairs()
    theirs = [b.fileno() for _, b in pairs]
    argv = [sys.executable, "-m", "cli"]
    if getattr(config, "debug", False):
        argv.append("--debug")
    if getattr(config, "log", None):
        argv += ["--log", config.log]
    argv += ["gofer", "--bundle", bundle, "--spec", spec_path]
    for fd in theirs:
        argv += ["--sock-fd", str(fd)]
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"]
                                if env.get("PYTHONPATH") else "")
    try:
        # N.B. not the app's stdio (see _spare_main).
        proc = subprocess.Popen(argv, pass_fds=theirs, cwd="/", env=env,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                start_new_session=False)
    except OSError as e:
        for a, b in pairs:
            a.close()
            b.close()
        raise errors.GoferError(f"starting the gofer: {e}") from None
    for _, b in pairs:
        b.close()
    return Gofer(proc.pid, (pairs[0][0], pairs[1][0]), proc)


def private_mounts():
    """Move boot into a mount namespace of its own, a slave of the host's:
    mounts the host makes later still appear in it (where the host's
    mounts are shared), boot's own never leave it, and it dies with the
    last process in it.  Must run before boot starts a thread (unshare(2):
    EINVAL while the fs_struct is shared)."""
    try:
        _sys.unshare(_sys.CLONE_NEWNS)
        _sys.mount(None, "/", None, _sys.MS_REC | _sys.MS_SLAVE)
    except OSError as e:
        raise errors.GoferError(
            f"--overlay: a mount namespace for boot: {e.strerror}") from None


def overlay_root(spec, bundle, state_dir):
    """Mount the copy-on-write root of ``--overlay``; returns the merged
    directory (the container's new ``root.path``)."""
    lower = rmounts.rootfs_path(spec, bundle)
    top = os.path.join(state_dir, OVERLAY_DIR)
    os.makedirs(top, exist_ok=True)
    _sys.mount("tmpfs", top, "tmpfs", 0, "mode=0700")
    try:
        for d in ("upper", "work", "merged"):
            os.mkdir(os.path.join(top, d))
        st = os.stat(lower)
        os.chmod(os.path.join(top, "upper"), st.st_mode & 0o7777)
        os.chown(os.path.join(top, "upper"), st.st_uid, st.st_gid)
        merged = os.path.join(top, "merged")
        opts = (f"lowerdir={lower},upperdir={top}/upper,workdir={top}/work")
        _sys.mount("overlay", merged, "overlay", 0, opts)
    except OSError as e:
        _umount(top)
        raise errors.GoferError(f"--overlay: mounting the upper layer: {e}") \
            from None
    return merged


def _umount(path):
    try:
        _sys.umount2(path, _sys.MNT_DETACH)
    except OSError as e:
        log.debug("umount %s: %s", path, e)


def drop_overlay(state_dir):
    """Unmount the overlay of ``state_dir`` (if any): the upper layer goes
    with its tmpfs."""
    top = os.path.join(state_dir, OVERLAY_DIR)
    if not os.path.isdir(top):
        return
    _umount(os.path.join(top, "merged"))
    _umount(top)
    try:
        os.rmdir(top)
    except OSError as e:
        log.debug("rmdir %s: %s", top, e)

