"""The sentry's platforms: how app syscalls are trapped and resumed.

``new(name, **opts)`` gives boot a platform (docs/architecture.md "The boot
process and the platform"; docs/sentry.md for the design):

* ``seccomp`` -- SECCOMP_RET_USER_NOTIF (sentry/platform/seccomp.py);
* ``ptrace``  -- SECCOMP_RET_TRACE stops (sentry/platform/ptrace.py);
* ``none``    -- no interception (foundation and tests only).
"""
from sentry.platform.base import NonePlatform, Platform

NAMES = ("seccomp", "ptrace", "none")


def new(name, *, root_fd=None, strace=False, strace_syscalls=None, log=None,
        on_exit=None, bpf=None):
    """A started platform ``name``.

    ``root_fd``: O_PATH fd of the container root, or None to use each
    attached process's own root.  ``on_exit(pid, status)`` receives every
    exit the platform's waitpid loop sees (ptrace only).  ``bpf`` overrides
    the sentry filter (tests).
    """
    kw = dict(root_fd=root_fd, strace=strace, strace_syscalls=strace_syscalls,
              log=log, on_exit=on_exit)
    if name == "seccomp":
        from sentry.platform.seccomp import SeccompPlatform
        return SeccompPlatform(bpf=bpf, **kw)
    if name == "ptrace":
        from sentry.platform.ptrace import PtracePlatform
        return PtracePlatform(bpf=bpf, **kw)
    if name == "none":
        return NonePlatform(**kw)
    raise ValueError(f"unknown platform {name!r}")


__all__ = ["new", "NAMES", "Platform"]
