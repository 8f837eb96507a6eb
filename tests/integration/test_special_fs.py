"""/proc, /sys and /dev as the container sees them, served by the sentry
(sentry/fs): real busybox containers on both platforms.

The files the sentry synthesizes from the container's cgroup (meminfo,
cpuinfo, the CPU lists, uptime) are sealed memfds: installed by the
sentry on seccomp, created by the app's own thread and filled at the
call's exit on ptrace.
"""
import array
import os
import select
import socket
import time

import pytest

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
