"""Platform ``seccomp``: SECCOMP_RET_USER_NOTIF, served by _notify.NotifyLoop.

The child installs the sentry filter with SECCOMP_FILTER_FLAG_NEW_LISTENER
and sends the listener fd to boot; boot adds it to the one loop thread that
serves every process tree of the sandbox.  Processes forked by the app
inherit the filter and so the listener: nothing more to attach.
"""
import errno
import os
import threading

from sentry import _seccomp
from sentry.platform import base
from sentry.platform import _notify
from sentry.emulate import _core

NEW_LISTENER = 1 << 3
# Once the sentry has received a call, only a fatal signal interrupts the
# wait for its answer (Linux 5.19): a handled signal must not restart a call
# whose side effects (mkdir, rename, an O_EXCL create) the sentry already
# made.  Unhandled fatal signals still kill at once.
WAIT_KILLABLE_RECV = 1 << 5


class SeccompPlatform(base.Platform):
    name = "seccomp"
    owns_wait = False

    def __init__(self, *, bpf=None, **kw):
        super().__init__(**kw)
        if bpf is None:
            from sentry import filter as sfilter
            bpf = sfilter.build_sentry_filter("seccomp")
        self.bpf = bytes(bpf)
        trace = None
        if self.strace:
            from sentry import strace
            trace = strace.Tracer(self.log, self.strace_syscalls).notify_hook
        self.loop = _notify.NotifyLoop(_slow, trace)
        self.loop.start()

    def child_hook(self, sync_sock):
        """In the app child: install the filter, hand boot the listener."""
        flags = NEW_LISTENER | WAIT_KILLABLE_RECV
        try:
            listener = _seccomp.install_bpf(self.bpf, flags)
        except OSError as e:
            if e.errno != errno.EACCES:
                raise
            # No CAP_SYS_ADMIN left: a filter then needs no_new_privs.
            listener = _seccomp.install_bpf(self.bpf, flags, nnp=True)
        try:
            base.send_msg(sync_sock, {"type": "platform",
                                      "platform": "seccomp"}, [listener])
        finally:
            os.close(listener)
        base.expect_continue(sync_sock)

    def attach(self, pid, msg=None, fds=(), view=None):
        """Serve the listener the child sent (``fds[0]``; we dup it),
        through the container ``view`` (``sentry.fs.mounts.new_view``)."""
        if not fds:
            raise OSError(errno.EINVAL, "seccomp platform: no listener fd")
        root = self.app_root(pid)
        mode, rooted = base.root_mode(pid, root)
        self.loop.add(os.dup(fds[0]), root, mode, rooted, view, pid)

    def stop(self):
        self.loop.stop()


def _slow(loop, listener, nid, kind, *args):
    """The calls that may block (a FIFO's open waits for its peer, a
    blocking connect for the handshake) run on a thread of their own, which
    answers the notification itself."""
    if kind == "connect":
        sock, addr = args

        def run():
            try:
                loop.respond(listener, nid, _notify.blocking_connect(sock, addr))
            finally:
                os.close(sock)
    else:
        root_fd, rel, flags, mode, tid, probe = args
        root = os.dup(root_fd)

        def run():
            try:
                fd = _notify.blocking_open(root, rel, flags, mode, tid)
            finally:
                os.close(root)
                if probe >= 0:
                    os.close(probe)
            if fd < 0:
                loop.respond(listener, nid, fd)
                return
            try:
                loop.respond_fd(listener, nid, fd, bool(flags & os.O_CLOEXEC))
            finally:
                os.close(fd)

    threading.Thread(target=run, name=f"sentry-{kind}", daemon=True).start()
