"""What the gofer process may do once it serves: its capabilities and its
seccomp allowlist, both as data.

Capabilities kept (every other one leaves all five sets and the bounding
set):

* CAP_CHOWN           create files owned by the app's uid/gid, setattr
* CAP_DAC_OVERRIDE    serve any file: permission checks are the sentry's
* CAP_DAC_READ_SEARCH walk unreadable directories; ``linkat(AT_EMPTY_PATH)``
* CAP_FOWNER          chmod, utimes and xattrs of files it does not own
* CAP_FSETID          keep set-id bits that the app asked for

N.B. CAP_MKNOD is dropped on purpose: the gofer never creates or opens
device nodes (the sentry serves /dev).  CAP_SYS_CHROOT and CAP_SYS_ADMIN
are only needed before pivot_root; CAP_SETFCAP is dropped, so file
capabilities (``security.capability``) cannot be set through the gofer.

The seccomp filter allows the syscalls the serving loop of a CPython
process makes and nothing else: no mount, no ptrace, no exec, sockets only
of AF_UNIX, threads only as ``clone(CLONE_THREAD)``.  Anything else fails
with EPERM (a broken request, never a dead gofer); another ABI kills it.
"""
import errno
import socket

from runtime.caps import CAP_NUMBERS, last_cap
from sentry import _seccomp, _sys

KEEP_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
             "CAP_FOWNER", "CAP_FSETID")

CLONE_THREAD = 0x00010000

#: Syscalls allowed without conditions.
ALLOW = (
    # file operations on fds the gofer holds
    "openat", "openat2", "close", "read", "write", "pread64", "pwrite64",
    "readv", "writev", "lseek", "fstat", "newfstatat", "statx", "fstatfs",
    "statfs", "getdents64", "ftruncate", "fsync", "fdatasync", "fcntl",
    "dup", "dup3", "mkdirat", "mknodat", "symlinkat", "linkat", "unlinkat",
    "renameat", "renameat2", "readlinkat", "fchownat", "fchown", "fchmod",
    "fchmodat", "utimensat", "getxattr", "lgetxattr", "fgetxattr",
    "setxattr", "lsetxattr", "fsetxattr", "listxattr", "llistxattr",
    "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "fchdir",
    "getcwd", "umask",
    # the connection
    "recvmsg", "sendmsg", "recvfrom", "sendto", "connect", "bind",
    "getsockopt", "setsockopt", "getsockname", "getpeername", "shutdown",
    "poll", "ppoll",
    # the interpreter: memory, threads, signals, time
    "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "futex",
    "set_robust_list", "get_robust_list", "rseq", "sched_yield",
    "sched_getaffinity", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "sigaltstack", "restart_syscall", "getpid", "gettid", "getuid",
    "geteuid", "getgid", "getegid", "getrandom", "clock_gettime",
    "clock_nanosleep", "nanosleep", "gettimeofday", "prlimit64", "exit",
    "exit_group", "tgkill", "set_tid_address", "ioctl", "uname",
)


def seccomp_bpf():
    """The gofer's filter as BPF bytes (built with libseccomp)."""
    S = _seccomp
    f = S.Filter(S.ERRNO(errno.EPERM))
    f.set_attr("badarch", S.KILL_PROCESS)
    for name in ALLOW:
        f.add_rule(S.ALLOW, name)
    f.add_rule(S.ALLOW, "socket", (0, "EQ", socket.AF_UNIX))
    f.add_rule(S.ALLOW, "clone",
               (0, "MASKED_EQ", CLONE_THREAD, CLONE_THREAD))
    # glibc falls back to clone(2) only when clone3 is ENOSYS
    f.add_rule(S.ERRNO(errno.ENOSYS), "clone3")
    return f.export_bpf()


def cap_masks():
    """``(keep_mask, numbers_to_drop)`` for the kernel's capabilities."""
    keep = 0
    for name in KEEP_CAPS:
        keep |= 1 << CAP_NUMBERS[name]
    drop = [n for n in range(last_cap() + 1) if not keep & (1 << n)]
    return keep, drop


class Plan:
    """The privileges to drop, computed while /proc is still reachable
    (before pivot_root), applied after it."""

    def __init__(self, install_seccomp=True):
        self.keep, self.drop = cap_masks()
        self.bpf = seccomp_bpf() if install_seccomp else None

    def apply(self):
        """Drop capabilities, set no_new_privs, install the filter.

        Preconditions: the namespace and pivot_root work is done; no thread
        other than the caller exists yet (the filter is per thread until
        then and is inherited by later threads).
        """
        for n in self.drop:
            _sys.cap_bset_drop(n)
        _sys.cap_ambient_clear_all()
        _sys.capset(self.keep, self.keep, 0)
        _sys.set_no_new_privs()
        if self.bpf is not None:
            _seccomp.install_bpf(self.bpf)
