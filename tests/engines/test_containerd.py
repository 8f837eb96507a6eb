"""containerd (ctr + containerd-shim-runc-v2) running tasks on pyrunsc.

A private containerd with its own config file; tasks use the runc v2 shim
with ``--runc-binary`` pointing at pyrunsc (and a private ``--runc-root``
and ``--fifo-dir``).  See docs/engines.md.
"""
import time

import pytest

from tests.engines.enginelib import run_in_pty, wait_until


def _tasks(ctr):
    rows = ctr.ok("tasks", "ls").stdout.splitlines()[1:]
    return {r.split()[0]: r.split()[2] for r in rows if r.strip()}


def test_run_output_and_exit_status(ctr):
    r = ctr("run", "--rm", *ctr.run_args(), ctr.image, "pyrunsc-ctr-run",
            "sh", "-c", "echo hi-ctr; id -u; echo pid=$$; exit 7")
    assert r.returncode == 7, r
    assert r.stdout.split() == ["hi-ctr", "0", "pid=1"]


@pytest.mark.slow
def test_tty(ctr):
    status, out = run_in_pty(ctr.argv(
        "run", "--rm", "-t", *ctr.run_args(), ctr.image, "pyrunsc-ctr-tty",
        "sh", "-c", "test -t 0 && tty && exit 3"))
    assert status == 3, out
    assert "/dev/pts/" in out


def test_task_exec_ps_metrics_pause_kill(ctr):
    tid = "pyrunsc-ctr-task"
    ctr.ok("run", "-d", *ctr.run_args(), ctr.image, tid, "sh", "-c",
           'trap "exit 0" TERM; sleep 1000 & while true; do sleep 0.1; '
           "done")
    try:
        wait_until(lambda: _tasks(ctr).get(tid) == "RUNNING", 30, "running")
        fifo = ["--fifo-dir", ctr.priv.path("fifo")]
        r = ctr("tasks", "exec", *fifo, "--exec-id", "e1", tid,
                "sh", "-c", "echo in-exec; exit 5")
        assert r.returncode == 5, r
        assert r.stdout.strip() == "in-exec"

        pids = wait_until(
            lambda: len(ctr.ok("tasks", "ps", tid).stdout.split()[2:]) >= 3,
            30, "ctr tasks ps to list sh, sleep 1000 and a sleep 0.1")
        assert pids
        r = ctr.ok("tasks", "metrics", tid)
        assert tid in r.stdout
        assert "memory.usage_in_bytes" in r.stdout or "memory.usage" \
            in r.stdout, r

        ctr.ok("tasks", "pause", tid)
        assert _tasks(ctr)[tid] == "PAUSED"
        ctr.ok("tasks", "resume", tid)
        assert _tasks(ctr)[tid] == "RUNNING"

        ctr.ok("tasks", "kill", "-s", "SIGTERM", tid)
        wait_until(lambda: _tasks(ctr).get(tid) == "STOPPED", 30,
                   "the TERM trap to stop the task")
        r = ctr.ok("tasks", "delete", tid)
    finally:
        if tid in _tasks(ctr):
            ctr("tasks", "kill", "-s", "SIGKILL", tid)
            time.sleep(0.5)
            ctr("tasks", "delete", "-f", tid)
        ctr("containers", "rm", tid)
    assert tid not in _tasks(ctr)


@pytest.mark.slow
def test_start_failure_is_reported(ctr):
    r = ctr("run", "--rm", *ctr.run_args(), ctr.image, "pyrunsc-ctr-noent",
            "/no/such/program")
    assert r.returncode != 0, r
    assert "/no/such/program" in r.stderr, r
    assert "pyrunsc-ctr-noent" not in ctr.ok("containers", "ls").stdout
