"""gVisor's 2018 runsc container tests, reproduced as behaviours of the CLI.

Each test runs twice: over the host root mounted read-only as the
container's root (as those tests did) and over a busybox-static rootfs.
Every test leaves nothing behind: the ``pyrunsc`` fixture checks from the
host side after each one (tests/conftest.py).
"""
import array
import json
import os
import shutil
import socket
import time

import pytest


def _ps_rows(out):
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["UID", "PID", "PPID"], out
    return [line.split(None, 6) for line in lines[1:]]


def test_lifecycle(pyrunsc, bundle_factory):
    """create → created and listed; start → running with sleep as pid 1;
    a signal stops it; delete → not listed, and state fails."""
    cid = pyrunsc.new_id("life")
    bundle = bundle_factory(["sleep", "100"])
    pyrunsc.ok("create", "--bundle", bundle, cid)
    st = pyrunsc.ok("state", cid).json()
    assert st["status"] == "created"
    assert st["id"] == cid and st["bundle"] == bundle and st["pid"] > 0
    assert pyrunsc.list_ids() == [cid]

    pyrunsc.ok("start", cid)
    assert pyrunsc.status(cid) == "running"
    if pyrunsc.is_pyrunsc:
        rows = _ps_rows(pyrunsc.ok("ps", cid).stdout)
        assert [(r[1], r[-1].split()[0]) for r in rows] == [("1", "sleep")]
    host_pids = pyrunsc.ok("ps", "--format", "json", cid).json()
    assert host_pids == [st["pid"]]

    pyrunsc.ok("kill", cid, "KILL")
    assert pyrunsc.wait_status(cid, "stopped") == "stopped"
    pyrunsc.ok("delete", cid)
    assert pyrunsc.list_ids() == []
    res = pyrunsc.fails("state", cid)
    assert "does not exist" in res.stderr


@pytest.mark.parametrize("args", [["true"], ["bin/true"], ["/bin/true"]])
def test_exe_path_found(pyrunsc, bundle_factory, args):
    cid = pyrunsc.new_id("exe")
    res = pyrunsc("run", "--bundle", bundle_factory(args), cid)
    assert res.returncode == 0, res
    assert pyrunsc.list_ids() == []


@pytest.mark.parametrize("args", [["/bin/true_not_found"],
                                  ["true_not_found"],
                                  ["bin/true_not_found"]])
def test_exe_path_missing(pyrunsc, bundle_factory, args):
    cid = pyrunsc.new_id("noexe")
    res = pyrunsc.fails("run", "--bundle", bundle_factory(args), cid)
    assert "true_not_found" in res.stderr, res
    assert pyrunsc.list_ids() == []


@pytest.mark.parametrize("code", [0, 123])
def test_exit_status(pyrunsc, bundle_factory, code):
    bundle = bundle_factory(["sh", "-c", f"exit {code}"])
    res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("run"))
    assert res.returncode == code, res
    if pyrunsc.is_pyrunsc:
        cid = pyrunsc.new_id("wait")
        pyrunsc.ok("create", "--bundle", bundle, cid)
        pyrunsc.ok("start", cid)
        assert pyrunsc.ok("wait", cid).json() == {"id": cid,
                                                  "exitStatus": code}
        pyrunsc.ok("delete", cid)


def test_exit_status_of_a_signal(pyrunsc, bundle_factory):
    """Death by signal N reports 128+N (here SIGKILL from `kill`)."""
    cid = pyrunsc.new_id("sig")
    run = pyrunsc.spawn("run", "--bundle", bundle_factory(["sleep", "100"]),
                        cid)
    assert _wait_running(pyrunsc, cid, run)
    pyrunsc.ok("kill", cid, "KILL")
    assert run.wait(60) == 128 + 9
    assert pyrunsc.list_ids() == []


def _wait_running(runner, cid, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        res = runner("state", cid)
        if res.returncode == 0 and res.json()["status"] == "running":
            return True
        time.sleep(0.05)
    return False


def test_exec(pyrunsc, bundle_factory):
    """exec adds a second sleep as pid 2 running as uid 343; the exit
    status of an attached exec comes back."""
    cid = pyrunsc.new_id("exec")
    pyrunsc.ok("run", "--detach", "--bundle", bundle_factory(["sleep", "100"]),
               cid)
    pyrunsc.ok("exec", "--detach", "--user", "343", cid, "sleep", "200")
    script = ("for d in /proc/[0-9]*; do "
              "echo ${d#/proc/} $(sed -n 's/^Name:\\t//p' $d/status) "
              "$(sed -n 's/^Uid:\\t\\([0-9]*\\).*/\\1/p' $d/status); done")
    inside = pyrunsc.ok("exec", cid, "sh", "-c", script).stdout
    seen = {tuple(line.split()) for line in inside.splitlines()}
    assert ("1", "sleep", "0") in seen, inside
    if pyrunsc.is_pyrunsc:
        assert ("2", "sleep", "343") in seen, inside
    else:   # runc's exec double-forks: the pid is not 2 there
        assert any(t[1:] == ("sleep", "343") for t in seen), inside
    if pyrunsc.is_pyrunsc:
        rows = _ps_rows(pyrunsc.ok("ps", cid).stdout)
        got = sorted((r[1], r[0], r[-1].split()[0]) for r in rows)
        assert got == [("1", "0", "sleep"), ("2", "343", "sleep")]
    assert len(pyrunsc.ok("ps", "-f", "json", cid).json()) == 2
    assert pyrunsc("exec", cid, "sh", "-c", "exit 42").returncode == 42
    pyrunsc.ok("delete", "--force", cid)


def test_capabilities(pyrunsc, bundle_factory, test_dir):
    """exec of a 0770 root-owned file as uid 343/gid 2401 fails, and
    succeeds with CAP_DAC_OVERRIDE."""
    hostdir = os.path.join(test_dir, "caps")
    os.mkdir(hostdir, 0o755)
    exe = os.path.join(hostdir, "true")
    shutil.copy(shutil.which("busybox") or "/bin/busybox", exe)
    os.chown(exe, 0, 0)
    os.chmod(exe, 0o770)
    dest = "/caps" if bundle_factory.kind == "busybox" else hostdir

    def edit(spec):
        spec["mounts"].append({"destination": dest, "type": "bind",
                               "source": hostdir, "options": ["bind"]})
    cid = pyrunsc.new_id("caps")
    pyrunsc.ok("run", "-d", "--bundle",
               bundle_factory(["sleep", "100"], edit=edit), cid)
    path = os.path.join(dest, "true")
    res = pyrunsc("exec", "--user", "343:2401", cid, path)
    assert res.returncode != 0, res
    assert "permission denied" in res.stderr.lower(), res
    res = pyrunsc("exec", "--user", "343:2401", "--cap", "CAP_DAC_OVERRIDE",
                  cid, path)
    assert res.returncode == 0, res
    pyrunsc.ok("delete", "--force", cid)


def test_console_socket(pyrunsc, bundle_factory, test_dir):
    """A terminal container sends its pty master to the console socket."""
    path = os.path.join(test_dir, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)
    cid = pyrunsc.new_id("tty")
    fds = array.array("i")
    try:
        pyrunsc.ok("create", "--bundle", bundle_factory(["sh"], terminal=True),
                   "--console-socket", path, cid)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(30)
            _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16))
            for level, typ, data in anc:
                if (level, typ) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                    fds.frombytes(data[:len(data) - len(data) % 4])
        assert len(fds) == 1
        assert os.isatty(fds[0])
    finally:
        for fd in fds:
            os.close(fd)
        srv.close()
    pyrunsc.ok("delete", "--force", cid)


def test_unsupported_spec_field(pyrunsc, bundle_factory):
    def edit(spec):
        spec["process"]["selinuxLabel"] = "system_u:system_r:svirt_lxc_net_t"
    cid = pyrunsc.new_id("unsup")
    res = pyrunsc.fails("create", "--bundle",
                        bundle_factory(["true"], edit=edit), cid)
    assert res.returncode == 1
    if pyrunsc.is_pyrunsc:
        assert "selinuxLabel" in res.stderr, res
        assert "not supported" in res.stderr, res
    assert pyrunsc.list_ids() == []
