"""Container init and exec processes, driven directly through spawn_init and
spawn_exec (the test plays boot's role: it is the child subreaper, answers
the sync protocol and reaps).

Two roots: a busybox-static rootfs built in a temp dir, and the host's own
root read-only (as gVisor's tests and ``runsc do`` use it).
"""
import errno
import os
import shutil
import signal
import socket
import tempfile

import pytest

from runtime import console, errors, execproc, init
from sentry import _sys

pytestmark = pytest.mark.root

if os.geteuid() != 0:
    pytest.skip("needs root", allow_module_level=True)

BUSYBOX = shutil.which("busybox")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module", autouse=True)
def subreaper():
    _sys.set_child_subreaper(True)
    try:
        yield
    finally:
        _sys.set_child_subreaper(False)


@pytest.fixture(scope="module")
def busybox_rootfs():
    d = tempfile.mkdtemp(prefix="pyrunsc-init-test-")
    try:
        root = os.path.join(d, "rootfs")
        os.makedirs(os.path.join(root, "bin"))
        shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
        for name in ("sh", "echo", "cat", "hostname", "id", "grep", "touch",
                     "sleep", "tty", "stat", "ls", "mkdir", "head"):
            os.symlink("busybox", os.path.join(root, "bin", name))
        for sub in ("proc", "dev", "sys", "tmp", "etc", "data", "secretdir"):
            os.makedirs(os.path.join(root, sub))
        with open(os.path.join(root, "etc", "secret"), "w") as f:
            f.write("top secret\n")
        with open(os.path.join(root, "secretdir", "x"), "w") as f:
            f.write("hidden\n")
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def base_spec(root="rootfs", args=("true",), readonly=True):
    return {
        "ociVersion": "1.0.2",
        "root": {"path": root, "readonly": readonly},
        "hostname": "pyrunsc-test",
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0},
            "args": list(args), "env": [f"PATH={PATH}", "TERM=xterm"],
            "cwd": "/", "noNewPrivileges": True,
            "capabilities": {s: ["CAP_KILL", "CAP_AUDIT_WRITE",
                                 "CAP_NET_BIND_SERVICE"]
                             for s in ("bounding", "effective", "permitted")},
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                         "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777",
                         "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "size=1m"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/etc/secret",
                            "/secretdir"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }


class Run:
    """One container driven through the sync protocol; always cleaned up."""

    def __init__(self, spec, bundle, console_fd=None, extra_fds=()):
        self.r, w = os.pipe2(os.O_CLOEXEC)
        devnull = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.h = init.spawn_init(spec, bundle, "t1", stdio=(devnull, w, w),
                                     console_fd=console_fd,
                                     extra_fds=extra_fds)
        finally:
            os.close(w)
            os.close(devnull)
        self.h.sock.settimeout(30)  # a stuck child fails the test, no hang
        self.done = False

    def create(self, on_pid=None):
        self.h.expect("pid")
        if on_pid:
            on_pid(self.h.pid)
        self.h.send({"type": "continue"})
        self.h.expect("createRuntime")
        self.h.send({"type": "continue", "state": {"id": "t1"}})
        self.h.expect("created")

    def start(self):
        self.h.send({"type": "start", "state": {"id": "t1"}})
        return self.h.recv()

    def wait(self):
        _, st = os.waitpid(self.h.pid, 0)
        self.done = True
        return os.waitstatus_to_exitcode(st)

    def output(self):
        chunks = []
        while True:
            d = os.read(self.r, 65536)
            if not d:
                return b"".join(chunks).decode()
            chunks.append(d)

    def close(self):
        if self.h.pid and not self.done:
            self.h.kill(signal.SIGKILL)
            try:
                os.waitpid(self.h.pid, 0)
            except ChildProcessError:
                pass
        self.h._reap_intermediate()
        self.h.close()
        os.close(self.r)


@pytest.fixture
def run_ctr():
    runs = []

    def go(spec, bundle, start=True, console_fd=None, on_pid=None,
           extra_fds=()):
        r = Run(spec, bundle, console_fd, extra_fds)
        runs.append(r)
        r.create(on_pid)
        if start:
            assert r.start() is None
        return r
    try:
        yield go
    finally:
        for r in runs:
            r.close()


def run_sh(run_ctr, bundle, script, spec=None, on_pid=None):
    spec = spec or base_spec()
    spec["process"]["args"] = ["sh", "-c", script]
    r = run_ctr(spec, bundle, on_pid=on_pid)
    code = r.wait()
    return code, r.output()


def test_echo_exit_code_hostname_pid1(run_ctr, busybox_rootfs):
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "echo hello; hostname; echo pid=$$; exit 7")
    assert code == 7
    assert out.split() == ["hello", "pyrunsc-test", "pid=1"]


def test_mounts_visible_and_bind_readonly(run_ctr, busybox_rootfs):
    host = tempfile.mkdtemp(prefix="pyrunsc-init-bind-")
    try:
        with open(os.path.join(host, "f"), "w") as f:
            f.write("from host\n")
        spec = base_spec()
        spec["mounts"].append({"destination": "/data", "type": "bind",
                               "source": host, "options": ["rbind", "ro"]})
        code, out = run_sh(run_ctr, busybox_rootfs,
                           "cat /proc/self/mountinfo; cat /data/f; "
                           "touch /data/g 2>&1; touch /tmp/ok && echo tmp-rw",
                           spec)
        assert code == 0
        mi = {line.split()[4]: line for line in out.splitlines()
              if len(line.split()) > 6 and line.split()[4].startswith("/")}
        assert " - tmpfs " in mi["/tmp"] and "size=1024k" in mi["/tmp"]
        assert " - proc " in mi["/proc"]
        assert " - devpts " in mi["/dev/pts"]
        assert mi["/data"].split()[5].startswith("ro")
        assert mi["/sys"].split()[5].startswith("ro")
        assert "from host" in out
        assert "Read-only file system" in out
        assert "tmp-rw" in out
        assert not os.path.exists(os.path.join(host, "g"))
    finally:
        shutil.rmtree(host)


def test_readonly_root_gives_erofs(run_ctr, busybox_rootfs):
    code, out = run_sh(run_ctr, busybox_rootfs, "touch /newfile 2>&1; exit 0")
    assert "Read-only file system" in out
    assert not os.path.exists(os.path.join(busybox_rootfs, "rootfs",
                                           "newfile"))


def test_masked_paths_read_empty(run_ctr, busybox_rootfs):
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "echo [$(cat /etc/secret)]; ls /secretdir | wc -l;"
                       "echo x > /proc/sys/kernel/hostname 2>&1; exit 0")
    assert "[]" in out
    assert "top secret" not in out
    assert out.splitlines()[1].strip() == "0"
    assert "Read-only file system" in out


def test_user_and_groups(run_ctr, busybox_rootfs):
    spec = base_spec()
    spec["process"]["user"] = {"uid": 1234, "gid": 4321,
                               "additionalGids": [10, 20]}
    code, out = run_sh(run_ctr, busybox_rootfs, "id", spec)
    assert code == 0
    assert out.strip() == "uid=1234 gid=4321 groups=10,20"


def test_capabilities(run_ctr, busybox_rootfs):
    spec = base_spec()
    spec["process"]["capabilities"] = {
        "bounding": ["CAP_KILL", "CAP_NET_RAW", "CAP_CHOWN"],
        "effective": ["CAP_KILL", "CAP_CHOWN"],
        "permitted": ["CAP_KILL", "CAP_CHOWN"],
        "inheritable": ["CAP_KILL"],
        "ambient": ["CAP_KILL"]}
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "grep ^Cap /proc/self/status", spec)
    assert code == 0
    fields = dict(line.split(":\t") for line in out.splitlines())
    want = lambda *ns: f"{sum(1 << n for n in ns):016x}"  # noqa: E731
    # root keeps its permitted set over exec; ambient adds CAP_KILL too.
    assert fields["CapEff"] == want(0, 5)
    assert fields["CapPrm"] == want(0, 5)
    assert fields["CapInh"] == want(5)
    assert fields["CapBnd"] == want(0, 5, 13)
    assert fields["CapAmb"] == want(5)


def test_capabilities_non_root_ambient(run_ctr, busybox_rootfs):
    spec = base_spec()
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    spec["process"]["capabilities"] = {
        s: ["CAP_NET_BIND_SERVICE"] for s in
        ("bounding", "effective", "permitted", "inheritable", "ambient")}
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "grep -E '^Cap(Eff|Amb)' /proc/self/status", spec)
    assert code == 0
    assert out.split() == ["CapEff:", f"{1 << 10:016x}",
                           "CapAmb:", f"{1 << 10:016x}"]


def test_rlimits_and_umask(run_ctr, busybox_rootfs):
    spec = base_spec()
    spec["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]
    spec["process"]["user"]["umask"] = 0o027
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "ulimit -n; ulimit -Hn; umask", spec)
    assert out.split() == ["123", "456", "0027"]


def test_sysctl_namespaced(run_ctr, busybox_rootfs):
    spec = base_spec()
    spec["linux"]["sysctl"] = {"kernel.shmmni": "1234",
                               "net.ipv4.ip_forward": "1"}
    spec["linux"]["readonlyPaths"] = []
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "cat /proc/sys/kernel/shmmni "
                       "/proc/sys/net/ipv4/ip_forward", spec)
    assert out.split() == ["1234", "1"]


def test_sysctl_not_namespaced_rejected(busybox_rootfs):
    spec = base_spec()
    spec["linux"]["sysctl"] = {"vm.swappiness": "10"}
    with pytest.raises(errors.InvalidSpecError,
                       match=r"^linux.sysctl.vm.swappiness: "):
        init.spawn_init(spec, busybox_rootfs, "t1")


def test_user_namespace_needs_mappings(busybox_rootfs):
    """Checked before the fork (tests/integration/test_userns.py runs real
    user namespaces)."""
    spec = base_spec()
    spec["linux"]["namespaces"].append({"type": "user"})
    with pytest.raises(errors.InvalidSpecError,
                       match="^linux.uidMappings: is required with a new "
                       "user namespace$"):
        init.spawn_init(spec, busybox_rootfs, "t1")


def test_exe_not_found_error(run_ctr, busybox_rootfs):
    spec = base_spec(args=["nope"])
    r = run_ctr(spec, busybox_rootfs, start=False)
    msg = r.start()
    assert msg["type"] == "error"
    assert msg["message"] == 'process.args[0]: "nope" not found in $PATH'
    assert r.wait() == 127


def test_cwd_missing_error(run_ctr, busybox_rootfs):
    spec = base_spec(args=["true"])
    spec["process"]["cwd"] = "/does/not/exist"
    r = run_ctr(spec, busybox_rootfs, start=False)
    msg = r.start()
    assert msg["type"] == "error"
    assert msg["message"] == ("process.cwd: /does/not/exist: "
                              "No such file or directory")


def test_mount_error_names_the_field(busybox_rootfs):
    spec = base_spec()
    spec["mounts"].append({"destination": "/data", "type": "bind",
                           "source": "/nonexistent-pyrunsc-src"})
    r = Run(spec, busybox_rootfs)
    try:
        r.h.expect("pid")
        r.h.send({"type": "continue"})
        msg = r.h.recv()
        assert msg["type"] == "error"
        assert msg["message"] == ("mounts[6]: bind source "
                                  "/nonexistent-pyrunsc-src: "
                                  "No such file or directory")
        assert r.wait() == 127
    finally:
        r.close()


def test_symlink_destination_stays_in_rootfs(run_ctr, busybox_rootfs):
    outside = tempfile.mkdtemp(prefix="pyrunsc-init-outside-")
    link = os.path.join(busybox_rootfs, "rootfs", "evil")
    try:
        os.symlink("../../../../../.." + outside, link)
        spec = base_spec()
        # No /tmp tmpfs: the resolved target must be created in the rootfs.
        spec["mounts"] = [m for m in spec["mounts"]
                          if m["destination"] != "/tmp"]
        spec["mounts"].append({"destination": "/evil", "type": "tmpfs",
                               "source": "tmpfs", "options": ["size=1m"]})
        code, out = run_sh(run_ctr, busybox_rootfs,
                           "grep ' - tmpfs ' /proc/self/mountinfo", spec)
        assert code == 0
        assert any(line.split()[4] == outside for line in out.splitlines())
        # It landed inside the rootfs, not on the host's directory.
        assert os.path.isdir(os.path.join(busybox_rootfs, "rootfs",
                                          outside.lstrip("/")))
    finally:
        os.unlink(link)
        shutil.rmtree(os.path.join(busybox_rootfs, "rootfs", "tmp",
                                   os.path.basename(outside)),
                      ignore_errors=True)
        shutil.rmtree(outside)


def test_exec_sees_pid2_and_hostname(run_ctr, busybox_rootfs):
    r = run_ctr(base_spec(args=["sleep", "30"]), busybox_rootfs)
    rd, w = os.pipe2(os.O_CLOEXEC)
    process = base_spec()["process"]
    process["args"] = ["sh", "-c", "echo pid=$$; hostname; id -u"]
    process["user"] = {"uid": 99, "gid": 99}
    try:
        e = execproc.spawn_exec(r.h.pid, base_spec(), process,
                                stdio=(0, w, w))
        os.close(w)
        w = None
        try:
            assert e.recv() is None
            _, st = os.waitpid(e.pid, 0)
        finally:
            e.close()
        assert os.waitstatus_to_exitcode(st) == 0
        assert os.read(rd, 4096).decode().split() == [
            "pid=2", "pyrunsc-test", "99"]
    finally:
        os.close(rd)
        if w is not None:
            os.close(w)


def test_exec_error_reports(run_ctr, busybox_rootfs):
    r = run_ctr(base_spec(args=["sleep", "30"]), busybox_rootfs)
    process = base_spec()["process"]
    process["args"] = ["nope-exec"]
    e = execproc.spawn_exec(r.h.pid, base_spec(), process)
    try:
        msg = e.recv()
        assert msg["message"] == \
            'process.args[0]: "nope-exec" not found in $PATH'
        _, st = os.waitpid(e.pid, 0)
        assert os.waitstatus_to_exitcode(st) == 127
    finally:
        e.close()


def _read_all(fd):
    out = b""
    while True:
        try:
            d = os.read(fd, 4096)
        except OSError as ex:  # EIO once the slave side is gone
            if ex.errno == errno.EIO:
                return out
            raise
        if not d:
            return out
        out += d


def test_terminal_master_on_console_socket(run_ctr, busybox_rootfs):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    spec = base_spec(args=["sh", "-c",
                           "tty; stty size; readlink /dev/ptmx; "
                           "stat -c %t,%T /dev/console; exit 3"])
    spec["process"]["terminal"] = True
    spec["process"]["consoleSize"] = {"height": 33, "width": 111}
    master = None
    try:
        r = run_ctr(spec, busybox_rootfs, start=False, console_fd=b.fileno())
        b.close()
        master = console.recv_console(a)
        assert r.start() is None
        out = _read_all(master).decode()
        assert r.wait() == 3
        assert out.split() == ["/dev/pts/0", "33", "111", "pts/ptmx",
                               "88,0"]
    finally:
        a.close()
        b.close()
        if master is not None:
            os.close(master)


def test_host_root_readonly(run_ctr):
    spec = base_spec(root="/")
    spec["linux"]["maskedPaths"] = ["/proc/kcore"]
    code, out = run_sh(run_ctr, "/",
                       "echo pid=$$; hostname; touch /etc/pyrunsc-x 2>&1; "
                       "touch /tmp/ok && echo tmp-ok; exit 5", spec)
    assert code == 5
    lines = out.splitlines()
    assert lines[:2] == ["pid=1", "pyrunsc-test"]
    assert "Read-only file system" in out
    assert "tmp-ok" in out
    assert not os.path.exists("/etc/pyrunsc-x")


@pytest.mark.parametrize("nnp", [True, False])
def test_seccomp_profile_applied(run_ctr, busybox_rootfs, nnp):
    spec = base_spec()
    spec["process"]["noNewPrivileges"] = nnp
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"],
                      "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "mkdir /tmp/d 2>&1; touch /tmp/f && echo touched",
                       spec)
    assert "Operation not permitted" in out
    assert "touched" in out


def test_create_and_start_container_hooks(run_ctr, busybox_rootfs):
    out_dir = tempfile.mkdtemp(prefix="pyrunsc-init-hooks-")
    try:
        spec = base_spec()
        spec["hooks"] = {
            # Runs in the runtime's namespace view, before pivot_root.
            "createContainer": [{
                "path": "/bin/sh",
                "args": ["sh", "-c", f"cat > {out_dir}/create"]}],
            # Runs in the container, after pivot_root.
            "startContainer": [{
                "path": "/bin/sh",
                "args": ["sh", "-c", "cat > /tmp/started"]}]}
        code, out = run_sh(run_ctr, busybox_rootfs, "cat /tmp/started", spec)
        assert code == 0
        assert out == '{"id": "t1"}'
        with open(os.path.join(out_dir, "create")) as f:
            assert f.read() == '{"id": "t1"}'
    finally:
        shutil.rmtree(out_dir)


def test_failing_hook_reports_error(run_ctr, busybox_rootfs):
    spec = base_spec()
    spec["hooks"] = {"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}]}
    r = run_ctr(spec, busybox_rootfs, start=False)
    msg = r.start()
    assert msg["type"] == "error" and msg["stage"] == "startContainer"
    assert "exit status 4" in msg["message"]


def test_devices_default_and_spec(run_ctr, busybox_rootfs):
    spec = base_spec()
    spec["linux"]["devices"] = [{"path": "/dev/mynull", "type": "c",
                                 "major": 1, "minor": 3, "fileMode": 0o640,
                                 "uid": 0, "gid": 0}]
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "stat -c '%n %F %t,%T %a' /dev/null /dev/zero "
                       "/dev/full /dev/random /dev/urandom /dev/tty "
                       "/dev/mynull; readlink /dev/fd; readlink /dev/stdin; "
                       "echo x > /dev/mynull && echo ok", spec)
    assert code == 0
    assert out.splitlines() == [
        "/dev/null character special file 1,3 666",
        "/dev/zero character special file 1,5 666",
        "/dev/full character special file 1,7 666",
        "/dev/random character special file 1,8 666",
        "/dev/urandom character special file 1,9 666",
        "/dev/tty character special file 5,0 666",
        "/dev/mynull character special file 1,3 640",
        "/proc/self/fd", "/proc/self/fd/0", "ok"]


def test_oom_score_adj_and_domainname(run_ctr, busybox_rootfs):
    spec = base_spec()
    spec["process"]["oomScoreAdj"] = 321
    spec["domainname"] = "example.test"
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "cat /proc/self/oom_score_adj; "
                       "cat /proc/sys/kernel/domainname", spec)
    assert out.split() == ["321", "example.test"]


def test_join_namespace_by_path(run_ctr, busybox_rootfs):
    first = run_ctr(base_spec(args=["sleep", "30"]), busybox_rootfs)
    spec = base_spec()
    del spec["hostname"]
    spec["linux"]["namespaces"] = [
        {"type": "mount"}, {"type": "pid"},
        {"type": "uts", "path": f"/proc/{first.h.pid}/ns/uts"},
        {"type": "network", "path": f"/proc/{first.h.pid}/ns/net"}]
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "hostname; readlink /proc/self/ns/net", spec)
    assert code == 0
    assert out.split() == ["pyrunsc-test",
                           os.readlink(f"/proc/{first.h.pid}/ns/net")]


@pytest.fixture
def pids_cgroup():
    base = "/sys/fs/cgroup/pids"
    if not os.path.isdir(base):
        pytest.skip("no cgroup v1 pids hierarchy on this host")
    path = tempfile.mkdtemp(prefix="pyrunsc-init-test-", dir=base)
    try:
        yield path
    finally:
        os.rmdir(path)


def test_cgroup_mount_shows_own_cgroup(run_ctr, busybox_rootfs, pids_cgroup):
    spec = base_spec()
    spec["linux"]["namespaces"].append({"type": "cgroup"})
    spec["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup",
                           "source": "cgroup",
                           "options": ["nosuid", "noexec", "nodev", "ro"]})

    def join(pid):
        with open(os.path.join(pids_cgroup, "cgroup.procs"), "w") as f:
            f.write(str(pid))
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "grep pids /proc/self/cgroup; "
                       "cat /sys/fs/cgroup/pids/pids.max; "
                       "touch /sys/fs/cgroup/pids/x 2>&1; exit 0",
                       spec, on_pid=join)
    lines = out.splitlines()
    assert lines[0].endswith(":pids:/")
    assert lines[1] == "max"
    assert "Read-only file system" in lines[2]


def test_exec_joins_cgroup(run_ctr, busybox_rootfs, pids_cgroup):
    r = run_ctr(base_spec(args=["sleep", "30"]), busybox_rootfs)
    procs = os.path.join(pids_cgroup, "cgroup.procs")
    process = base_spec()["process"]
    process["args"] = ["sleep", "30"]
    e = execproc.spawn_exec(r.h.pid, base_spec(), process,
                            cgroup_procs=[procs])
    try:
        assert e.recv() is None
        with open(procs) as f:
            assert f.read().split() == [str(e.pid)]
    finally:
        e.kill()
        os.waitpid(e.pid, 0)
        e.close()


def test_time_namespace_and_readonly_dev(run_ctr, busybox_rootfs):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel without time namespaces")
    spec = base_spec()
    spec["linux"]["namespaces"].append({"type": "time"})
    spec["mounts"][1]["options"].append("ro")
    code, out = run_sh(run_ctr, busybox_rootfs,
                       "readlink /proc/self/ns/time; "
                       "stat -c %t,%T /dev/null; touch /dev/x 2>&1; exit 0",
                       spec)
    lines = out.splitlines()
    assert lines[0].startswith("time:[")
    assert lines[0] != os.readlink("/proc/self/ns/time")
    assert lines[1] == "1,3"
    assert "Read-only file system" in lines[2]


def test_signals_reset_for_the_app(run_ctr, busybox_rootfs):
    # The test process (Python) ignores SIGPIPE and SIGXFSZ; the app must not.
    spec = base_spec(args=["cat", "/proc/self/status"])
    r = run_ctr(spec, busybox_rootfs)
    assert r.wait() == 0
    fields = dict(line.split(":\t", 1) for line in r.output().splitlines())
    assert fields["SigIgn"] == "0" * 16
    assert fields["SigBlk"] == "0" * 16


def test_shared_rootfs_propagation_and_bind_propagation(run_ctr,
                                                        busybox_rootfs):
    host = tempfile.mkdtemp(prefix="pyrunsc-init-prop-")
    try:
        spec = base_spec()
        spec["linux"]["rootfsPropagation"] = "shared"
        spec["mounts"] += [
            {"destination": "/data", "type": "bind", "source": host,
             "options": ["rbind", "rshared"]},
            {"destination": "/tmp/priv", "type": "bind", "source": host,
             "options": ["rbind", "rprivate"]}]
        code, out = run_sh(run_ctr, busybox_rootfs,
                           "cat /proc/self/mountinfo", spec)
        assert code == 0, out
        opt = {line.split()[4]: line.split(" - ")[0].split()[6:]
               for line in out.splitlines()}
        assert any(o.startswith("shared:") for o in opt["/data"])
        assert not any(o.startswith("shared:") for o in opt["/tmp/priv"])
    finally:
        shutil.rmtree(host)


def test_extra_fds_preserved(run_ctr, busybox_rootfs):
    # Two pipes become fds 3 and 4 of the app (runc's --preserve-fds); no
    # other fd of the test process leaks into it.
    rd1, wr1 = os.pipe2(os.O_CLOEXEC)
    rd2, wr2 = os.pipe2(os.O_CLOEXEC)
    try:
        spec = base_spec(args=["sh", "-c", "echo three >&3; echo four >&4; "
                                           "ls /proc/self/fd"])
        try:
            r = run_ctr(spec, busybox_rootfs, extra_fds=(wr1, wr2))
        finally:
            os.close(wr1)
            os.close(wr2)
        assert r.wait() == 0
        assert os.read(rd1, 100) == b"three\n"
        assert os.read(rd2, 100) == b"four\n"
        # ls itself holds one more fd (its directory) besides 0-4.
        assert len(r.output().split()) == 6
    finally:
        os.close(rd1)
        os.close(rd2)


def test_passwd_groups_and_home_as_runc(run_ctr, busybox_rootfs):
    etc = os.path.join(busybox_rootfs, "rootfs", "etc")
    try:
        with open(os.path.join(etc, "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n"
                    "app:x:1000:1000::/home/app:/bin/sh\n")
        with open(os.path.join(etc, "group"), "w") as f:
            f.write("app:x:1000:\nwheel:x:10:app\naudio:x:29:app\n")
        spec = base_spec()
        spec["process"]["user"] = {"uid": 1000, "gid": 1000,
                                   "additionalGids": [29, 50]}
        code, out = run_sh(run_ctr, busybox_rootfs,
                           "echo $HOME; grep Groups /proc/self/status", spec)
        assert out.split() == ["/home/app", "Groups:", "10", "29", "50"]
        spec = base_spec()
        spec["process"]["env"].append("HOME=/custom")
        code, out = run_sh(run_ctr, busybox_rootfs, "echo $HOME", spec)
        assert out.strip() == "/custom"
        spec = base_spec()
        spec["process"]["user"] = {"uid": 4242, "gid": 4242}
        code, out = run_sh(run_ctr, busybox_rootfs, "echo $HOME", spec)
        assert out.strip() == "/"
    finally:
        for name in ("passwd", "group"):
            try:
                os.unlink(os.path.join(etc, name))
            except FileNotFoundError:
                pass


def test_unknown_fstype_goes_to_mount_and_fails_precisely(busybox_rootfs):
    spec = base_spec()
    spec["mounts"].append({"destination": "/tmp/x", "type": "pyrunscfs",
                           "source": "none"})
    r = Run(spec, busybox_rootfs)
    try:
        r.h.expect("pid")
        r.h.send({"type": "continue"})
        msg = r.h.recv()
        assert msg == {"type": "error", "stage": "mounts",
                       "message": "mounts[6]: mounting pyrunscfs on /tmp/x: "
                                  "No such device"}
        assert r.wait() == 127
    finally:
        r.close()


def test_exec_into_dead_or_zombie_init_fails(run_ctr, busybox_rootfs):
    r = run_ctr(base_spec(args=["sh", "-c", "exit 0"]), busybox_rootfs)
    process = base_spec()["process"]
    # Exited but not yet reaped: a zombie without namespaces.
    for _ in range(200):
        with open(f"/proc/{r.h.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        __import__("time").sleep(0.01)
    with pytest.raises(errors.ProcessError, match="^exec: /proc/"):
        execproc.spawn_exec(r.h.pid, base_spec(), process)
    assert r.wait() == 0
    with pytest.raises(errors.ProcessError, match="is gone"):
        execproc.spawn_exec(r.h.pid, base_spec(), process)
