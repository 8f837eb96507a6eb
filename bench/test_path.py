"""Path-taking calls, which the sentry traps: open, stat, readlink."""

import errno
import os


def test_open_close(benchmark, fixtures):
    def op():
        os.close(os.open("file", os.O_RDONLY))
    benchmark(op)


def test_stat_three_deep(benchmark, fixtures):
    st = benchmark(os.stat, "d1/d2/file")
    assert st.st_size == 6


def test_open_missing(benchmark, fixtures):
    def op():
        try:
            os.close(os.open("missing", os.O_RDONLY))
        except FileNotFoundError as e:
            return e.errno
        return 0
    assert benchmark(op) == errno.ENOENT


def test_readlink(benchmark, fixtures):
    assert benchmark(os.readlink, "link") == "file"
