"""The gofer: the one process that touches a container's files on the host.

Owns the server side of the protocol in ``sentry/gofer/proto.py`` (read
sentry/gofer/README.md for the trust model) and the ``pyrunsc gofer``
process: ``main`` arranges the container's tree in a private mount
namespace, pivot_roots into it, drops capabilities, installs its own seccomp
allowlist (``runtime/gofer_policy.py``) and serves its sockets.  The
request handlers are in ``runtime/gofer_ops.py``.

Every fid holds an O_PATH fd.  A walk enters one validated name at a time
with ``openat(dirfd, name, O_PATH|O_NOFOLLOW)``; every other operation is an
``*at`` call on a fid's fd, or a reopen of it through the process's own
``/proc/self/fd`` directory (opened before pivot_root).  No path string that
the client sent is ever resolved from "/" or across a symlink.
"""
import array
import builtins
import errno
import json
import logging
import os
import socket
import stat
import threading
import traceback  # noqa: F401 - imported before pivot_root, used by logging

from runtime import errors, gofer_policy, mounts
from runtime.gofer_ops import HANDLERS, MAX_FIDS, OPEN_FLAGS, _err
from runtime import spec as spec_mod
from sentry import _sys
from sentry.gofer import proto as P

log = logging.getLogger(__name__)


class _PyFid:
    """A walked file: its O_PATH fd, file type bits, and a readdir fd."""
    __slots__ = ("fd", "fmt", "dir_fd")

    def __init__(self, fd, mode):
        self.fd = fd
        self.fmt = stat.S_IFMT(mode)
        self.dir_fd = -1

    def close(self):
        os.close(self.fd)
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1


try:
    from sentry.gofer import _serve
    Fid = _serve.Fid
except ImportError:              # not built: the pure Python server
    _serve = None
    Fid = _PyFid


class Server:
    """Serves the tree below ``root_fd`` (an O_PATH directory fd).

    ``proc_fd`` is an O_PATH fd on this process's ``/proc/self/fd``.
    ``readonly`` refuses every change with EROFS (for a tree that is not a
    read-only mount of its own; ``main`` uses mount flags instead).
    ``accel`` serves the hot messages (walk, getattr, open of files and
    directories, clunk, flush) in C (``sentry/gofer/_serve.pyx``) when it
    is built; every other message, and everything when it is not, goes
    through the Python handlers below.

    Preconditions: ``prepare_process`` ran in the serving process (umask 0,
    cwd = ``proc_fd``, which unix socket paths are resolved against).
    """

    def __init__(self, root_fd, proc_fd, readonly=False, accel=True):
        self.root_fd = root_fd
        self.proc_fd = proc_fd
        self.readonly = readonly
        self.accel = accel
        self._threads = []
        self.handlers = HANDLERS

    def prepare_process(self):
        os.umask(0)
        os.fchdir(self.proc_fd)

    # -- connections -----------------------------------------------------

    def serve_in_thread(self, sock):
        t = threading.Thread(target=self.serve, args=(sock,),
                             name=f"gofer-conn-{sock.fileno()}", daemon=True)
        self._threads.append(t)
        t.start()
        return t

    def serve(self, sock):
        """Serve one connection until EOF or a protocol error; never raises."""
        conn = _Conn(self, sock)
        try:
            conn.run()
        except P.ProtocolError as e:
            log.error("gofer: closing connection: %s", e)
        except OSError as e:
            if e.errno not in (errno.ECONNRESET, errno.EPIPE):
                log.error("gofer: closing connection: %s", e)
        except Exception:
            log.exception("gofer: bug while serving, closing connection")
        finally:
            conn.close()

    # -- helpers ---------------------------------------------------------

    def _rw(self):
        if self.readonly:
            raise _err(errno.EROFS)

    def _reopen(self, fid, flags):
        """A real fd on fid's file, through the magic link of its fd."""
        return os.open(str(fid.fd), flags | os.O_CLOEXEC | os.O_NOCTTY,
                       dir_fd=self.proc_fd)

    def _node(self, dirfd, name):
        """Attr of ``dirfd/name`` (not following a symlink)."""
        return P.attr_from_stat(os.stat(name, dir_fd=dirfd,
                                        follow_symlinks=False))

    def _chown_at(self, dirfd, name, uid, gid):
        if uid != P.NOID or gid != P.NOID:
            os.chown(name, -1 if uid == P.NOID else uid,
                     -1 if gid == P.NOID else gid, dir_fd=dirfd,
                     follow_symlinks=False)


class _Conn:
    """One connection: its fid table and version state."""

    def __init__(self, server, sock):
        self.srv = server
        self.sock = sock
        self.fids = {}
        self.msize = P.DEFAULT_MSIZE
        self.versioned = False
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) \
                != socket.SOCK_SEQPACKET:
            raise P.ProtocolError("gofer socket is not SOCK_SEQPACKET")

    def close(self):
        for fid in self.fids.values():
            fid.close()
        self.fids.clear()
        self.sock.close()

    def run(self):
        if self.srv.accel and _serve is not None:
            _serve.run(self, OPEN_FLAGS)  # the C loop for the hot messages
            return
        buf = bytearray(P.MAX_MSIZE + 1)
        view = memoryview(buf)
        sock = self.sock
        while True:
            # ancbufsize 0: fds a client sends are closed by the kernel and
            # flagged with MSG_CTRUNC.
            n, _, flags, _ = sock.recvmsg_into([buf], 0)
            if n == 0 and not flags:
                return
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                raise P.ProtocolError("oversized frame or unexpected fds")
            self.frame(view[:n])

    def frame(self, data):
        """Decode, serve and answer one request frame."""
        msg, tag = P.decode(data, self.msize)
        if not self.versioned:
            self._version(msg, tag)
            return
        h = self.srv.handlers[msg.ID]
        if h is None:
            raise P.ProtocolError(f"{type(msg).__name__} is not a request")
        fd = None
        try:
            reply = h(self, msg)
            if type(reply) is tuple:
                reply, fd = reply
        except OSError as e:
            reply = P.Rerror(e.errno or errno.EIO)
        frame = P.encode(reply, tag)
        if fd is None:
            self.sock.sendall(frame)
        else:
            try:
                self.sock.sendmsg([frame], [(socket.SOL_SOCKET,
                                             socket.SCM_RIGHTS,
                                             array.array("i", (fd,)))])
            finally:
                os.close(fd)

    def _version(self, msg, tag):
        if type(msg) is not P.Tversion:
            raise P.ProtocolError(f"{type(msg).__name__} before Tversion")
        if msg.version != P.VERSION or msg.msize < P.MIN_MSIZE:
            self.sock.sendall(P.encode(P.Rerror(errno.EPROTONOSUPPORT), tag))
            raise P.ProtocolError(f"unsupported version {msg.version!r}")
        self.msize = min(msg.msize, P.MAX_MSIZE)
        self.versioned = True
        self.sock.sendall(P.encode(P.Rversion(self.msize, P.VERSION), tag))

    # -- fid table -------------------------------------------------------

    def get(self, fid):
        try:
            return self.fids[fid]
        except KeyError:
            raise _err(errno.EBADF) from None

    def bind(self, newfid, fd, mode):
        """Bind ``newfid`` to ``fd`` (consumed)."""
        if newfid == P.NOFID:
            os.close(fd)
            return
        if newfid in self.fids or len(self.fids) >= MAX_FIDS:
            os.close(fd)
            raise _err(errno.EBADF if newfid in self.fids else errno.EMFILE)
        self.fids[newfid] = Fid(fd, mode)

    def check_new(self, newfid):
        if newfid != P.NOFID and newfid in self.fids:
            raise _err(errno.EBADF)

    def dir(self, fid):
        f = self.get(fid)
        if f.fmt != stat.S_IFDIR:
            raise _err(errno.ENOTDIR)
        return f


def open_proc_fd():
    """An O_PATH fd on this process's ``/proc/self/fd`` directory."""
    return os.open("/proc/self/fd", os.O_PATH | os.O_DIRECTORY |
                   os.O_CLOEXEC)


def serve_tree(root, sock, readonly=False):
    """Serve the directory ``root`` on ``sock`` in this process, without a
    namespace of its own (tests, ``--directfs`` comparisons).  Blocks until
    the connection closes."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    srv = Server(root_fd, open_proc_fd(), readonly=readonly)
    srv.prepare_process()
    srv.serve(sock)
    return srv


def bind_mounts(spec):
    """The spec's bind mounts as ``(index, mount)``: the gofer serves these
    (and the rootfs); every other mount is the sentry's (proc, tmpfs, ...)."""
    return [(i, m) for i, m in enumerate(spec.get("mounts") or ())
            if mounts.mount_kind(m) == "bind"]


def setup_root(spec, bundle):
    """In a new private mount namespace: the rootfs with the spec's bind
    mounts at their destinations, read-only where the spec says so, then
    pivot_root into it.  Returns an O_PATH fd on /proc/self/fd (opened
    before the pivot: the gofer's own tree has no /proc)."""
    rootfs = mounts.rootfs_path(spec, bundle)
    _sys.unshare(_sys.CLONE_NEWNS)
    _sys.mount(None, "/", None, _sys.MS_REC | _sys.MS_PRIVATE)
    if rootfs != "/":
        # pivot_root needs a mount point; rbind keeps what lies under it
        _sys.mount(rootfs, rootfs, None, _sys.MS_BIND | _sys.MS_REC)
    for i, m in bind_mounts(spec):
        mounts.mount_one(rootfs, bundle, m, f"mounts[{i}]")
    if (spec.get("root") or {}).get("readonly"):
        # not recursive: the bind mounts keep their own flags
        _sys.mount(None, rootfs, None, mounts.kept_flags(rootfs) |
                   _sys.MS_RDONLY | _sys.MS_BIND | _sys.MS_REMOUNT)
    proc_fd = open_proc_fd()
    mounts.pivot_root(rootfs)
    return proc_fd


def main(bundle, sock_fds, spec_path=None, seccomp=True):
    """The ``pyrunsc gofer`` process: serve the container of ``bundle`` on
    each SOCK_SEQPACKET socket of ``sock_fds`` (an fd or a list of fds: one
    per sentry connection, e.g. the Python client's and the fast path's)
    until the sentry closes them all.

    ``spec_path`` defaults to ``<bundle>/config.json``.  Returns the exit
    status (0 when the connections ended); setup failures raise GoferError.
    """
    if isinstance(sock_fds, int):
        sock_fds = [sock_fds]
    try:
        # the CLI validated the spec; the gofer reads root and mounts only
        if spec_path is None:
            spec_path = os.path.join(bundle, spec_mod.CONFIG)
        with builtins.open(spec_path, "rb") as f:
            spec = json.load(f)
        plan = gofer_policy.Plan(install_seccomp=seccomp)
        proc_fd = setup_root(spec, bundle)
        root_fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        srv = Server(root_fd, proc_fd)
        srv.prepare_process()
        socks = [socket.socket(fileno=fd) for fd in sock_fds]
        plan.apply()
    except errors.SandboxError:
        raise
    except (OSError, ValueError) as e:
        raise errors.GoferError(f"gofer setup: {e}") from None
    log.debug("gofer: serving %s on %d connections", bundle, len(socks))
    threads = [srv.serve_in_thread(s) for s in socks[1:]]
    srv.serve(socks[0])
    for t in threads:
        t.join()
    return 0
