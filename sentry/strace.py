"""strace-format logging of the app's syscalls (``--strace``).

``Tracer(log, only)`` turns one served call into one line such as
``[  1234] openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`` and logs
it at DEBUG on ``log``; ``only`` (a set of names, ``--strace-syscalls``)
filters.  Arguments are decoded from a small signature table; a path is
the copy the sentry read from the app (never re-read).  The hot path only
calls here when strace is on.
"""
import errno
import os

from sentry import syscalls

AT_FDCWD = -100
_O_FLAGS = [(getattr(os, n), n) for n in (
    "O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK",
    "O_DSYNC", "O_DIRECT", "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW",
    "O_NOATIME", "O_CLOEXEC", "O_PATH", "O_TMPFILE", "O_SYNC")
    if hasattr(os, n)]
_AT_FLAGS = [(0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"),
             (0x400, "AT_SYMLINK_FOLLOW"), (0x800, "AT_NO_AUTOMOUNT"),
             (0x1000, "AT_EMPTY_PATH")]

# Argument kinds: d dirfd, p path (the one the sentry copied), o open
# flags, m mode (octal), a at-flags, f fd, x pointer, i int.
SIGNATURES = {
    "open": "pom", "openat": "dpom", "creat": "pm", "openat2": "dpxi",
    "stat": "px", "lstat": "px", "newfstatat": "dpxa", "statx": "dpaix",
    "access": "pi", "faccessat": "dpi", "faccessat2": "dpia",
    "readlink": "pxi", "readlinkat": "dpxi", "execve": "pxx",
    "execveat": "dpxxa", "chdir": "p", "fchdir": "f", "mkdir": "pm",
    "mkdirat": "dpm", "rmdir": "p", "unlink": "p", "unlinkat": "dpa",
    "rename": "px", "renameat": "dpfx", "renameat2": "dpfxi", "link": "px",
    "linkat": "dpfxa", "symlink": "xp", "symlinkat": "xfp", "mknod": "pmi",
    "mknodat": "dpmi", "chmod": "pm", "fchmodat": "dpm", "fchmodat2": "dpma",
    "chown": "pii", "lchown": "pii", "fchownat": "dpiia", "truncate": "pi",
    "utimensat": "dpxa", "statfs": "px", "getxattr": "pxxi",
    "lgetxattr": "pxxi", "setxattr": "pxxii", "lsetxattr": "pxxii",
    "listxattr": "pxi", "llistxattr": "pxi", "removexattr": "px",
    "lremovexattr": "px", "chroot": "p",
    # untrapped calls (the ptrace platform logs them too)
    "read": "fxi", "write": "fxi", "pread64": "fxii", "pwrite64": "fxii",
    "close": "f", "fstat": "fx", "lseek": "fii", "mmap": "xiiifi",
    "munmap": "xi", "mprotect": "xii", "brk": "x", "exit_group": "i",
    "exit": "i", "dup": "f", "dup2": "ff", "dup3": "ffi", "ioctl": "fxx",
    "fcntl": "fix", "getpid": "", "getppid": "", "gettid": "", "getuid": "",
    "geteuid": "", "getgid": "", "getegid": "", "kill": "ii", "wait4": "ixix",
    "pipe2": "xi", "getdents64": "fxi", "rt_sigaction": "ixxi",
    "rt_sigprocmask": "ixxi", "set_tid_address": "x", "futex": "xiixxi",
    "clone": "xxxxx", "socket": "iii", "sendto": "fxiixi",
}
# the symlink calls' path is their second argument (the link's name): the
# sentry copies the target second, so show the pointer for it


def _flags(v, table, zero="0"):
    names = [n for bit, n in table if v & bit == bit and bit]
    rest = v
    for bit, _ in table:
        if v & bit == bit:
            rest &= ~bit
    if rest:
        names.append(hex(rest))
    return "|".join(names) or zero


def _oflags(v):
    acc = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[v & 3]
    rest = _flags(v & ~3, _O_FLAGS, "")
    return acc + ("|" + rest if rest else "")


def _s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def format_call(nr, args, path, result, *, pid=None, name=None):
    """One strace line for a finished call."""
    if name is None:
        e = syscalls.lookup(nr)
        name = e.name if e else f"syscall_{nr}"
    sig = SIGNATURES.get(name, "xxx")
    out = []
    for k, a in zip(sig, args):
        if k == "d":
            d = _s32(a)
            out.append("AT_FDCWD" if d == AT_FDCWD else str(d))
        elif k == "p":
            out.append(_quote(path) if path is not None else hex(a))
        elif k == "o":
            out.append(_oflags(a))
        elif k == "m":
            out.append("0%o" % (a & 0o7777777))
        elif k == "a":
            out.append(_flags(_s32(a), _AT_FLAGS))
        elif k in "fi":
            out.append(str(_s32(a)))
        else:
            out.append(hex(a) if a else "NULL")
    if isinstance(result, str):
        res = result
    elif result < 0:
        code = -result
        res = f"-1 {errno.errorcode.get(code, str(code))} ({os.strerror(code)})"
    else:
        res = str(result)
    who = f"[pid {pid:>5}] " if pid is not None else ""
    return f"{who}{name}({', '.join(out)}) = {res}"


def _quote(b):
    s = b.decode("utf-8", "backslashreplace")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Tracer:
    """Formats and logs calls; ``only`` is a set of syscall names or None."""

    def __init__(self, log, only=None):
        self.log = log
        self.only = set(only) if only else None

    def wants(self, name):
        return self.only is None or name in self.only

    def notify_hook(self, tid, nr, args, path, action, result):
        """The seccomp loop's hook: action 1 = continued by the kernel."""
        e = syscalls.lookup(nr)
        name = e.name if e else f"syscall_{nr}"
        if not self.wants(name):
            return
        if action == 1:
            result = "? (run by the kernel)"
        self.log.debug("%s", format_call(nr, args, path, result,
                                         pid=tid, name=name))

    def line(self, tid, nr, args, path, result):
        e = syscalls.lookup(nr)
        name = e.name if e else f"syscall_{nr}"
        if self.wants(name):
            self.log.debug("%s", format_call(nr, args, path, result, pid=tid,
                                             name=name))
