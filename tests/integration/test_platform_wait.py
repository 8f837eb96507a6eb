"""The ptrace platform is boot's only waitpid caller: it reaps children it
does not trace and hands every exit to on_exit."""
import os
import threading
import time

from sentry import platform


def test_ptrace_reaps_untraced_children():
    got = {}
    ev = threading.Event()

    def on_exit(pid, status):
        got[pid] = status
        ev.set()

    root = os.open("/", os.O_PATH | os.O_CLOEXEC)
    p = platform.new("ptrace", root_fd=root, on_exit=on_exit)
    try:
        time.sleep(0.1)             # the loop has no child: it polls
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        deadline = time.time() + 5
        while pid not in got and time.time() < deadline:
            ev.wait(0.1)
        assert pid in got
        assert os.WIFEXITED(got[pid]) and os.WEXITSTATUS(got[pid]) == 7
        assert p.owns_wait
    finally:
        p.stop()
        os.close(root)


def test_platforms_leak_no_fds():
    import gc
    import pytest  # noqa: F401
    import platform_driver as driver

    def nfds():
        return len(os.listdir("/proc/self/fd"))

    for name in ("seccomp", "ptrace"):
        driver.run(name, ["/bin/true"])
        gc.collect()
        before = nfds()
        for _ in range(3):
            res = driver.run(name, ["/bin/cat", "/etc/hostname"])
            assert res.code == 0, res
        gc.collect()
        assert nfds() == before, name
