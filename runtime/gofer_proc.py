"""The gofer of one container, seen from boot: start, stop, `--overlay`.

Boot starts one ``pyrunsc gofer`` per container (a fresh ``exec`` of the
CLI: boot is multithreaded by then) with two SOCK_SEQPACKET connections,
one for the sentry's nogil fast path and one for its Python client
(``sentry.fs.mounts.new_view``).  Boot waits for it through its reaper; if
it dies while the container runs, boot kills the container ("gofer socket
disconnected, killing container", as gVisor does).

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

from runtime import errors, meta
from runtime import mounts as rmounts
from sentry import _sys

log = logging.getLogger(__name__)

OVERLAY_DIR = "overlay"
GOFER_SPEC = "gofer-spec.json"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Gofer:
    """A running gofer: ``proc`` (Popen, reaped by boot's reaper) and the
    sentry's ends of its connections ``socks = (fast, slow)``."""

    def __init__(self, proc, socks):
        self.proc = proc
        self.socks = socks
        self.stopping = False

    @property
    def pid(self):
        return self.proc.pid

    def kill(self):
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start(config, bundle, spec, state_dir):
    """Start the gofer of the container of ``bundle`` (whose effective spec
    is ``spec``, written to ``<state_dir>/gofer-spec.json`` for it)."""
    spec_path = os.path.join(state_dir, GOFER_SPEC)
    meta.write_json_atomic(spec_path, spec)
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
             for _ in range(2)]
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
        # N.B. not the app's stdio: an engine's shim that captures the
        # runtime's output (containerd with a terminal) waits for EOF on it.
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
    return Gofer(proc, (pairs[0][0], pairs[1][0]))


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

