"""Identity calls: getpid (allowed) and getppid (emulated by the sentry)."""

import os


def test_getpid(benchmark):
    benchmark(os.getpid)


def test_getppid(benchmark):
    benchmark(os.getppid)
