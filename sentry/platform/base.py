"""What every platform shares: the interface boot uses and the sync framing.

A platform traps the app's syscalls and resumes them; the emulation layer
(``sentry.emulate``) serves them.  Boot drives it through four calls
(docs/architecture.md "The boot process and the platform"):

* ``child_hook(sync_sock)`` in the app child right before execve;
* ``attach(pid, msg, fds)`` in boot when the child's ``{"type":
  "platform"}`` message arrives;
* ``owns_wait``: the platform loop is boot's only waitpid caller;
* ``stop()``.

The sync socket uses the control framing (4-byte big-endian length + JSON,
fds as SCM_RIGHTS); it is re-implemented here because ``sentry`` never
imports ``runtime``.
"""
import array
import json
import logging
import os
import socket
import struct

_HDR = struct.Struct(">I")


def send_msg(sock, obj, fds=()):
    """One frame, with ``fds`` as SCM_RIGHTS (runtime/control.py framing)."""
    data = json.dumps(obj, separators=(",", ":")).encode()
    frame = _HDR.pack(len(data)) + data
    anc = []
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                array.array("i", list(fds)).tobytes())]
    sent = sock.sendmsg([frame], anc)
    if sent < len(frame):
        sock.sendall(frame[sent:])


def recv_msg(sock):
    """One frame: ``(obj, fds)``, or ``(None, [])`` on EOF."""
    fds = []
    buf = b""
    need = _HDR.size
    body = False
    while True:
        while len(buf) < need:
            data, anc, _, _ = sock.recvmsg(need - len(buf),
                                           socket.CMSG_SPACE(16 * 4))
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(cdata[:len(cdata) - len(cdata) % 4])
                    fds.extend(a)
            if not data:
                for fd in fds:
                    os.close(fd)
                return None, []
            buf += data
        if body:
            return json.loads(buf), fds
        need = _HDR.unpack(buf)[0]
        buf = b""
        body = True
        if need == 0:
            return json.loads(b"null"), fds


def expect_continue(sock):
    """Wait for boot's ``{"type": "continue"}``; raise OSError otherwise."""
    msg, fds = recv_msg(sock)
    for fd in fds:
        os.close(fd)
    if not isinstance(msg, dict) or msg.get("type") != "continue":
        raise OSError(0, f"platform sync: unexpected reply {msg!r}")


def root_mode(pid, root_fd):
    """How paths printed for app fds relate to ``root_fd`` (see
    sentry/emulate/_core.pxd Fs): ``(mode, app_rooted)``."""
    from sentry.emulate import _core
    own_ns = (os.stat(f"/proc/{pid}/ns/mnt").st_ino
              != os.stat("/proc/self/ns/mnt").st_ino)
    st = os.fstat(root_fd)
    try:
        ast = os.stat(f"/proc/{pid}/root")
        app_rooted = (ast.st_dev, ast.st_ino) == (st.st_dev, st.st_ino)
    except OSError:
        app_rooted = True
    mode = _core.OWN_NS if own_ns else _core.PREFIXED
    return mode, app_rooted


class Platform:
    """Base of the platforms; ``name`` and the options boot passes."""

    name = "none"
    owns_wait = False

    def __init__(self, *, root_fd=None, strace=False, strace_syscalls=None,
                 log=None, on_exit=None):
        self.root_fd = root_fd
        self.strace = strace
        self.strace_syscalls = set(strace_syscalls or ()) or None
        self.log = log or logging.getLogger("sentry")
        self.on_exit = on_exit

    def app_root(self, pid):
        """A new O_PATH fd of the container root for the process ``pid``:
        the ``root_fd`` given to new(), else the process's own root (boot
        attaches after pivot_root)."""
        if self.root_fd is not None:
            return os.dup(self.root_fd)
        return os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY
                       | os.O_CLOEXEC)

    def child_hook(self, sync_sock):
        pass

    def attach(self, pid, msg=None, fds=()):
        pass

    def stop(self):
        pass


class NonePlatform(Platform):
    """No interception at all: the foundation and tests only."""
