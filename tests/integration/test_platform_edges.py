"""Process and signal corner cases around trapped calls, on both platforms:
vfork, clone3, exec from a thread, a signal during a served blocking open,
exit and SIGKILL with requests in flight, SIGKILL of the whole tree."""
import os
import signal
import subprocess
import threading
import time

import pytest

import platform_driver as driver

GUEST = os.path.join(os.path.dirname(__file__), "..", "conformance", "guest")
PLATFORMS = ["seccomp", "ptrace"]
CASES = ["vfork", "clone3", "thread_exec", "fifo_eintr", "signal_storm",
         "exit_inflight", "kill_inflight"]


@pytest.fixture(scope="module")
def edge_bin(tmp_path_factory):
    out = tmp_path_factory.mktemp("guest") / "sentry_edge"
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(out),
                    os.path.join(GUEST, "sentry_edge.c")], check=True)
    return out


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", PLATFORMS)
def test_edge(name, case, edge_bin, tmp_path):
    res = {}
    for run_as in ("native", name):
        d = tmp_path / run_as
        d.mkdir()
        res[run_as] = driver.run(run_as, [str(edge_bin), str(d), case], timeout=30)
    assert (res[name].code, res[name].out) == \
        (res["native"].code, res["native"].out), res


@pytest.mark.parametrize("name", PLATFORMS)
def test_sigkill_whole_tree(name):
    """SIGKILL of every app process (its process group) while they hammer
    the sentry: the run ends promptly and the platform serves the next one."""
    script = ("for i in 1 2 3 4; do (while :; do cat /etc/hostname >/dev/null; "
              "done) & done; echo started; wait")
    timers = []

    def started(pid):
        def kill():
            for _ in range(5):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    return
                time.sleep(0.05)
        t = threading.Timer(0.5, kill)
        timers.append(t)
        t.start()

    try:
        res = driver.run(name, ["/bin/sh", "-c", script], timeout=20,
                         setsid=True, on_start=started)
    finally:
        for t in timers:
            t.cancel()
    assert res.out.startswith(b"started") and res.code == -9, res
    again = driver.run(name, ["/bin/cat", "/etc/hostname"])
    assert again.code == 0 and again.out, again
