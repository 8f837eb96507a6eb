"""Invariants of THE syscall table (sentry/syscalls.py)."""
import errno
import json
import re

import pytest

from sentry import _seccomp
from sentry import filter as sfilter
from sentry import syscalls

UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"

# Syscalls that take a path or a dirfd, listed independently of the table.
PATH_SYSCALLS = {
    "open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat",
    "statx", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
    "mkdir", "mkdirat", "unlink", "unlinkat", "rmdir", "rename", "renameat",
    "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod",
    "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "utime",
    "utimes", "futimesat", "utimensat", "truncate", "mknod", "mknodat",
    "statfs", "setxattr", "lsetxattr", "getxattr", "lgetxattr", "listxattr",
    "llistxattr", "removexattr", "lremovexattr", "setxattrat", "getxattrat",
    "listxattrat", "removexattrat", "inotify_add_watch", "chroot",
    "name_to_handle_at", "fanotify_mark", "execve", "execveat", "chdir",
    "file_getattr", "file_setattr",
    # path-taking, but denied outright:
    "mount", "umount2", "pivot_root", "swapon", "swapoff", "acct",
    "quotactl", "uselib", "open_tree", "open_tree_attr", "move_mount",
    "fspick", "mount_setattr",
}

# The design's deny list ("The filter").
DESIGN_DENY = {
    "mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr", "open_tree_attr",
    "pivot_root", "ptrace", "process_vm_readv", "process_vm_writev",
    "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "bpf", "perf_event_open", "keyctl", "add_key",
    "request_key", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "setns", "clone3", "reboot", "swapon", "swapoff",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl",
    "ioperm", "open_by_handle_at", "lookup_dcookie", "quotactl",
    "quotactl_fd", "acct", "vhangup", "syslog", "nfsservctl",
}


def test_every_number_exactly_once():
    nrs = [s.nr for s in syscalls.TABLE]
    assert len(nrs) == len(set(nrs))
    expected = set(range(syscalls.MAX_NR + 1)) - set(syscalls.UNASSIGNED)
    assert set(nrs) == expected
    assert nrs == sorted(nrs)


def test_names_unique():
    names = [s.name for s in syscalls.TABLE]
    assert len(names) == len(set(names))


def test_names_match_libseccomp():
    known = 0
    for s in syscalls.TABLE:
        try:
            name = _seccomp.resolve_num(s.nr)
        except KeyError:
            continue  # newer than this libseccomp
        known += 1
        assert name == s.name, s
        assert _seccomp.resolve_name(s.name) == s.nr
    assert known > 350


def test_names_match_kernel_header():
    with open(UNISTD) as f:
        header = {int(nr): name for name, nr in
                  re.findall(r"#define __NR_(\w+) (\d+)", f.read())}
    for nr, name in header.items():
        assert syscalls.lookup(nr).name == name


def test_classes_and_errnos():
    for s in syscalls.TABLE:
        assert s.cls in syscalls.CLASSES, s
        assert s.note, s
        if s.cls == syscalls.DENY:
            assert s.errno in (errno.EPERM, errno.ENOSYS), s
        else:
            assert s.errno == 0, s
        for rule in s.rules:
            assert rule.cls in syscalls.CLASSES
            assert (rule.errno != 0) == (rule.cls == syscalls.DENY)


def test_path_syscalls_are_trapped_or_denied():
    for name in PATH_SYSCALLS:
        s = syscalls.lookup(name)
        if name in DESIGN_DENY or name in ("uselib",):
            assert s.cls == syscalls.DENY, s
        else:
            assert s.cls == syscalls.TRAP, s


def test_design_deny_list_is_denied():
    for name in DESIGN_DENY:
        assert syscalls.lookup(name).cls == syscalls.DENY, name
    assert syscalls.lookup("clone3").errno == errno.ENOSYS


def test_identity_and_socket_traps():
    for name in ("bind", "connect", "uname", "sethostname", "chdir",
                 "fchdir"):
        assert syscalls.lookup(name).cls == syscalls.TRAP


def test_conditional_entries():
    clone = syscalls.lookup("clone")
    assert clone.rules
    denied = {r.conds[0][2] for r in clone.rules if r.cls == syscalls.DENY}
    assert sum(denied) == syscalls.CLONE_NS_FLAGS
    assert syscalls.lookup("seccomp").rules
    assert syscalls.lookup("unshare").rules


def test_lookup():
    assert syscalls.lookup("getpid").nr == 39
    assert syscalls.lookup(39).name == "getpid"
    assert syscalls.lookup("39").name == "getpid"
    with pytest.raises(KeyError):
        syscalls.lookup("nosuchcall")
    with pytest.raises(KeyError):
        syscalls.lookup(400)


def test_format_table():
    text = syscalls.format_table()
    for s in syscalls.TABLE:
        assert re.search(rf"^\s*{s.nr}\s+{s.name}\s", text, re.M), s
    rows = json.loads(syscalls.format_table("json"))
    assert len(rows) == len(syscalls.TABLE)
    assert rows[165] == {"nr": 165, "name": "mount", "class": "deny",
                         "errno": "EPERM", "note": "mount family",
                         "conditional": False}
    with pytest.raises(ValueError):
        syscalls.format_table("xml")


def test_trapped_numbers():
    trapped = sfilter.trapped_numbers()
    assert set(syscalls.numbers(syscalls.TRAP)) <= set(trapped)
    assert syscalls.lookup("sendto").nr in trapped
    assert syscalls.lookup("read").nr not in trapped
    assert list(trapped) == sorted(trapped)


@pytest.mark.parametrize("platform", sfilter.PLATFORMS)
def test_bpf_builds(platform):
    bpf = sfilter.build_sentry_filter(platform)
    assert bpf and len(bpf) % 8 == 0
    assert len(bpf) // 8 <= _seccomp.BPF_MAXINSNS
    assert sfilter.build_sentry_filter(platform) is bpf  # cached


def test_platforms_differ_only_in_trap_action():
    seccomp = sfilter.sentry_filter("seccomp").export_pfc()
    ptrace = sfilter.sentry_filter("ptrace").export_pfc()
    assert seccomp != ptrace
    notify = f"action {_seccomp.NOTIFY:#x};"
    trace = f"action TRACE({sfilter.TRACE_DATA});"
    assert notify in seccomp and notify not in ptrace
    assert ptrace == seccomp.replace(notify, trace)
    assert "action KILL_PROCESS;" in seccomp  # bad architecture action
    with pytest.raises(ValueError):
        sfilter.build_sentry_filter("kvm")
