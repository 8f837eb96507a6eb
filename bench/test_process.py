"""Process creation: fork+wait and fork+exec+wait."""

import os


def _fork_wait():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return os.waitpid(pid, 0)[1]


def _fork_exec_wait():
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("/bin/true", ["/bin/true"])
        finally:
            os._exit(127)
    return os.waitpid(pid, 0)[1]


def test_fork_wait(benchmark):
    assert benchmark(_fork_wait) == 0


def test_fork_exec_wait(benchmark):
    assert benchmark(_fork_exec_wait) == 0
