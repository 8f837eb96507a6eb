"""The spec's seccomp profile (runtime/seccomp_profile.py) in a real kernel,
alone and stacked under the sentry filter.
"""
import errno
import os
import signal

from runtime.seccomp_profile import build_profile
from sentry import _seccomp as sc
from sentry import filter as sfilter
from sentry import syscalls
from tests.childlib import assert_ok, in_child, raw

# What the Python child itself needs after the install.
RUNTIME = ["read", "write", "close", "exit", "exit_group", "brk", "mmap",
           "munmap", "mprotect", "madvise", "mremap", "rt_sigaction",
           "rt_sigprocmask", "rt_sigreturn", "futex", "getpid", "gettid",
           "sched_yield", "getrandom"]


def nr(name):
    return syscalls.lookup(name).nr


def profile():
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": errno.EACCES,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                          "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [
            {"names": RUNTIME + ["not_a_syscall"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getuid"], "action": "SCMP_ACT_ERRNO",
             "errnoRet": errno.EXDEV},
            # Two conditions on one argument: either value is allowed.
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0xFFFFFFFF, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 0x0040000,
                       "op": "SCMP_CMP_EQ"}]},
            # Conditions on two arguments: both must hold.
            {"names": ["kill"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_GT"},
                      {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"},
        ],
    }


def install_profile(spec):
    bpf, flags = build_profile(spec)
    sc.install_bpf(bpf, flags, nnp=True)


def test_profile_allow_list():
    def body():
        pid = os.getpid()
        install_profile(profile())
        if raw(nr("getpid"))[0] != pid:
            return "getpid"
        checks = [
            ("getuid", (), (-1, errno.EXDEV)),
            ("getgid", (), (-1, errno.EACCES)),
            ("personality", (0xFFFFFFFF,), None),
            ("personality", (0x0040000,), None),
            ("personality", (0x0008000,), (-1, errno.EACCES)),
            ("kill", (pid, 0), (0, 0)),
            ("kill", (pid, signal.SIGCONT), (-1, errno.EACCES)),
            ("clone", (syscalls.CLONE_NEWNS | 17, 0, 0, 0, 0),
             (-1, errno.EACCES)),
        ]
        for name, args, want in checks:
            got = raw(nr(name), *args)
            if got[0] == 0 and name == "clone":
                os._exit(0)
            if want is None:
                if got[0] < 0:
                    return f"{name}{args}: {got}"
            elif got != want:
                return f"{name}{args}: {got} != {want}"
        return None

    assert_ok(in_child(body))


def test_profile_kill_action():
    def body():
        install_profile(profile())
        raw(nr("getppid"))
        return "getppid survived"

    status, out = in_child(body)
    assert os.WIFSIGNALED(status), out
    assert os.WTERMSIG(status) == signal.SIGSYS


def test_profile_and_sentry_filter_stack():
    spec = profile()
    spec["syscalls"][0]["names"] += ["mount", "seccomp", "prctl", "clone3",
                                     "getgid"]

    sentry_bpf = sfilter.build_sentry_filter("ptrace")  # before the profile

    def body():
        install_profile(spec)
        sc.install_bpf(sentry_bpf)
        # Denied by the sentry although the profile allows it.
        if raw(nr("mount"), 0, 0, 0, 0, 0) != (-1, errno.EPERM):
            return "mount"
        if raw(nr("clone3"), 0, 0) != (-1, errno.ENOSYS):
            return "clone3"
        # Refused by the profile although the sentry allows it.
        if raw(nr("getuid")) != (-1, errno.EXDEV):
            return "getuid"
        if raw(nr("getgid"))[0] < 0:
            return "getgid"
        return None

    assert_ok(in_child(body))


def test_docker_style_default_allow_profile():
    spec = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getuid", "getgid"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["getegid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
    ]}

    def body():
        install_profile(spec)
        if raw(nr("getuid")) != (-1, errno.EPERM):
            return f"getuid {raw(nr('getuid'))}"
        if raw(nr("geteuid"))[0] < 0:
            return "geteuid"
        # errnoRet 0: the call "succeeds" with 0 without running.
        if raw(nr("getegid")) != (0, 0):
            return f"getegid {raw(nr('getegid'))}"
        return None

    assert_ok(in_child(body))
