"""Podman (conmon) running containers on pyrunsc.

Podman with private ``--root``/``--runroot``/``--tmpdir``, its own
containers.conf and storage.conf (CONTAINERS_CONF,
CONTAINERS_STORAGE_CONF), the cgroupfs manager and ``--runtime`` pointing
at pyrunsc.  See docs/engines.md.
"""
import json

import pytest

from tests.engines.enginelib import run_in_pty, wait_until


def test_run_output_and_exit_status(podman):
    r = podman("run", "--rm", *podman.run_args(), podman.image,
               "sh", "-c", "echo hi-podman; id -u; echo pid=$$; exit 9")
    assert r.returncode == 9, r
    assert r.stdout.split() == ["hi-podman", "0", "pid=1"]


@pytest.mark.slow
def test_stdin_and_tty(podman):
    r = podman("run", "--rm", "-i", *podman.run_args(), podman.image, "sh",
               input="echo from-stdin; exit 4\n")
    assert r.returncode == 4, r
    assert "from-stdin" in r.stdout
    status, out = run_in_pty(podman.argv(
        "run", "--rm", "-t", *podman.run_args(), podman.image,
        "sh", "-c", "test -t 1 && tty && exit 3"), env=podman.env)
    assert status == 3, out
    assert "/dev/pts/" in out


def test_detached_exec_top_stop_rm(podman):
    name = "pyrunsc-podman"
    podman.ok("run", "-d", "--name", name, *podman.run_args(), podman.image,
              "sh", "-c", 'echo started; trap "echo got-term; exit 0" TERM; '
              "sleep 1000 & while true; do sleep 0.1; done")
    try:
        wait_until(lambda: "started" in podman("logs", name).stdout, 30,
                   "the first line")
        r = podman("exec", name, "sh", "-c", "echo in-exec; exit 5")
        assert r.returncode == 5, r
        assert r.stdout.strip() == "in-exec"
        # podman top reads /proc in the mount namespace of the container's
        # pid: the container's processes only, never the host's.
        out = wait_until(
            lambda: (lambda o: o if "sleep 1000" in o else None)(
                podman("top", name, "pid", "args").stdout),
            30, "podman top to list the background sleep")
        assert "dockerd" not in out and "pytest" not in out, out
        pids = [int(line.split()[0]) for line in out.splitlines()[1:]
                if line.split()]
        assert 1 in pids and max(pids) < 1000, out

        podman.ok("pause", name)
        st = json.loads(podman.ok("inspect", name).stdout)[0]["State"]
        assert st["Status"] == "paused"
        podman.ok("unpause", name)
        podman.ok("stop", "-t", "20", name)
        st = json.loads(podman.ok("inspect", name).stdout)[0]["State"]
        assert st["Status"] == "exited" and st["ExitCode"] == 0, st
        assert "got-term" in podman("logs", name).stdout
    finally:
        r = podman("rm", "-f", "-t", "0", name)
    assert r.returncode == 0, r
    assert name not in podman("ps", "-a").stdout


@pytest.mark.slow
def test_kill(podman):
    name = "pyrunsc-podman-kill"
    podman.ok("run", "-d", "--name", name, *podman.run_args(), podman.image,
              "sleep", "1000")
    try:
        podman.ok("kill", name)
        wait_until(lambda: json.loads(podman.ok("inspect", name).stdout)[0][
            "State"]["Status"] == "exited", 30, "the container to exit")
        st = json.loads(podman.ok("inspect", name).stdout)[0]["State"]
        assert st["ExitCode"] == 137, st
    finally:
        podman("rm", "-f", "-t", "0", name)
