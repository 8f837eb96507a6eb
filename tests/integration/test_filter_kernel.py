"""The sentry filter in a real kernel: install it in a forked child, check.

Every case forks; the child installs the filter with install_bpf (no
listener, no tracer: trapped calls then fail with ENOSYS, which is how the
child tells a trap from an allow), runs raw syscalls through ctypes, and
reports through its exit status and a pipe.
"""
import ctypes
import errno
import fcntl
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading

import pytest

from sentry import _seccomp as sc
from sentry import filter as sfilter
from sentry import syscalls
from tests.childlib import (assert_ok, child_result, fork_child, in_child,
                            libc, raw)

SIGCHLD = 17
AT_FDCWD = -100 & 0xFFFFFFFFFFFFFFFF
# _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct
# seccomp_notif_resp) - linux/seccomp.h.
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101
AUDIT_ARCH_X86_64 = 0xC000003E


def assert_sigsys(result):
    status, out = result
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS, \
        (status, out)


def sentry(platform):
    sc.install_bpf(sfilter.build_sentry_filter(platform), nnp=True)


PLATFORMS = pytest.mark.parametrize("platform", sfilter.PLATFORMS)


@PLATFORMS
def test_allowed_calls_work(platform):
    def body():
        pid = os.getpid()
        sentry(platform)
        res, err = raw(39)
        if res != pid:
            return f"getpid -> {res} errno {err}"
        # glibc's pthread_create tries clone3 (ENOSYS) then clone.
        seen = []
        t = threading.Thread(target=lambda: seen.append(raw(186)[0]))
        t.start()
        t.join()
        if not seen or seen[0] <= 0:
            return f"thread: {seen}"
        # fork is clone(SIGCHLD|...) without namespace flags.
        child = os.fork()
        if child == 0:
            os._exit(7)
        _, status = os.waitpid(child, 0)
        if os.waitstatus_to_exitcode(status) != 7:
            return f"fork child status {status}"
        r, w = os.pipe()
        os.write(w, b"x")
        if os.read(r, 1) != b"x":
            return "pipe"
        return None

    assert_ok(in_child(body))


DENIED = ["mount", "umount2", "io_uring_setup", "bpf", "keyctl", "ptrace",
          "process_vm_readv", "kexec_load", "init_module", "reboot",
          "perf_event_open", "userfaultfd", "setns", "clone3", "pivot_root",
          "open_by_handle_at", "settimeofday", "iopl", "fsopen", "syslog"]


@PLATFORMS
def test_denied_calls_get_the_table_errno(platform):
    def body():
        sentry(platform)
        bad = []
        for name in DENIED:
            entry = syscalls.lookup(name)
            res, err = raw(entry.nr, 0, 0, 0, 0, 0, 0)
            if (res, err) != (-1, entry.errno):
                bad.append(f"{name}: {res} {errno.errorcode.get(err, err)}")
        return ", ".join(bad) or None

    assert_ok(in_child(body))


@PLATFORMS
def test_unknown_and_unassigned_numbers_get_enosys(platform):
    def body():
        sentry(platform)
        for nr in (1000, 400, syscalls.MAX_NR + 1, 0x3FFFFFFF):
            res, err = raw(nr)
            if (res, err) != (-1, errno.ENOSYS):
                return f"{nr}: {res} {err}"
        return None

    assert_ok(in_child(body))


@PLATFORMS
def test_trapped_calls_do_not_reach_the_kernel(platform):
    # No listener and no tracer: a trap fails with ENOSYS - seccomp(2).
    def body():
        sentry(platform)
        path = b"/\0"
        buf = ctypes.create_string_buffer(path)
        res, err = raw(257, AT_FDCWD, ctypes.addressof(buf), os.O_RDONLY)
        if (res, err) != (-1, errno.ENOSYS):
            return f"openat: {res} {err}"
        res, err = raw(syscalls.lookup("uname").nr, 0)
        if err != errno.ENOSYS:
            return f"uname: {err}"
        # utimensat(fd, NULL, ...) is fd-based and allowed.
        fd = os.memfd_create("t")
        res, err = raw(280, fd, 0, 0, 0)
        if res != 0:
            return f"futimens: {res} {err}"
        res, err = raw(280, AT_FDCWD, ctypes.addressof(buf), 0, 0)
        if err != errno.ENOSYS:
            return f"utimensat with a path: {res} {err}"
        return None

    assert_ok(in_child(body))


@PLATFORMS
def test_namespace_flags_are_refused(platform):
    def body():
        sentry(platform)
        for flags in (syscalls.CLONE_NEWNS, syscalls.CLONE_NEWUSER,
                      syscalls.CLONE_NEWNET | syscalls.CLONE_NEWPID):
            res, err = raw(56, flags | SIGCHLD, 0, 0, 0, 0)
            if res == 0:
                os._exit(0)  # the clone child; the parent reports
            if (res, err) != (-1, errno.EPERM):
                return f"clone {flags:#x}: {res} {err}"
            res, err = raw(272, flags)
            if (res, err) != (-1, errno.EPERM):
                return f"unshare {flags:#x}: {res} {err}"
        res, err = raw(272, syscalls.CLONE_NEWTIME)
        if (res, err) != (-1, errno.EPERM):
            return f"unshare CLONE_NEWTIME: {res} {err}"
        res, err = raw(272, 0x00000400)  # CLONE_FILES: no namespace
        if res != 0:
            return f"unshare CLONE_FILES: {res} {err}"
        return None

    assert_ok(in_child(body))


def test_namespace_flags_work_without_the_filter():
    # Control for the test above: the same unshare succeeds as root.
    def body():
        res, err = raw(272, syscalls.CLONE_NEWNS)
        return None if res == 0 else f"unshare: {err}"

    assert_ok(in_child(body))


@PLATFORMS
def test_x32_syscall_kills_the_process(platform):
    def body():
        sentry(platform)
        raw(0x40000000 | 39)
        return "x32 getpid survived"

    assert_sigsys(in_child(body))


def test_x32_syscall_without_the_filter_is_not_killed():
    # This kernel has no CONFIG_X86_X32_ABI: natively ENOSYS, never SIGSYS.
    def body():
        res, err = raw(0x40000000 | 39)
        return None if res != -1 or err == errno.ENOSYS else f"{err}"

    assert_ok(in_child(body))


INT80_C = r"""
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* argv[1]: a BPF file to install first, or "-" for none.  Exit 0 when the
   i386 getpid through int 0x80 returned a pid. */
int main(int argc, char **argv)
{
    static unsigned char buf[8 * 4096];
    long ret;
    if (argc > 1 && argv[1][0] != '-') {
        int fd = open(argv[1], O_RDONLY);
        ssize_t n = read(fd, buf, sizeof(buf));
        struct sock_fprog prog = { .len = n / 8, .filter = (void *)buf };
        if (fd < 0 || n <= 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
            return 10;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
            return 11;
    }
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    return ret > 0 ? 0 : 12;
}
"""


@pytest.fixture
def int80(tmp_path):
    if not shutil.which("gcc"):
        pytest.fail("gcc is needed to build the int 0x80 probe")
    src = tmp_path / "int80.c"
    src.write_text(INT80_C)
    exe = tmp_path / "int80"
    subprocess.run(["gcc", "-static", "-O1", "-o", str(exe), str(src)],
                   check=True)
    return tmp_path, exe


@PLATFORMS
def test_int80_kills_the_process(int80, platform):
    tmp, exe = int80
    native = subprocess.run([str(exe), "-"])
    assert native.returncode == 0  # i386 emulation works without a filter
    bpf = tmp / f"{platform}.bpf"
    bpf.write_bytes(sfilter.build_sentry_filter(platform))
    filtered = subprocess.run([str(exe), str(bpf)])
    assert filtered.returncode == -signal.SIGSYS


@PLATFORMS
def test_no_new_listener_after_the_sentry_filter(platform):
    allow_all = sc.Filter(sc.ALLOW).export_bpf()

    def body():
        sentry(platform)
        try:
            sc.install_bpf(allow_all, sc.FLAG_NEW_LISTENER)
            return "NEW_LISTENER accepted"
        except OSError as e:
            if e.errno != errno.EPERM:
                return f"NEW_LISTENER: {e}"
        # Plain filters of the app's own are fine, and so is
        # SECCOMP_GET_ACTION_AVAIL with any flags argument.
        if sc.install_bpf(allow_all) != 0:
            return "plain filter"
        action = ctypes.c_uint32(sc.ALLOW)
        res, err = raw(317, 2, 0, ctypes.addressof(action))
        if res != 0:
            return f"GET_ACTION_AVAIL: {err}"
        return None

    assert_ok(in_child(body))


def test_new_listener_works_without_the_sentry_filter():
    # Control for the test above.
    allow_all = sc.Filter(sc.ALLOW).export_bpf()

    def body():
        fd = sc.install_bpf(allow_all, sc.FLAG_NEW_LISTENER, nnp=True)
        return None if fd > 2 else f"fd {fd}"

    assert_ok(in_child(body))


def test_kernel_knows_max_nr_and_no_more():
    # The table follows this kernel: file_setattr exists, the next does not.
    def body():
        res, err = raw(syscalls.MAX_NR, 0, 0, 0, 0, 0)
        if err == errno.ENOSYS:
            return f"{syscalls.MAX_NR} unknown to the kernel"
        res, err = raw(syscalls.MAX_NR + 1, 0, 0, 0, 0, 0)
        if err != errno.ENOSYS:
            return f"{syscalls.MAX_NR + 1} known: update the table"
        return None

    assert_ok(in_child(body))


def test_notify_listener_receives_a_trap():
    parent_sock, child_sock = socket.socketpair()
    parent_sock.settimeout(10)
    bpf = sfilter.build_sentry_filter("seccomp")

    def body():
        parent_sock.close()
        fd = sc.install_bpf(bpf, sc.FLAG_NEW_LISTENER, nnp=True)
        socket.send_fds(child_sock, [b"L"], [fd])
        os.close(fd)
        try:
            os.open("/pyrunsc-notify-test", os.O_RDONLY)
            return "open succeeded"
        except OSError as e:
            return None if e.errno == errno.ELOOP else str(e)

    pid, r = fork_child(body)
    child_sock.close()
    listener = -1
    try:
        msg, fds, _, _ = socket.recv_fds(parent_sock, 1, 1)
        assert fds, "no listener fd from the child"
        listener = fds[0]
        ready, _, _ = select.select([listener], [], [], 10)
        assert ready, "no notification"
        notif = bytearray(80)
        fcntl.ioctl(listener, NOTIF_RECV, notif)
        nid, npid, _flags, nr, arch = struct.unpack_from("QIIiI", notif)
        args = struct.unpack_from("6Q", notif, 32)
        assert npid == pid
        assert nr == 257 and arch == AUDIT_ARCH_X86_64
        # int arguments: only the low 32 bits are meaningful.
        assert args[0] & 0xFFFFFFFF == AT_FDCWD & 0xFFFFFFFF
        assert args[2] & 3 == os.O_RDONLY
        fcntl.ioctl(listener, NOTIF_SEND,
                    struct.pack("QqiI", nid, 0, -errno.ELOOP, 0))
    finally:
        if listener >= 0:
            os.close(listener)
        parent_sock.close()
        result = child_result(pid, r)
    assert_ok(result)


class UserRegs(ctypes.Structure):
    """struct user_regs_struct (x86-64) - sys/user.h."""
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
        "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
        "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs")]


PTRACE_TRACEME, PTRACE_CONT, PTRACE_GETREGS, PTRACE_SETREGS = 0, 7, 12, 13
PTRACE_SETOPTIONS, PTRACE_GETEVENTMSG = 0x4200, 0x4201
PTRACE_O_TRACESECCOMP, PTRACE_O_EXITKILL = 0x80, 0x100000
PTRACE_EVENT_SECCOMP = 7


def ptrace(req, pid, addr=0, data=0):
    libc.ptrace.restype = ctypes.c_long
    ctypes.set_errno(0)
    res = libc.ptrace(ctypes.c_long(req), ctypes.c_long(pid),
                      ctypes.c_void_p(addr), ctypes.c_void_p(data))
    if res == -1 and ctypes.get_errno():
        raise OSError(ctypes.get_errno(), f"ptrace {req}")
    return res


def test_ptrace_tracer_receives_a_trap():
    bpf = sfilter.build_sentry_filter("ptrace")
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            ptrace(PTRACE_TRACEME, 0)
            os.kill(os.getpid(), signal.SIGSTOP)
            sc.install_bpf(bpf, nnp=True)
            try:
                os.open("/pyrunsc-trace-test", os.O_RDONLY)
                code = 1
            except OSError as e:
                code = 0 if e.errno == errno.ELOOP else 1
        finally:
            os._exit(code)
    traps, status = [], None
    try:
        _, st = os.waitpid(pid, 0)
        assert os.WIFSTOPPED(st) and os.WSTOPSIG(st) == signal.SIGSTOP
        ptrace(PTRACE_SETOPTIONS, pid, 0,
               PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)
        ptrace(PTRACE_CONT, pid)
        while True:
            _, st = os.waitpid(pid, 0)
            if os.WIFEXITED(st) or os.WIFSIGNALED(st):
                status = st
                break
            sig = 0
            if st >> 8 == signal.SIGTRAP | PTRACE_EVENT_SECCOMP << 8:
                msg = ctypes.c_ulong()
                ptrace(PTRACE_GETEVENTMSG, pid, 0, ctypes.addressof(msg))
                regs = UserRegs()
                ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(regs))
                traps.append((regs.orig_rax, msg.value))
                if regs.orig_rax == 257:
                    # Skip the call (nr -1) and answer ELOOP.
                    regs.orig_rax = 0xFFFFFFFFFFFFFFFF
                    regs.rax = -errno.ELOOP & 0xFFFFFFFFFFFFFFFF
                    ptrace(PTRACE_SETREGS, pid, 0, ctypes.addressof(regs))
            elif os.WIFSTOPPED(st):
                sig = os.WSTOPSIG(st)
            ptrace(PTRACE_CONT, pid, 0, sig)
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert (257, sfilter.TRACE_DATA) in traps
    assert os.waitstatus_to_exitcode(status) == 0, traps
