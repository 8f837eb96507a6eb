"""sentry.fs.special.serve on a small root of our own: a directory with a
procfs mounted at proc/ and a dev/ with nodes and the /dev/fd symlinks,
served for this test process (needs root: it mounts procfs, mknods, setns).
"""
import errno
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from sentry import _sys
from sentry.fs import devfs, procfs, special
from sentry.fs.mounts import Mount, MountTable, SpecialCtx

DENY_ALL = [{"allow": False, "access": "rwm"}]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def root():
    d = tempfile.mkdtemp(prefix="pyrunsc-fs-special-")
    os.mkdir(os.path.join(d, "proc"))
    os.mkdir(os.path.join(d, "dev"))
    os.mkdir(os.path.join(d, "etc"))
    with open(os.path.join(d, "etc", "hostname"), "w") as f:
        f.write("inside\n")
    os.mknod(os.path.join(d, "dev", "null"), 0o666 | 0o020000,
             os.makedev(1, 3))
    os.mknod(os.path.join(d, "dev", "fuse"), 0o666 | 0o020000,
             os.makedev(10, 229))
    os.symlink("/proc/self/fd", os.path.join(d, "dev", "fd"))
    os.symlink("/proc/self/fd/0", os.path.join(d, "dev", "stdin"))
    mounted = False
    fd = None
    try:
        _sys.mount("proc", os.path.join(d, "proc"), "proc", 0)
        mounted = True
        fd = os.open(d, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        yield d, fd
    finally:
        if fd is not None:
            os.close(fd)
        if mounted:
            _sys.umount2(os.path.join(d, "proc"), 2)     # MNT_DETACH
        shutil.rmtree(d, ignore_errors=True)


def _ctx(root_fd, init_pid=None, devices=(), tid=None):
    table = MountTable([Mount("/", "ext4"),
                        Mount("/dev", "tmpfs", kind="special", special="dev"),
                        Mount("/proc", "proc", kind="special", special="proc")])
    me = os.getpid()
    return SpecialCtx(tid=tid or me, pid=tid or me, init_pid=init_pid or me,
                      root_fd=root_fd, mounts=table, devices=list(devices))


def _read(fd):
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def test_self_is_the_caller(root):
    _, fd = root
    ctx = _ctx(fd)
    assert special.serve(ctx, "proc", "self", "readlink") == \
        str(os.getpid()).encode()
    got = _read(special.serve(ctx, "proc", "self/status", "open",
                              os.O_RDONLY))
    assert b"\nPid:\t%d\n" % os.getpid() in got
    tgid = os.getpid()
    assert special.serve(ctx, "proc", "thread-self", "readlink") == \
        f"{tgid}/task/{_sys_gettid()}".encode()


def _sys_gettid():
    return int(os.readlink("/proc/thread-self").split("/")[-1])


def test_pid_files(root):
    """The caller's own files are the kernel's (None); another process's
    are opened by the worker with the caller's credentials."""
    _, fd = root
    ctx = _ctx(fd)
    me = os.getpid()
    assert special.serve(ctx, "proc", f"{me}/status", "open",
                         os.O_RDONLY) is None
    assert special.serve(ctx, "proc", "version", "open", os.O_RDONLY) is None
    got = _read(special.serve(ctx, "proc", "1/status", "open", os.O_RDONLY))
    assert b"\nPid:\t1\n" in got


def test_meminfo_is_a_sealed_read_only_snapshot(root, monkeypatch):
    _, fd = root
    monkeypatch.setattr(procfs, "memory_limit", lambda ctx: 256 << 20)
    ctx = _ctx(fd)
    mfd = special.serve(ctx, "proc", "meminfo", "open", os.O_RDONLY)
    assert mfd >= 0
    try:
        with pytest.raises(OSError) as e:
            os.write(mfd, b"x")
        assert e.value.errno == errno.EBADF
        seals = fcntl.fcntl(mfd, fcntl.F_GET_SEALS)
        assert seals & fcntl.F_SEAL_WRITE and seals & fcntl.F_SEAL_GROW
        text = os.read(mfd, 1 << 16).decode()
    finally:
        os.close(mfd)
    assert text.splitlines()[0].split() == ["MemTotal:", "262144", "kB"]
    assert special.serve(ctx, "proc", "meminfo", "open", os.O_RDWR) == \
        -errno.EACCES
    assert special.serve(ctx, "proc", "meminfo", "open",
                         os.O_RDONLY | os.O_DIRECTORY) == -errno.ENOTDIR
    # stat shows the kernel's file (0444, size 0)
    assert special.serve(ctx, "proc", "meminfo", "stat") is None


def test_proc_sys_is_read_only(root):
    _, fd = root
    ctx = _ctx(fd)
    assert special.serve(ctx, "proc", "sys/kernel/hostname", "open",
                         os.O_WRONLY) == -errno.EROFS
    got = _read(special.serve(ctx, "proc", "sys/kernel/ostype", "open",
                              os.O_RDONLY))
    assert got == b"Linux\n"


def test_proc_sys_net_is_the_containers(root):
    """The worker thread joins the container's network namespace: the
    value is the container's, not the host's (nor the caller's)."""
    _, fd = root
    host = open("/proc/sys/net/ipv4/ip_forward").read().strip()
    want = "0" if host == "1" else "1"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _sys.unshare(0x40000000)            # CLONE_NEWNET
            with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                f.write(want)
            os.write(w, b"1")
            signal.pause()
        finally:
            os._exit(0)
    try:
        os.close(w)
        assert os.read(r, 1) == b"1"
        ctx = _ctx(fd, init_pid=pid)
        got = _read(special.serve(ctx, "proc", "sys/net/ipv4/ip_forward",
                                  "open", os.O_RDONLY))
        assert got.strip().decode() == want
        assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == host
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)


def test_worker_uses_the_callers_credentials(root):
    """A uid 65534 caller cannot open what only root may read."""
    _, fd = root
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            signal.pause()
        finally:
            os._exit(0)
    try:
        for _ in range(100):
            if b"65534" in open(f"/proc/{pid}/status", "rb").read().split(
                    b"Uid:")[1].split(b"\n")[0]:
                break
            signal.sigtimedwait([], 0.01)
        ctx = _ctx(fd, tid=pid)
        # a 0600 file below /proc/sys
        res = special.serve(ctx, "proc", "sys/kernel/usermodehelper/bset", "open",
                            os.O_RDONLY)
        assert res == -errno.EACCES
        # another process's environ: ptrace_may_access(2) as the caller
        assert special.serve(ctx, "proc", "1/environ", "open",
                             os.O_RDONLY) == -errno.EACCES
        # the sentry's own credentials are back afterwards
        _read(special.serve(_ctx(fd), "proc", "sys/kernel/usermodehelper/bset", "open",
                            os.O_RDONLY))
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_fd_links_reopen_inside_the_root(root):
    d, fd = root
    ctx = _ctx(fd)
    inside = os.open(os.path.join(d, "etc", "hostname"), os.O_RDONLY)
    outside_path = tempfile.mktemp(prefix="pyrunsc-fs-out-")
    with open(outside_path, "w") as f:
        f.write("outside\n")
    outside = os.open(outside_path, os.O_RDONLY)
    pr, pw = os.pipe()
    etc = os.open(os.path.join(d, "etc"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        got = _read(special.serve(ctx, "proc", f"self/fd/{inside}", "open",
                                  os.O_RDONLY))
        assert got == b"inside\n"
        # the same through /dev/fd
        got = _read(special.serve(ctx, "dev", f"fd/{inside}", "open",
                                  os.O_RDONLY))
        assert got == b"inside\n"
        assert special.serve(ctx, "proc", f"self/fd/{inside}",
                             "readlink") == b"/etc/hostname"
        # a file outside the root: the access the app's fd has, not more
        got = _read(special.serve(ctx, "proc", f"self/fd/{outside}", "open",
                                  os.O_RDONLY))
        assert got == b"outside\n"
        assert special.serve(ctx, "proc", f"self/fd/{outside}", "open",
                             os.O_RDWR) == -errno.EACCES
        assert special.serve(ctx, "proc", f"self/fd/{outside}", "open",
                             os.O_WRONLY | os.O_TRUNC) == -errno.EACCES
        # pipes are no paths: reopened as Linux does
        w2 = special.serve(ctx, "proc", f"self/fd/{pw}", "open", os.O_WRONLY)
        os.write(w2, b"p")
        os.close(w2)
        assert os.read(pr, 1) == b"p"
        # a path below a magic link continues inside the root...
        got = _read(special.serve(ctx, "proc", f"self/fd/{etc}/hostname",
                                  "open", os.O_RDONLY))
        assert got == b"inside\n"
        # ...and never outside it: this process's own root is the host's
        assert special.serve(ctx, "proc", "self/root/etc/hostname", "open",
                             os.O_RDONLY) == -errno.EACCES
    finally:
        for x in (inside, outside, pr, pw, etc):
            os.close(x)
        os.unlink(outside_path)


def test_devices_follow_the_rules(root, monkeypatch):
    _, fd = root
    # no live device cgroup: the spec's rules (this process is in the
    # host's root devices cgroup, which allows everything)
    monkeypatch.setattr(devfs, "_live_rules", lambda pid: None)
    ctx = _ctx(fd, devices=DENY_ALL)
    assert special.serve(ctx, "dev", "fuse", "open", os.O_RDWR) == \
        -errno.EPERM
    nfd = special.serve(ctx, "dev", "null", "open", os.O_WRONLY)
    assert nfd >= 0
    try:
        assert os.write(nfd, b"abc") == 3
        assert not fcntl.fcntl(nfd, fcntl.F_GETFL) & os.O_NONBLOCK
    finally:
        os.close(nfd)
    # O_PATH opens no device: left to the caller
    assert special.serve(ctx, "dev", "fuse", "open", os.O_PATH) is None
    allow = DENY_ALL + [{"allow": True, "type": "c", "major": 10,
                         "minor": 229, "access": "rw"}]
    res = special.serve(_ctx(fd, devices=allow), "dev", "fuse", "open",
                         os.O_RDWR)
    assert res != -errno.EPERM
    if isinstance(res, int) and res >= 0:
        os.close(res)


def test_sched_getaffinity(root, monkeypatch):
    _, fd = root
    ctx = _ctx(fd)
    assert special.serve(ctx, "proc", "0", "sched_getaffinity", 4) == \
        -errno.EINVAL
    assert special.serve(ctx, "proc", "0", "sched_getaffinity", 12) == \
        -errno.EINVAL
    mask = special.serve(ctx, "proc", "0", "sched_getaffinity", 128)
    assert isinstance(mask, bytes) and len(mask) % 8 == 0 and len(mask) <= 128
    cpus = {i for i in range(len(mask) * 8) if mask[i // 8] >> (i % 8) & 1}
    assert cpus == os.sched_getaffinity(0)
    monkeypatch.setattr(procfs, "cpu_quota", lambda ctx: 1.0)
    mask = special.serve(ctx, "proc", "0", "sched_getaffinity", 128)
    assert sum(bin(b).count("1") for b in mask) == 1
    monkeypatch.setattr(procfs, "container_tasks", lambda ctx: [os.getpid()])
    assert special.serve(ctx, "proc", "99999999", "sched_getaffinity",
                         128) == -errno.ESRCH


def test_unknown_kind_or_op_falls_through(root):
    _, fd = root
    ctx = _ctx(fd)
    assert special.serve(ctx, "proc", "self/status", "mkdir") is None
    assert special.serve(ctx, "other", "x", "open") is None


def test_inner_proc_mounts_name_the_outer_one(root):
    """runc's readonlyPaths bind /proc/sys over itself: its paths reach
    serve below the outermost proc mount."""
    info = ("20 1 0:1 / / ro - ext4 /dev/vda ro\n"
            "21 20 0:2 / /proc rw - proc proc rw\n"
            "22 21 0:2 /sys /proc/sys ro - proc proc rw\n"
            "23 21 0:2 /bus /proc/bus ro - proc proc rw\n"
            "24 20 0:3 / /dev rw - tmpfs tmpfs rw\n")
    table = MountTable.from_mountinfo(info)
    specials = {m.point: m.special for m in table.entries if m.special}
    assert specials == {"/proc": "proc", "/proc/sys": "proc/sys",
                        "/proc/bus": "proc/bus", "/dev": "dev"}
    _, fd = root
    ctx = _ctx(fd)
    got = _read(special.serve(ctx, "proc/sys", "kernel/ostype", "open",
                              os.O_RDONLY))
    assert got == b"Linux\n"
    assert special.serve(ctx, "proc/sys", "kernel/ostype", "open",
                         os.O_WRONLY) == -errno.EROFS


def test_ptrace_content_and_fill(root, monkeypatch):
    """ptrace: the open of a synthesized file becomes the app's own
    memfd_create(2); the sentry stages the content and fills and seals
    the memfd at the call's exit."""
    _, fd = root
    monkeypatch.setattr(procfs, "memory_limit", lambda ctx: 256 << 20)
    ctx = _ctx(fd)
    data = special.serve(ctx, "proc", "meminfo", "content", os.O_RDONLY)
    assert data.startswith(b"MemTotal:         262144 kB\n")
    assert special.serve(ctx, "proc", "meminfo", "content", os.O_WRONLY) \
        == -errno.EACCES
    assert special.serve(ctx, "proc", "version", "content", 0) is None
    assert special.serve(ctx, "proc", "self/status", "content", 0) is None
    assert special.serve(ctx, "dev", "null", "content", 0) is None
    mfd = os.memfd_create("meminfo", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        assert special.fill_memfd(os.getpid(), mfd) == -errno.EIO  # nothing
        special.stage_fill(os.getpid(), data)
        assert special.fill_memfd(os.getpid(), mfd) == mfd
        assert os.pread(mfd, 1 << 16, 0) == data
        with pytest.raises(OSError) as e:
            os.write(mfd, b"x")
        assert e.value.errno == errno.EPERM         # F_SEAL_WRITE
    finally:
        os.close(mfd)


def _fake_maps(monkeypatch):
    """ids_to_app of a namespace mapping 0 -> 100000 (uids) and
    0 -> 200000 (gids), 65536 each, unmapped ids as 65534."""
    from sentry.emulate import _core

    def ids_to_app(tid, uids, gids):
        def up(v, base):
            return v - base if base <= v < base + 65536 else 65534
        return [up(u, 100000) for u in uids], [up(g, 200000) for g in gids]
    monkeypatch.setattr(_core, "ids_to_app", ids_to_app)


def test_map_status_ids(monkeypatch):
    _fake_maps(monkeypatch)
    data = (b"Name:\tsh\nUid:\t100000\t100000\t101000\t100000\n"
            b"Gid:\t200000\t200000\t200000\t7\nGroups:\t200005 201000 \n"
            b"NStgid:\t1\n")
    assert special.map_status_ids(1, data) == (
        b"Name:\tsh\nUid:\t0\t0\t1000\t0\nGid:\t0\t0\t0\t65534\n"
        b"Groups:\t5 1000 \nNStgid:\t1\n")


def test_map_net_uids(monkeypatch):
    """The uid column keeps the kernel's widths: %5u, packet's %-6u."""
    _fake_maps(monkeypatch)
    head = b"  sl  local_address rem_address   st ... uid  timeout inode\n"
    tcp = (b"   0: 00000000:3039 00000000:0000 0A 00000000:00000000 "
           b"00:00000000 00000000 101000        0 2207443 1 0000 100 0\n")
    assert special.map_net_uids(1, head + tcp) == head + (
        b"   0: 00000000:3039 00000000:0000 0A 00000000:00000000 "
        b"00:00000000 00000000  1000        0 2207443 1 0000 100 0\n")
    packet = b"ffff0000 3      3    0003   2     1 0      100000 5512   \n"
    assert special.map_net_uids(1, b"sk RefCnt ...\n" + packet,
                                left=True) == (
        b"sk RefCnt ...\nffff0000 3      3    0003   2     1 0      0      "
        b"5512   \n")
