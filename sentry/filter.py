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

The filter is a binary tree over the syscall number (libseccomp's
``SCMP_FLTATR_CTL_OPTIMIZE`` = 2, libseccomp >= 2.5.0), not libseccomp's
default linear chain.  What that buys, measured on this host (2026-11-30,
a C loop under the filter, ns per call, median of 41 batches): an
argument-dependent call (``sendto(-1, NULL, 0, ...)``) 304 → 208 ns
(native 145, an allow-all filter 172).  A call allowed whatever its
arguments (getpid, read, write, mmap...) never runs the BPF at all: the
kernel's constant-action bitmap (Linux >= 5.11) answers it at filter
install time, so its cost is the same under this filter, a one-instruction
allow-all filter, linear or tree (getpid 155 ns vs native 127, x1.22 on
this host: the price of having any seccomp filter, which no layout of ours
can remove).  Keep every allowed syscall's rule free of argument checks
where possible: that is what keeps it in the bitmap.

The BPF is built once per platform per process (cold path) and installed in
the app child with ``sentry._seccomp.install_bpf`` /
``install_bpf_nogil``: for the seccomp platform with
``FLAG_NEW_LISTENER`` to get the notification fd.
"""

import errno
import os
import sys

try:
    # CPython's built-in SHA-256: hashlib would load OpenSSL first, 5-10 ms
    # of every boot's start-up for the cache key below.
    from _sha256 import sha256
except ImportError:
    from hashlib import sha256

from sentry import _seccomp
from sentry import syscalls

PLATFORMS = ("seccomp", "ptrace")

#: SECCOMP_RET_DATA of the ptrace platform's TRACE action: the tracer sees
#: it with PTRACE_GETEVENTMSG.
TRACE_DATA = 0

DEFAULT_ACTION = _seccomp.ERRNO(errno.ENOSYS)
BADARCH_ACTION = _seccomp.KILL_PROCESS

#: libseccomp's SCMP_FLTATR_CTL_OPTIMIZE: 2 = binary tree (>= 2.5.0).
OPTIMIZE = 2

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
    if _seccomp.version() >= (2, 5, 0):
        f.set_attr("optimize", OPTIMIZE)
    for entry in syscalls.TABLE:
        rules = entry.rules or (syscalls.Rule(entry.cls, (), entry.errno),)
        for rule in rules:
            action = _action(rule.cls, rule.errno, platform)
            if action == DEFAULT_ACTION:
                continue  # libseccomp refuses a rule equal to the default
            f.add_rule(action, entry.nr, *rule.conds)
    return f


def build_sentry_filter(platform):
    """The sentry's filter for ``platform`` as BPF bytes (cached).

    libseccomp takes ~20 ms to build it, on every container's create path;
    the bytes are also kept on disk next to this module, keyed by the
    sources of the table and of this module and by libseccomp's version,
    so a changed table never meets a stale filter.
    """
    bpf = _cache.get(platform)
    if bpf is None:
        bpf = _cache[platform] = _disk_cached(
            platform, lambda: sentry_filter(platform).export_bpf())
    return bpf


_CACHE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "__filtercache__")


def _disk_cached(platform, build):
    h = sha256()
    for mod in (syscalls, sys.modules[__name__]):
        with open(mod.__file__, "rb") as f:
            h.update(f.read())
    h.update(repr(_seccomp.version()).encode())
    path = os.path.join(_CACHE_DIR, f"{platform}-{h.hexdigest()[:24]}.bpf")
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data and len(data) % 8 == 0:
            return data
    except OSError:
        pass
    data = build()
    try:
        os.makedirs(_CACHE_DIR, exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
    except OSError:
        pass  # a read-only install: build each time
    return data


def trapped_numbers():
    """Sorted syscall numbers that may reach the platform as a trap.

    Includes the entries whose trap depends on arguments (utimensat with a
    path, sendto with an address).
    """
    return tuple(e.nr for e in syscalls.TABLE
                 if e.cls == syscalls.TRAP
                 or any(r.cls == syscalls.TRAP for r in e.rules))
