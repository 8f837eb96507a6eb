"""fd I/O on fds the app holds (allowed): /dev/zero, /dev/null, a pipe."""

import os

import pytest


@pytest.fixture
def fds():
    z = os.open("/dev/zero", os.O_RDONLY)
    n = os.open("/dev/null", os.O_WRONLY)
    yield z, n
    os.close(z)
    os.close(n)


def test_read_1_byte_dev_zero(benchmark, fds):
    assert benchmark(os.read, fds[0], 1) == b"\0"


def test_write_1_byte_dev_null(benchmark, fds):
    assert benchmark(os.write, fds[1], b"x") == 1


def test_pipe_ping_pong(benchmark):
    """One round trip through two pipes to a child that echoes."""
    ping_r, ping_w = os.pipe()
    pong_r, pong_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ping_w)
        os.close(pong_r)
        while os.read(ping_r, 1):
            os.write(pong_w, b"p")
        os._exit(0)
    os.close(ping_r)
    os.close(pong_w)
    try:
        def op():
            os.write(ping_w, b"p")
            return os.read(pong_r, 1)
        assert benchmark(op) == b"p"
    finally:
        os.close(ping_w)
        os.waitpid(pid, 0)
        os.close(pong_r)
