"""runtime.seccomp_profile: linux.seccomp of a spec -> BPF (building only).

Installing profiles in a real process is tests/integration/test_filter_*.
"""
import copy
import errno
import logging

import pytest

from runtime.errors import InvalidSpecError, UnsupportedError
from runtime.seccomp_profile import build_profile

ALLOWED = [
    "accept", "accept4", "access", "arch_prctl", "bind", "brk", "capget",
    "capset", "chdir", "chmod", "chown", "clock_gettime", "clock_nanosleep",
    "close", "close_range", "connect", "dup", "dup2", "dup3",
    "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
    "fchdir", "fchmod", "fchmodat", "fchown", "fcntl", "fstat", "fsync",
    "ftruncate", "futex", "getcwd", "getdents64", "getegid", "geteuid",
    "getgid", "getpid", "getppid", "getrandom", "getrlimit", "gettid",
    "getuid", "ioctl", "kill", "lseek", "madvise", "mkdirat", "mmap",
    "mprotect", "munmap", "nanosleep", "newfstatat", "openat", "openat2",
    "pipe2", "poll", "pread64", "prlimit64", "read", "readlinkat",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rseq",
    "set_robust_list", "set_tid_address", "setgid", "setuid", "statx",
    "sysinfo", "tgkill", "umask", "uname", "unlinkat", "wait4", "write",
    "writev", "mseal", "futex_waitv", "brand_new_syscall_2031",
    # Names of other ABIs, as a multi-arch profile lists them.
    "socketcall", "chown32", "_llseek", "mmap2", "ugetrlimit", "waitpid",
    "umount", "set_tls", "riscv_flush_icache",
]


def docker_like():
    """A profile in the shape of Docker's default (written for this test)."""
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                          "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ALLOWED, "action": "SCMP_ACT_ALLOW", "args": None,
             "errnoRet": None, "comment": "the bulk"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO",
             "errnoRet": 38},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
            {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["chroot"], "action": "SCMP_ACT_LOG"},
            {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
        ],
    }


def test_docker_like_profile_builds():
    bpf, flags = build_profile(docker_like())
    assert bpf and len(bpf) % 8 == 0
    assert flags == 0


def test_no_profile():
    assert build_profile(None) == (None, 0)


def test_flags():
    profile = docker_like()
    profile["flags"] = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                        "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    assert build_profile(profile)[1] == 1 | 2 | 4


def test_unknown_names_are_skipped(caplog):
    with caplog.at_level(logging.DEBUG, logger="runtime.seccomp_profile"):
        build_profile(docker_like())
    assert "brand_new_syscall_2031" in caplog.text


@pytest.mark.parametrize("action", [
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG"])
def test_every_default_action(action):
    bpf, _ = build_profile({"defaultAction": action, "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]})
    assert bpf


def test_rule_equal_to_default_is_skipped():
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    assert build_profile(profile)[0]


def _bad(mutate):
    profile = copy.deepcopy(docker_like())
    mutate(profile)
    return profile


@pytest.mark.parametrize("mutate,field", [
    (lambda p: p["syscalls"][3].update(action="SCMP_ACT_BOGUS"),
     "linux.seccomp.syscalls[3].action"),
    (lambda p: p.update(defaultAction="ALLOW"),
     "linux.seccomp.defaultAction"),
    (lambda p: p.pop("defaultAction"), "linux.seccomp.defaultAction"),
    (lambda p: p.update(defaultErrnoRet=-1), "linux.seccomp.defaultErrnoRet"),
    (lambda p: p["syscalls"][1]["args"][0].update(op="SCMP_CMP_LIKE"),
     "linux.seccomp.syscalls[1].args[0].op"),
    (lambda p: p["syscalls"][1]["args"][0].update(index=6),
     "linux.seccomp.syscalls[1].args[0].index"),
    (lambda p: p["syscalls"][1]["args"][0].update(value="0"),
     "linux.seccomp.syscalls[1].args[0].value"),
    (lambda p: p["syscalls"][3]["args"][0].update(valueTwo=1 << 64),
     "linux.seccomp.syscalls[3].args[0].valueTwo"),
    (lambda p: p["syscalls"][0].update(names=[]),
     "linux.seccomp.syscalls[0].names"),
    (lambda p: p["syscalls"][0].update(errnoRet=3),
     "linux.seccomp.syscalls[0].errnoRet"),
    (lambda p: p["syscalls"].__setitem__(2, "clone"),
     "linux.seccomp.syscalls[2]"),
    (lambda p: p["architectures"].append("SCMP_ARCH_VAX"),
     "linux.seccomp.architectures[3]"),
    (lambda p: p.update(flags=["SECCOMP_FILTER_FLAG_BOGUS"]),
     "linux.seccomp.flags[0]"),
    (lambda p: p.update(syscalls={}), "linux.seccomp.syscalls"),
])
def test_invalid_profiles_name_the_field(mutate, field):
    with pytest.raises(InvalidSpecError) as exc:
        build_profile(_bad(mutate))
    assert exc.value.field_path == field
    assert str(exc.value).startswith(field + ": ")


def test_notify_is_unsupported():
    with pytest.raises(UnsupportedError) as exc:
        build_profile(_bad(lambda p: p["syscalls"][4].update(
            action="SCMP_ACT_NOTIFY", errnoRet=None)))
    assert exc.value.field_path == "linux.seccomp.syscalls[4].action"
    with pytest.raises(UnsupportedError) as exc:
        build_profile(_bad(lambda p: p.update(
            listenerPath="/run/seccomp-agent.sock")))
    assert exc.value.field_path == "linux.seccomp.listenerPath"
    with pytest.raises(UnsupportedError):
        build_profile({"defaultAction": "SCMP_ACT_NOTIFY"})


def test_errno_defaults_to_eperm():
    # Equal BPF for an explicit EPERM and no errnoRet at all.
    explicit = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO",
         "errnoRet": errno.EPERM}]}
    implicit = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}
    assert build_profile(explicit) == build_profile(implicit)
    other = copy.deepcopy(explicit)
    other["syscalls"][0]["errnoRet"] = errno.EACCES
    assert build_profile(other) != build_profile(implicit)
