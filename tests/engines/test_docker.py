"""Docker (dockerd + containerd-shim-runc-v2) running containers on pyrunsc.

A private dockerd started with ``--add-runtime``-style ``runtimes`` in its
own daemon.json; every container is ``--runtime pyrunsc --network none`` on
a busybox image imported from a tarball.  See docs/engines.md.
"""
import json
import os
import time

import pytest

from tests.engines.enginelib import run_in_pty, wait_until


def _run(docker, *args, **kw):
    return docker("run", "--rm", *docker.run_args(), docker.image, *args,
                  **kw)


def _detached(docker, name, *cmd):
    r = docker.ok("run", "-d", "--name", name, *docker.run_args(),
                  docker.image, *cmd)
    return r.stdout.strip()


def _inspect(docker, name):
    return json.loads(docker.ok("inspect", name).stdout)[0]


def test_run_prints_and_is_isolated(docker):
    r = _run(docker, "sh", "-c", "echo hi; id -u; hostname; "
             "echo pid=$$; cat /proc/self/status | head -1")
    assert r.returncode == 0, r
    lines = r.stdout.split()
    assert lines[0] == "hi"
    assert lines[1] == "0"
    assert len(lines[2]) == 12          # Docker's hostname: the short id
    assert "pid=1" in lines             # its own pid namespace
    assert r.stdout.rstrip().endswith("Name:\tcat")


def test_exit_status_is_the_process_status(docker):
    r = _run(docker, "sh", "-c", "exit 3")
    assert r.returncode == 3, r


def test_runtime_args(docker):
    # The runtime's parent is Docker's shell script, the shim its
    # grandparent: the waiter must still be used, or run never returns.
    r = docker("run", "--rm", "--runtime", "pyrunsc-args", "--network",
               "none", docker.image, "sh", "-c", "echo args-ok; exit 4")
    assert r.returncode == 4, r
    assert r.stdout.strip() == "args-ok"


@pytest.mark.slow
def test_stdin_is_forwarded(docker):
    r = docker("run", "--rm", "-i", *docker.run_args(), docker.image, "sh",
               input="echo from-stdin-$((40+2)); exit 4\n")
    assert r.returncode == 4, r
    assert "from-stdin-42" in r.stdout


def test_tty(docker):
    status, out = run_in_pty(docker.argv(
        "run", "--rm", "-t", *docker.run_args(), docker.image,
        "sh", "-c", "test -t 0 && test -t 1 && tty && exit 6"))
    assert status == 6, out
    assert "/dev/pts/" in out


def test_detached_exec_logs_and_stop(docker):
    name = "pyrunsc-stop"
    cid = _detached(docker, name, "sh", "-c",
                    'echo started; trap "echo got-term; exit 0" TERM; '
                    'while true; do sleep 0.1; done')
    try:
        wait_until(lambda: "started" in docker("logs", name).stdout, 30,
                   "the container's first line")
        r = docker("exec", name, "sh", "-c", "echo in-exec; exit 5")
        assert r.returncode == 5, r
        assert r.stdout.strip() == "in-exec"
        status, out = run_in_pty(docker.argv(
            "exec", "-t", name, "sh", "-c", "tty; exit 7"))
        assert status == 7, out
        assert "/dev/pts/" in out
        state = _inspect(docker, name)["State"]
        assert state["Running"] and state["Pid"] > 0
        docker.ok("stop", "-t", "20", name)
        state = _inspect(docker, name)["State"]
        assert not state["Running"]
        assert state["ExitCode"] == 0          # the TERM trap ran
        assert "got-term" in docker("logs", name).stdout
    finally:
        docker("rm", "-f", cid)


@pytest.mark.slow
def test_stop_falls_back_to_sigkill(docker):
    # A pid 1 without a handler ignores SIGTERM: stop must SIGKILL it.
    name = "pyrunsc-stopkill"
    _detached(docker, name, "sleep", "1000")
    try:
        t0 = time.monotonic()
        docker.ok("stop", "-t", "1", name)
        assert time.monotonic() - t0 < 60
        assert _inspect(docker, name)["State"]["ExitCode"] == 137
    finally:
        docker("rm", "-f", name)


@pytest.mark.slow
def test_kill_delivers_signals(docker):
    name = "pyrunsc-kill"
    _detached(docker, name, "sh", "-c",
              'trap "echo got-usr1" USR1; echo ready; '
              'while true; do sleep 0.1; done')
    try:
        wait_until(lambda: "ready" in docker("logs", name).stdout, 30,
                   "ready")
        docker.ok("kill", "-s", "USR1", name)
        wait_until(lambda: "got-usr1" in docker("logs", name).stdout, 30,
                   "the USR1 trap")
        docker.ok("kill", name)
        wait_until(lambda: not _inspect(docker, name)["State"]["Running"],
                   30, "the container to stop")
        assert _inspect(docker, name)["State"]["ExitCode"] == 137
    finally:
        docker("rm", "-f", name)


def test_top_stats_pause_update_rm(docker):
    name = "pyrunsc-ops"
    cid = _detached(docker, name, "sh", "-c",
                    "sleep 1000 & while true; do sleep 0.1; done")
    try:
        wait_until(lambda: "sleep 1000" in docker("top", name).stdout, 30,
                   "docker top to list the background sleep")
        r = docker.ok("stats", "--no-stream", "--format",
                      "{{.PIDs}} {{.MemUsage}}", name)
        assert int(r.stdout.split()[0]) >= 2, r

        docker.ok("pause", name)
        assert _inspect(docker, name)["State"]["Paused"] is True
        assert "Paused" in docker("ps", "--filter", f"name={name}").stdout
        docker.ok("unpause", name)
        assert _inspect(docker, name)["State"]["Paused"] is False
        assert docker("exec", name, "true").returncode == 0

        docker.ok("update", "--memory", "64m", "--memory-swap", "128m",
                  "--pids-limit", "77", name)
        assert _inspect(docker, name)["HostConfig"]["Memory"] == 64 << 20
        cg = f"{docker.priv.cgroup_name}/{cid}"
        mem = [f"/sys/fs/cgroup/memory/{cg}/memory.limit_in_bytes",
               f"/sys/fs/cgroup/{cg}/memory.max"]
        pids = [f"/sys/fs/cgroup/pids/{cg}/pids.max",
                f"/sys/fs/cgroup/{cg}/pids.max"]
        got_mem = [open(f).read().strip() for f in mem if os.path.exists(f)]
        got_pids = [open(f).read().strip() for f in pids
                    if os.path.exists(f)]
        assert got_mem == [str(64 << 20)]
        assert got_pids == ["77"]
    finally:
        r = docker("rm", "-f", name)
    assert r.returncode == 0, r
    assert name not in docker("ps", "-a").stdout
