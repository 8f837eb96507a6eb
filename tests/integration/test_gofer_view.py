"""The gofer as the container's file backend (issue 4 A): boot starts one
per container; a dead gofer ends the container; --directfs runs without
one; --overlay keeps the image unchanged."""
import json
import os
import signal
import time

import pytest

from tests.testlib import make_spec

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _gofer_pids(runner):
    """Gofer processes of this runner's --root (its state dir is in their
    command line): an exec'd ``pyrunsc gofer`` or one forked from boot
    (named pyrunsc-gofer, with the creating CLI's command line)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{d}/comm", "rb") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if ((b"gofer" in argv or comm == b"pyrunsc-gofer")
                and any(runner.root.encode() in a for a in argv)):
            pids.append(int(d))
    return pids


def _bundle(test_dir, rootfs, args, name="b", edit=None):
    b = os.path.join(test_dir, name)
    os.makedirs(b)
    spec = make_spec(args, rootfs)
    if edit:
        edit(spec)
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(spec, f)
    return b


@pytest.mark.parametrize("platform", ["seccomp", "ptrace"])
def test_one_gofer_per_container_and_none_with_directfs(
        pyrunsc, test_dir, busybox_rootfs, platform):
    b = _bundle(test_dir, busybox_rootfs, ["sleep", "100"])
    cid = pyrunsc.new_id("g")
    pyrunsc.ok("--platform", platform, "run", "--detach", "--bundle", b, cid)
    assert len(_gofer_pids(pyrunsc)) == 1
    out = pyrunsc.ok("--platform", platform, "exec", cid, "cat",
                     "/etc/hostname").stdout
    assert out == "busybox\n"
    pyrunsc.ok("delete", "--force", cid)
    assert _gofer_pids(pyrunsc) == []
    cid2 = pyrunsc.new_id("d")
    pyrunsc.ok("--platform", platform, "--directfs", "run", "--detach",
               "--bundle", b, cid2)
    assert _gofer_pids(pyrunsc) == []
    pyrunsc.ok("delete", "--force", cid2)


def test_first_gofer_is_forked_from_boot_and_keeps_only_its_sockets(
        pyrunsc, test_dir, busybox_rootfs):
    """The first container's gofer is boot's spare (runtime/gofer_proc.py):
    no interpreter start, and nothing of boot's fds but its connections."""
    b = _bundle(test_dir, busybox_rootfs, ["sleep", "100"])
    cid = pyrunsc.new_id("f")
    pyrunsc.ok("run", "--detach", "--bundle", b, cid)
    [pid] = _gofer_pids(pyrunsc)
    with open(f"/proc/{pid}/comm") as f:
        assert f.read() == "pyrunsc-gofer\n"
    with open(f"/proc/{pid}/stat") as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    boot = json.loads(pyrunsc.ok("state", cid).stdout)
    with open(os.path.join(pyrunsc.root, cid, "meta.json")) as f:
        assert ppid == json.load(f)["sandbox"]["pid"]
    targets = sorted(os.readlink(f"/proc/{pid}/fd/{fd}")
                     for fd in os.listdir(f"/proc/{pid}/fd"))
    sockets = [t for t in targets if t.startswith("socket:")]
    others = [t for t in targets if not t.startswith("socket:")]
    assert len(sockets) == 2, targets
    # stdio on /dev/null, and what it opened itself (its root, /proc/self/fd
    # of its own namespace): no log file, pipe or the app's stdio of boot
    assert others.count("/dev/null") == 3, targets
    assert not any(t.startswith(("pipe:", "/tmp", "/dev/pts"))
                   for t in others), targets
    assert boot["status"] == "running"
    pyrunsc.ok("delete", "--force", cid)
    assert _gofer_pids(pyrunsc) == []


@pytest.mark.parametrize("platform", ["seccomp", "ptrace"])
def test_killing_the_gofer_ends_the_container(pyrunsc, test_dir,
                                              busybox_rootfs, platform):
    b = _bundle(test_dir, busybox_rootfs, [
        "sh", "-c", "while cat /etc/hostname >/dev/null; do sleep 0.05; "
        "done; echo gone; sleep 100"])
    cid = pyrunsc.new_id("k")
    pyrunsc.ok("--platform", platform, "run", "--detach", "--bundle", b, cid)
    assert pyrunsc.status(cid) == "running"
    pids = _gofer_pids(pyrunsc)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    assert pyrunsc.wait_status(cid, "stopped") == "stopped"
    pyrunsc.ok("delete", cid)
    assert cid not in pyrunsc.list_ids()


@pytest.mark.parametrize("mode", [[], ["--directfs"]])
def test_overlay_keeps_the_image(pyrunsc, test_dir, busybox_rootfs, mode):
    def writable(spec):
        spec["root"]["readonly"] = False
    script = ("echo new > /etc/added && echo changed > /etc/hostname && "
              "rm /bin/true && cat /etc/added /etc/hostname && "
              "test ! -e /bin/true && echo removed")
    b = _bundle(test_dir, busybox_rootfs, ["sh", "-c", script], edit=writable)
    before = sorted(os.listdir(busybox_rootfs)), sorted(
        os.listdir(os.path.join(busybox_rootfs, "etc")))
    cid = pyrunsc.new_id("o")
    res = pyrunsc.ok("--overlay", *mode, "run", "--bundle", b, cid)
    assert res.stdout == "new\nchanged\nremoved\n"
    pyrunsc.ok("delete", "--force", cid)
    assert (sorted(os.listdir(busybox_rootfs)), sorted(
        os.listdir(os.path.join(busybox_rootfs, "etc")))) == before
    with open(os.path.join(busybox_rootfs, "etc", "hostname")) as f:
        assert f.read() == "busybox\n"
    assert os.path.lexists(os.path.join(busybox_rootfs, "bin", "true"))
    # a second run starts from the image again
    cid2 = pyrunsc.new_id("o2")
    res = pyrunsc.ok("--overlay", *mode, "run", "--bundle", b, cid2)
    assert res.stdout == "new\nchanged\nremoved\n"
    pyrunsc.ok("delete", "--force", cid2)


def _mounts_under(mountinfo, path):
    with open(mountinfo) as f:
        return [ln.split()[4] for ln in f
                if ln.split()[4].startswith(path + "/")]


@pytest.mark.parametrize("platform,delete", [("seccomp", ["--force"]),
                                             ("ptrace", [])])
def test_overlay_goes_with_a_killed_boot(pyrunsc, test_dir, busybox_rootfs,
                                         platform, delete):
    """--overlay's mounts live in boot's own mount namespace: the host
    never sees them, and a SIGKILLed boot takes them along; state says
    stopped, delete leaves no directory, the image is unchanged."""
    def writable(spec):
        spec["root"]["readonly"] = False
    b = _bundle(test_dir, busybox_rootfs, ["sh", "-c",
                "echo new > /etc/added; sleep 100"], edit=writable)
    before = sorted(os.listdir(os.path.join(busybox_rootfs, "etc")))
    cid = pyrunsc.new_id("ok")
    pyrunsc.ok("--platform", platform, "--overlay", "run", "--detach",
               "--bundle", b, cid)
    state_dir = os.path.join(pyrunsc.root, cid)
    with open(os.path.join(state_dir, "meta.json")) as f:
        boot_pid = json.load(f)["sandbox"]["pid"]
    out = pyrunsc.ok("--platform", platform, "exec", cid, "sh", "-c",
                     "while ! cat /etc/added 2>/dev/null; do sleep 0.05; "
                     "done").stdout
    assert out == "new\n"
    # the overlay is there, in boot's namespace only
    assert _mounts_under(f"/proc/{boot_pid}/mountinfo", state_dir) == [
        f"{state_dir}/overlay", f"{state_dir}/overlay/merged"]
    assert _mounts_under("/proc/self/mountinfo", state_dir) == []
    os.kill(boot_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{boot_pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.02)
    assert pyrunsc.status(cid) == "stopped"
    assert _mounts_under("/proc/self/mountinfo", state_dir) == []
    pyrunsc.ok("delete", *delete, cid)
    assert not os.path.exists(state_dir)
    assert sorted(os.listdir(os.path.join(busybox_rootfs, "etc"))) == before


def test_read_only_root_is_erofs_in_both_modes(pyrunsc, test_dir,
                                               busybox_rootfs):
    b = _bundle(test_dir, busybox_rootfs, [
        "sh", "-c", "touch /x 2>&1; mkdir /etc 2>&1; mkdir /y 2>&1; "
        "ln -s a /z 2>&1; chmod 600 /etc/hostname 2>&1; "
        "cat /etc/hostname"])
    for mode in ([], ["--directfs"]):
        cid = pyrunsc.new_id("ro")
        out = pyrunsc.ok(*mode, "run", "--bundle", b, cid).stdout
        pyrunsc.ok("delete", "--force", cid)
        assert out.splitlines() == [
            "touch: /x: Read-only file system",
            "mkdir: can't create directory '/etc': File exists",
            "mkdir: can't create directory '/y': Read-only file system",
            "ln: /z: Read-only file system",
            "chmod: /etc/hostname: Read-only file system",
            "busybox"], (mode, out)


@pytest.mark.parametrize("platform", ["seccomp", "ptrace"])
def test_file_calls_fail_with_eio_once_the_gofer_is_gone(platform):
    """Without boot (the platform driver): the gofer dies after the sentry
    attached and before the app's execve, whose path resolution through
    the gofer then fails with EIO (with a live gofer it runs)."""
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    import platform_driver as driver
    gofer = []

    def kill(pid):
        os.kill(gofer[-1].pid, signal.SIGKILL)
        time.sleep(0.2)
    argv = ["/bin/busybox", "cat", "/etc/hostname"]
    res = driver.run(platform, argv, view="gofer", on_gofer=gofer.append)
    assert res.code == 0, res
    res = driver.run(platform, argv, view="gofer", on_gofer=gofer.append,
                     on_start=kill)
    assert res.code == 126, res
    assert b"OSError(5," in res.err, res
