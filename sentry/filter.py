"""The sentry's seccomp filter, generated from sentry/syscalls.py.

Owns the translation table class → seccomp action:

* allow → SCMP_ACT_ALLOW
* trap  → SCMP_ACT_NOTIFY (platform "seccomp") or SCMP_ACT_TRACE(TRACE_DATA)
  (platform "ptrace")
* deny  → SCMP_ACT_ERRNO(entry.errno)
* any number not in the table → ERRNO(ENOSYS), the default action
* any other ABI → KILL_PROCESS: the i386 ABI (``int 0x80``) fails the
  architecture check, and libseccomp sends x32 numbers
  (``nr | 0x40000000``, same AUDIT_ARCH_X86_64) to the same BADARCH action
  with an explicit ``nr >= 0x40000000`` check in every x86-64 filter.

The BPF is built once per platform per process (cold path) and installed in
the app child with ``sentry._seccomp.install_bpf`` /
``install_bpf_nogil``: for the seccomp platform with
``FLAG_NEW_LISTENER`` to get the notification fd.
"""

import errno

from sentry import _seccomp
from sentry import syscalls

PLATFORMS = ("seccomp", "ptrace")

#: SECCOMP_RET_DATA of the ptrace platform's TRACE action: the tracer sees
#: it with PTRACE_GETEVENTMSG.
TRACE_DATA = 0

DEFAULT_ACTION = _seccomp.ERRNO(errno.ENOSYS)
BADARCH_ACTION = _seccomp.KILL_PROCESS

_cache = {}


def trap_action(platform):
    """The seccomp action that hands a trapped syscall to ``platform``."""
    if platform == "seccomp":
        return _seccomp.NOTIFY
    if platform == "ptrace":
        return _seccomp.TRACE(TRACE_DATA)
    raise ValueError(f"unknown platform {platform!r}")


def _action(cls, err, platform):
    if cls == syscalls.ALLOW:
        return _seccomp.ALLOW
    if cls == syscalls.TRAP:
        return trap_action(platform)
    if cls == syscalls.DENY:
        return _seccomp.ERRNO(err)
    raise ValueError(f"unknown class {cls!r}")


def sentry_filter(platform):
    """A fresh libseccomp ``Filter`` for ``platform`` (for export_pfc)."""
    trap_action(platform)
    f = _seccomp.Filter(DEFAULT_ACTION)
    f.set_attr("badarch", BADARCH_ACTION)
    for entry in syscalls.TABLE:
        rules = entry.rules or (syscalls.Rule(entry.cls, (), entry.errno),)
        for rule in rules:
            action = _action(rule.cls, rule.errno, platform)
            if action == DEFAULT_ACTION:
                continue  # libseccomp refuses a rule equal to the default
            f.add_rule(action, entry.nr, *rule.conds)
    return f


def build_sentry_filter(platform):
    """The sentry's filter for ``platform`` as BPF bytes (cached)."""
    bpf = _cache.get(platform)
    if bpf is None:
        bpf = _cache[platform] = sentry_filter(platform).export_bpf()
    return bpf


def trapped_numbers():
    """Sorted syscall numbers that may reach the platform as a trap.

    Includes the entries whose trap depends on arguments (utimensat with a
    path, sendto with an address).
    """
    return tuple(e.nr for e in syscalls.TABLE
                 if e.cls == syscalls.TRAP
                 or any(r.cls == syscalls.TRAP for r in e.rules))
