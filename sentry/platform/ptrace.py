"""Platform ``ptrace``: SECCOMP_RET_TRACE stops served by _ptrace.PtraceLoop.

The child tells boot it is ready, waits until boot's loop thread has
PTRACE_SEIZEd it (the reply), and only then installs the sentry filter
whose trapped calls return SECCOMP_RET_TRACE (without a tracer they would
fail with ENOSYS).  The loop thread is boot's only waitpid caller
(``owns_wait``): every exit that is not a tracee thread's goes to
``on_exit(pid, status)``.
"""
import errno
import os

from sentry import _seccomp
from sentry.platform import base
from sentry.platform import _ptrace


class PtracePlatform(base.Platform):
    name = "ptrace"
    owns_wait = True

    def __init__(self, *, bpf=None, **kw):
        super().__init__(**kw)
        if bpf is None:
            from sentry import filter as sfilter
            bpf = sfilter.build_sentry_filter("ptrace")
        self.bpf = bytes(bpf)
        trace = None
        if self.strace:
            from sentry import strace
            trace = strace.Tracer(self.log, self.strace_syscalls).notify_hook
        # ptrace can show every call, not only the trapped ones
        self.loop = _ptrace.PtraceLoop(self.on_exit, trace, trace_all=True)
        self.loop.start()

    def child_hook(self, sync_sock):
        """In the app child: be seized, then install the RET_TRACE filter."""
        base.send_msg(sync_sock, {"type": "platform", "platform": "ptrace"})
        base.expect_continue(sync_sock)
        try:
            _seccomp.install_bpf(self.bpf, 0)
        except OSError as e:
            if e.errno != errno.EACCES:
                raise
            _seccomp.install_bpf(self.bpf, 0, nnp=True)

    def attach(self, pid, msg=None, fds=(), view=None):
        root = self.app_root(pid)
        mode, rooted = base.root_mode(pid, root)
        self.loop.seize(pid, root, mode, rooted, view=view)

    def stop(self):
        self.loop.stop()
