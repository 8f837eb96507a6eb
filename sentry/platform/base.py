"""What every platform shares: the interface boot uses and the sync framing.

A platform traps the app's syscalls and resumes them; the emulation layer
(``sentry.emulate``) serves them.  Boot drives it through four calls
(docs/architecture.md "The boot process and the platform"):

* ``child_hook(sync_sock)`` in the app child right before execve;
* ``attach(pid, msg, fds)`` in boot when the child's ``{"type":
  "platform"}`` message arrives;
* ``owns_wait``: the platform loop is boot's only waitpid caller;
* ``stop()``.

The sync socket uses the framing of sentry/framing.py, shared with boot's
control RPC.
"""
import logging
import os

from sentry import framing

send_msg = framing.send_msg
recv_msg = framing.recv_msg


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

    def attach(self, pid, msg=None, fds=(), view=None):
        pass

    def stop(self):
        pass


class NonePlatform(Platform):
    """No interception at all: the foundation and tests only."""
