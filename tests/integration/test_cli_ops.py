"""CLI behaviours on real containers beyond the 2018 lifecycle tests:
do, signal forwarding by run, the run pty proxy, pause/resume, events,
list --format json and the errors of invalid operations."""
import json
import os
import signal
import time


def _wait_running(runner, cid, proc=None, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None
                                           or proc.poll() is None):
        res = runner("state", cid)
        if res.returncode == 0 and res.json()["status"] == "running":
            return True
        time.sleep(0.05)
    return False


def test_do_runs_inside_a_sandbox(pyrunsc):
    res = pyrunsc.ok("do", "--", "sh", "-c",
                     "cat /proc/sys/kernel/hostname; echo $$; uname -n; "
                     "touch /etc/pyrunsc-do-test 2>&1 && echo WRITABLE; "
                     "echo ok > /tmp/x && cat /tmp/x")
    lines = res.stdout.splitlines()
    assert lines[0] == "pyrunsc"
    assert lines[1] == "1"
    assert lines[2] == "pyrunsc", res
    assert "WRITABLE" not in lines
    assert lines[-1] == "ok"
    assert not os.path.exists("/etc/pyrunsc-do-test")
    assert pyrunsc.list_ids() == []


def test_do_exit_status(pyrunsc):
    assert pyrunsc("do", "sh", "-c", "exit 7").returncode == 7


def test_run_forwards_sigterm(pyrunsc, bundle_factory):
    """SIGTERM to `run` reaches the container's init (which traps it)."""
    cid = pyrunsc.new_id("fwd")
    bundle = bundle_factory(["sh", "-c", "trap 'exit 3' TERM; "
                             "while :; do sleep 0.05; done"])
    run = pyrunsc.spawn("run", "--bundle", bundle, cid)
    assert _wait_running(pyrunsc, cid, run)
    time.sleep(0.3)     # let sh install its trap
    run.send_signal(signal.SIGTERM)
    assert run.wait(60) == 3
    assert pyrunsc.list_ids() == []


def test_run_proxies_a_pty(pyrunsc, bundle_factory):
    """A terminal container without --console-socket: run is the console."""
    bundle = bundle_factory(["sh", "-c", "tty; echo hello"], terminal=True)
    res = pyrunsc.ok("run", "--bundle", bundle, pyrunsc.new_id("pty"))
    out = res.stdout.replace("\r\n", "\n").splitlines()
    assert out[0].startswith("/dev/pts/"), res
    assert out[1] == "hello"


def test_pause_resume_and_events(pyrunsc, bundle_factory):
    cid = pyrunsc.new_id("pause")
    pyrunsc.ok("run", "-d", "--bundle", bundle_factory(["sleep", "100"]), cid)
    pyrunsc.ok("pause", cid)
    assert pyrunsc.status(cid) == "paused"
    res = pyrunsc.fails("pause", cid)
    assert f'cannot pause container "{cid}" in state paused' in res.stderr
    pyrunsc.ok("resume", cid)
    assert pyrunsc.status(cid) == "running"
    ev = pyrunsc.ok("events", "--stats", cid).json()
    assert ev["type"] == "stats" and ev["id"] == cid
    assert isinstance(ev["data"], dict)
    pyrunsc.ok("delete", "--force", cid)


def test_list_json_and_invalid_operations(pyrunsc, bundle_factory):
    cid = pyrunsc.new_id("ops")
    bundle = bundle_factory(["sleep", "100"])
    pyrunsc.ok("run", "-d", "--bundle", bundle, cid)
    [entry] = pyrunsc.ok("list", "--format", "json").json()
    assert entry["id"] == cid and entry["status"] == "running"
    assert entry["bundle"] == bundle and entry["pid"] > 0
    table = pyrunsc.ok("list").stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED",
                                "OWNER"]
    assert table[1].split()[:3] == [cid, str(entry["pid"]), "running"]

    res = pyrunsc.fails("create", "--bundle", bundle, cid)
    assert f'container "{cid}" already exists' in res.stderr
    res = pyrunsc.fails("start", cid)
    assert res.returncode == 1
    assert f'cannot start container "{cid}" in state running' in res.stderr
    res = pyrunsc.fails("delete", cid)
    assert "cannot delete" in res.stderr
    assert pyrunsc.status(cid) == "running"
    pyrunsc.ok("delete", "--force", cid)
    res = pyrunsc.fails("kill", cid, "KILL")
    assert res.returncode == 1 and "does not exist" in res.stderr


def test_json_log_for_containerd(pyrunsc, test_dir):
    log = os.path.join(test_dir, "log.json")
    res = pyrunsc.fails("state", pyrunsc.new_id("none"),
                        global_args=["--log", log, "--log-format", "json"])
    assert res.returncode == 1
    with open(log) as f:
        recs = [json.loads(line) for line in f]
    assert any(r["level"] == "error" and "does not exist" in r["msg"]
               for r in recs)


def test_debug_log_has_cli_and_boot_files(pyrunsc, bundle_factory, test_dir):
    d = os.path.join(test_dir, "logs")
    cid = pyrunsc.new_id("dbg")
    pyrunsc.ok("--debug-log", d, "run", "--bundle", bundle_factory(["true"]),
               cid)
    names = os.listdir(d)
    assert any(".run.cli." in n for n in names), names
    assert any(".run.boot." in n for n in names), names


def test_exec_tty_proxy_and_process_file(pyrunsc, bundle_factory, test_dir):
    cid = pyrunsc.new_id("etty")
    pyrunsc.ok("run", "-d", "--bundle", bundle_factory(["sleep", "100"]), cid)
    res = pyrunsc.ok("exec", "-t", cid, "sh", "-c", "tty")
    assert res.stdout.strip().startswith("/dev/pts/"), res
    proc = os.path.join(test_dir, "process.json")
    with open(proc, "w") as f:
        json.dump({"args": ["sh", "-c", "echo $FOO; exit 9"], "cwd": "/",
                   "env": ["PATH=/bin:/usr/bin", "FOO=from-file"],
                   "user": {"uid": 0, "gid": 0}}, f)
    res = pyrunsc("exec", "--process", proc, cid)
    assert res.returncode == 9 and res.stdout == "from-file\n", res
    pyrunsc.ok("delete", "--force", cid)


def test_pid_file_and_systemd_cgroup_path(pyrunsc, bundle_factory, test_dir):
    """--pid-file holds the host pid of init; --systemd-cgroup takes runc's
    slice:prefix:name and the container lands in <prefix>-<name>.scope."""
    cid = pyrunsc.new_id("sd")

    def edit(spec):
        spec["linux"]["cgroupsPath"] = f"system.slice:pyrunsc-test:{cid}"
    pid_file = os.path.join(test_dir, "init.pid")
    pyrunsc.ok("--systemd-cgroup", "create", "--pid-file", pid_file,
               "--bundle", bundle_factory(["sleep", "100"], edit=edit), cid)
    with open(pid_file) as f:
        pid = int(f.read())
    assert pid == pyrunsc.ok("state", cid).json()["pid"]
    with open(f"/proc/{pid}/cgroup") as f:
        cgroups = f.read()
    assert f"/system.slice/pyrunsc-test-{cid}.scope" in cgroups, cgroups
    pyrunsc.ok("--systemd-cgroup", "delete", "--force", cid)


def test_run_console_on_a_real_terminal(pyrunsc, bundle_factory, test_dir):
    """With the CLI on a terminal, the container's pty gets its size and
    the output comes back through the proxy."""
    import fcntl
    import pty
    import select
    import struct
    import subprocess
    import termios
    from tests.testlib import runtime_env
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    cid = pyrunsc.new_id("term")
    bundle = bundle_factory(["sh", "-c", "stty size; echo done"],
                            terminal=True)
    argv = pyrunsc.argv0 + ["--root", pyrunsc.root, "run", "--bundle",
                            bundle, cid]
    try:
        p = subprocess.Popen(argv, stdin=slave, stdout=slave,
                             stderr=subprocess.PIPE, env=runtime_env(),
                             cwd=test_dir, start_new_session=True)
        os.close(slave)
        slave = -1
        out = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if b"done" in out:
                break
        assert p.wait(60) == 0, p.stderr.read()
        p.stderr.close()
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    text = out.decode(errors="replace").replace("\r\n", "\n")
    assert "30 100\ndone" in text, text


def test_host_root_readonly_covers_its_submounts(pyrunsc, test_dir):
    """A read-only host root stays read-only below: a writable host mount
    under / must not be writable from the container (`do` and the
    lifecycle tests use the host root)."""
    import subprocess
    from tests.testlib import make_spec
    sub = os.path.join(test_dir, "sub")
    os.mkdir(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "pyrunsc-test",
                    sub], check=True)
    try:
        bundle = os.path.join(test_dir, "bundle")
        os.mkdir(bundle)
        spec = make_spec(["sh", "-c", f"echo x > {sub}/written"], "/")
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f)
        res = pyrunsc("run", "--bundle", bundle, pyrunsc.new_id("rosub"))
        assert not os.path.exists(os.path.join(sub, "written")), res
        assert res.returncode != 0, res
    finally:
        subprocess.run(["umount", sub], check=False)
