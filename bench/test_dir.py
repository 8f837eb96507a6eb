"""Directory reading: getdents64 of a 100-entry directory."""

import os


def test_getdents_100(benchmark, fixtures):
    fd = os.open("dir100", os.O_RDONLY | os.O_DIRECTORY)
    try:
        def op():
            os.lseek(fd, 0, os.SEEK_SET)
            return len(os.listdir(fd))
        assert benchmark(op) == 100
    finally:
        os.close(fd)
