"""/proc, /sys and /dev as the container sees them, served by the sentry
(sentry/fs): real busybox containers on both platforms.

The files the sentry synthesizes from the container's cgroup (meminfo,
cpuinfo, the CPU lists, uptime) are sealed memfds: installed by the
sentry on seccomp, created by the app's own thread and filled at the
call's exit on ptrace.
"""
import array
import json
import os
import select
import socket
import stat as _stat
import time

import pytest

from tests.testlib import _build_busybox_rootfs, make_spec

PLATFORMS = ("seccomp", "ptrace")


@pytest.fixture(params=["busybox"])
def rootfs_kind(request):
    return request.param


def _run(pyrunsc, bundle_factory, platform, script, resources=None,
         name="sfs", caps=()):
    def edit(spec):
        if resources:
            spec["linux"].setdefault("resources", {}).update(resources)
        for cap in caps:
            for kind in ("bounding", "effective", "permitted"):
                spec["process"]["capabilities"][kind].append(cap)
    b = bundle_factory(["sh", "-c", script], edit=edit)
    cid = pyrunsc.new_id(name)
    res = pyrunsc("--platform", platform, "run", "--bundle", b, cid)
    pyrunsc("delete", "-f", cid)
    return res


@pytest.mark.parametrize("platform", PLATFORMS)
def test_meminfo_shows_the_memory_limit(pyrunsc, bundle_factory, platform):
    res = _run(pyrunsc, bundle_factory, platform,
               "head -3 /proc/meminfo",
               {"memory": {"limit": 256 << 20}})
    assert res.returncode == 0, res
    lines = [ln.split() for ln in res.stdout.splitlines()]
    assert lines[0] == ["MemTotal:", "262144", "kB"]
    assert lines[1][0] == "MemFree:" and 0 < int(lines[1][1]) <= 262144
    assert lines[2][0] == "MemAvailable:" and int(lines[2][1]) <= 262144


@pytest.mark.parametrize("platform", PLATFORMS)
def test_nproc_shows_the_cpu_quota(pyrunsc, bundle_factory, platform):
    """nproc(1) counts sched_getaffinity(2)'s mask, which the sentry
    answers with the container's virtual CPUs."""
    res = _run(pyrunsc, bundle_factory, platform, "nproc",
               {"cpu": {"quota": 100000, "period": 100000}})
    assert (res.returncode, res.stdout.strip()) == (0, "1"), res


@pytest.mark.parametrize("platform", PLATFORMS)
def test_cpu_files_show_the_cpu_quota(pyrunsc, bundle_factory, platform):
    res = _run(pyrunsc, bundle_factory, platform,
               "grep -c ^processor /proc/cpuinfo; "
               "grep -c '^cpu[0-9]' /proc/stat; "
               "cat /sys/devices/system/cpu/online",
               {"cpu": {"quota": 100000, "period": 100000}})
    assert res.returncode == 0, res
    count_info, count_stat, online = res.stdout.split()
    assert (count_info, count_stat) == ("1", "1")
    assert online.isdigit()         # one CPU: "N", not a range


@pytest.mark.parametrize("platform", PLATFORMS)
def test_uptime_counts_from_the_container_start(pyrunsc, bundle_factory,
                                                platform):
    with open("/proc/uptime") as f:
        host_up = float(f.read().split()[0])
    res = _run(pyrunsc, bundle_factory, platform,
               "cat /proc/uptime /proc/loadavg")
    assert res.returncode == 0, res
    up, idle = res.stdout.splitlines()[0].split()
    assert 0 <= float(up) < host_up and float(idle) >= 0
    load = res.stdout.splitlines()[1].split()
    running, total = load[3].split("/")
    # sh and cat: the container's own tasks, not the host's
    assert 1 <= int(total) < 50 and int(running) <= int(total)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_proc_self_is_the_caller(pyrunsc, bundle_factory, platform):
    res = _run(pyrunsc, bundle_factory, platform,
               'echo $$; exec readlink /proc/self')
    assert res.returncode == 0, res
    pid, link = res.stdout.split()
    assert pid == link and int(pid) < 100          # a container pid
    res = _run(pyrunsc, bundle_factory, platform,
               "readlink /proc/self/exe; cat /proc/self/comm; "
               "readlink /proc/thread-self | cut -d/ -f2; "
               "grep -c . /proc/self/mountinfo >/dev/null && echo mi; "
               "head -1 /proc/mounts | cut -d' ' -f2; "
               "echo data > /tmp/f 2>/dev/null; "
               "exec 3</etc/passwd; head -1 /proc/self/fd/3 | cut -d: -f1")
    assert res.returncode == 0, res
    assert res.stdout.split() == ["/bin/busybox", "cat", "task", "mi", "/",
                                  "root"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_proc_sys_is_read_only(pyrunsc, bundle_factory, platform):
    res = _run(pyrunsc, bundle_factory, platform,
               "cat /proc/sys/kernel/hostname; "
               "echo x > /proc/sys/kernel/hostname && echo wrote; "
               "cat /proc/sys/kernel/hostname")
    assert res.stdout.split() == ["pyrunsc-test", "pyrunsc-test"], res
    assert "Read-only file system" in res.stderr, res


@pytest.mark.parametrize("platform", PLATFORMS)
def test_dev_nodes(pyrunsc, bundle_factory, platform):
    # the output goes through a pipe: /dev/stdout and /dev/fd/1 reopen it
    res = _run(pyrunsc, bundle_factory, platform,
               "( echo x > /dev/null && echo null; "
               "head -c 5 /dev/zero | wc -c; "
               "head -c 7 /dev/urandom | wc -c; "
               "head -c 3 /dev/random | wc -c; "
               "cat /etc/hostname > /dev/full || echo full-refused; "
               "echo err > /dev/stderr; "
               "echo out > /dev/stdout; "
               "echo fd1 > /dev/fd/1; "
               "cat /dev/tty || echo no-tty; "
               "test -c /dev/ptmx && test -d /dev/pts && echo pts; "
               "test -d /dev/shm && echo shm ) 2>&1 | cat")
    out = res.stdout
    assert "No space left" in out and "No such device or address" in out
    words = [w for w in out.split() if w.isalnum() or "-" in w]
    for w in ("null", "5", "7", "3", "full-refused", "err", "out", "fd1",
              "no-tty", "pts", "shm"):
        assert w in words, res


@pytest.mark.parametrize("platform", PLATFORMS)
def test_devices_outside_the_rules_are_eperm(pyrunsc, bundle_factory,
                                             platform, test_dir):
    """A node the device rules deny (fuse, 10:229) cannot be opened, even
    where the app made it in /dev (/dev/shm would be nodev: EACCES);
    /dev/null can."""
    # CAP_MKNOD to make the node at all (the kernel wants it too): what is
    # checked is the device rules at open.
    res = _run(pyrunsc, bundle_factory, platform,
               "mknod /dev/fz c 10 229 && echo made; "
               "cat /dev/fz; echo x > /dev/null && echo null",
               caps=("CAP_MKNOD",))
    assert res.stdout.split() == ["made", "null"], res
    assert "Operation not permitted" in res.stderr, res


def _nodes_bundle(test_dir, script, *, caps=("CAP_MKNOD",), root=None):
    """A bundle whose image holds device nodes - /nodes/mem (c 1:1, the
    numbers of /dev/mem), /nodes/disk (b 8:0, a disk's) and /nodes/null
    (c 1:3, /dev/null's) in a private busybox rootfs - and a tmpfs
    mounted at /t without nodev."""
    if root is None:
        root = os.path.join(test_dir, "rootfs")
        _build_busybox_rootfs(root)
        os.mkdir(os.path.join(root, "t"))
        nodes = os.path.join(root, "nodes")
        os.mkdir(nodes)
        for name, kind, major, minor in (("mem", _stat.S_IFCHR, 1, 1),
                                         ("disk", _stat.S_IFBLK, 8, 0),
                                         ("null", _stat.S_IFCHR, 1, 3)):
            os.mknod(os.path.join(nodes, name), kind | 0o666,
                     os.makedev(major, minor))
    spec = make_spec(["sh", "-c", script] if isinstance(script, str)
                     else script, root)
    spec["mounts"].append({"destination": "/t" if root != "/" else "/mnt",
                           "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "mode=1777"]})
    for cap in caps:
        for kind in ("bounding", "effective", "permitted"):
            spec["process"]["capabilities"][kind].append(cap)
    b = os.path.join(test_dir, "nodes-bundle")
    os.makedirs(b)
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(spec, f)
    return b


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("mode", ["gofer", "directfs"])
def test_device_rules_apply_on_every_mount(pyrunsc, test_dir, platform,
                                           mode):
    """Device nodes found by path outside /dev - in the image (gofer or
    --directfs) and made on a tmpfs without nodev - open only as the
    container's device rules allow: 1:1 and 8:0 are EPERM (nothing is
    opened on the host), 1:3 works; mknod of 1:3 and 1:1 is allowed
    (runc's default "c *:* m")."""
    b = _nodes_bundle(test_dir, (
        "mknod /t/mem c 1 1 && mknod /t/null c 1 3 && echo made; "
        "for f in /nodes/mem /nodes/disk /t/mem; do "
        "(exec 3<$f) && echo open-$f; done; "
        "cat /nodes/null && echo null-image; "
        "echo x > /t/null && echo null-tmpfs"))
    cid = pyrunsc.new_id("sfsnodes")
    res = pyrunsc("--platform", platform,
                  *(["--directfs"] if mode == "directfs" else []),
                  "run", "--bundle", b, cid)
    pyrunsc("delete", "-f", cid)
    assert res.stdout.split() == ["made", "null-image", "null-tmpfs"], res
    assert res.stderr.count("Operation not permitted") == 3, res


def test_reopened_device_fds_follow_the_rules(pyrunsc, test_dir):
    """The other ways the sentry opens a path: /proc/self/fd/N of an
    O_PATH fd (the kernel lets the app make one on any device), an
    openat2(2) with RESOLVE_BENEATH, truncate(2).  Seccomp only: under
    ptrace these opens are the app's own (rewritten) in its own device
    cgroup, and openat2 with RESOLVE_BENEATH is ENOSYS."""
    script = r"""
import ctypes, errno, os, stat, struct
libc = ctypes.CDLL(None, use_errno=True)
def openat2(dirfd, name, flags, resolve):
    how = struct.pack("QQQ", flags, 0, resolve)
    r = libc.syscall(437, dirfd, name.encode(), how, 24)
    if r < 0:
        raise OSError(ctypes.get_errno(), name)
    return r
def attempt(f):
    try:
        os.close(f())
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
os.mknod("/mnt/mem", stat.S_IFCHR | 0o600, os.makedev(1, 1))
os.mknod("/mnt/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
d = os.open("/mnt", os.O_PATH | os.O_DIRECTORY)
for name in ("mem", "null"):
    p = os.open("/mnt/" + name, os.O_PATH)
    print(name, attempt(lambda: os.open("/proc/self/fd/%d" % p, os.O_RDONLY)),
          attempt(lambda: openat2(d, name, os.O_RDONLY, 0x08)),
          attempt(lambda: os.truncate("/mnt/" + name, 0) or os.dup(0)))
"""
    import sys
    b = _nodes_bundle(test_dir, [sys.executable, "-c", script], root="/")
    cid = pyrunsc.new_id("sfsreopen")
    res = pyrunsc("--platform", "seccomp", "run", "--bundle", b, cid)
    pyrunsc("delete", "-f", cid)
    # truncate(2) opens nothing: EINVAL for any device - truncate(2)
    assert res.stdout.splitlines() == ["mem EPERM EPERM EINVAL",
                                       "null ok ok EINVAL"], res


@pytest.mark.parametrize("platform", PLATFORMS)
def test_mknod_follows_the_device_cgroup(pyrunsc, bundle_factory, platform):
    """mknod(2) of a device the container's device cgroup does not allow
    to make ("m") is EPERM, as the kernel answers the app itself; the
    sentry makes nodes from boot's cgroup, so it asks the rules.  The
    cgroup is narrowed after create: runc's defaults allow "c *:* m"."""
    def edit(spec):
        spec["mounts"].append({"destination": "/mnt", "type": "tmpfs",
                               "source": "tmpfs", "options": ["nosuid"]})
        for kind in ("bounding", "effective", "permitted"):
            spec["process"]["capabilities"][kind].append("CAP_MKNOD")
    b = bundle_factory(["sleep", "100"], edit=edit)
    cid = pyrunsc.new_id("sfsmknod")
    pyrunsc.ok("--platform", platform, "run", "--detach", "--bundle", b, cid)
    try:
        pid = pyrunsc.ok("state", cid).json()["pid"]
        with open(f"/proc/{pid}/cgroup") as f:
            rel = [ln.split(":", 2)[2].strip() for ln in f
                   if ln.split(":")[1] == "devices"]
        if not rel:
            pytest.skip("no cgroup v1 devices hierarchy on this host")
        with open(f"/sys/fs/cgroup/devices{rel[0]}/devices.deny", "w") as f:
            f.write("c *:* m")
        res = pyrunsc("--platform", platform, "exec", cid, "sh", "-c",
                      "mknod /mnt/null c 1 3 && echo null; "
                      "mknod /mnt/mem c 1 1 && echo mem; "
                      "mknod /mnt/fifo p && echo fifo")
    finally:
        pyrunsc("delete", "-f", cid)
    assert res.stdout.split() == ["null", "fifo"], res
    assert "Operation not permitted" in res.stderr, res


@pytest.mark.parametrize("platform", PLATFORMS)
def test_spec_devices_are_allowed(pyrunsc, bundle_factory, platform):
    """linux.devices: a device the spec gives the container may be opened
    although linux.resources.devices denies all (runc allows it in the
    device cgroup; the sentry reads that cgroup's list)."""
    def edit(spec):
        spec["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c",
                                     "major": 10, "minor": 229,
                                     "fileMode": 0o666, "uid": 0, "gid": 0}]
    b = bundle_factory(["sh", "-c", "exec 3<>/dev/fuse && echo opened"],
                       edit=edit)
    cid = pyrunsc.new_id("sfsdev")
    res = pyrunsc("--platform", platform, "run", "--bundle", b, cid)
    pyrunsc("delete", "-f", cid)
    assert res.stdout.split() == ["opened"], res


def _console(pyrunsc, bundle, cid, path):
    """create with a console socket; the pty master."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)
    fds = array.array("i")
    try:
        pyrunsc.ok("create", "--bundle", bundle, "--console-socket", path,
                   cid)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(30)
            _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16))
            for level, typ, data in anc:
                if (level, typ) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                    fds.frombytes(data[:len(data) - len(data) % 4])
    finally:
        srv.close()
    assert len(fds) == 1
    return fds[0]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_dev_tty_is_the_controlling_terminal(pyrunsc, bundle_factory,
                                            platform, test_dir):
    """/dev/tty of a terminal container is its pty; /dev/console and
    /dev/ptmx work."""
    pyrunsc.global_args = ["--platform", platform]
    b = bundle_factory(["sh", "-c",
                        "echo via-tty > /dev/tty; test -c /dev/console && "
                        "echo console; exec 4<>/dev/ptmx && echo ptmx; "
                        "echo done"], terminal=True)
    cid = pyrunsc.new_id("sfstty")
    master = _console(pyrunsc, b, cid, os.path.join(test_dir, "c.sock"))
    try:
        pyrunsc.ok("start", cid)
        out = b""
        deadline = time.monotonic() + 30
        while b"done" not in out and time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    break
                if not data:
                    break
                out += data
    finally:
        os.close(master)
        pyrunsc("delete", "--force", cid)
    words = out.decode(errors="replace").split()
    assert words[:4] == ["via-tty", "console", "ptmx", "done"], out
