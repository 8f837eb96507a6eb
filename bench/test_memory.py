"""Memory mapping: mmap+munmap of 4 KiB anonymous memory."""

import mmap


def test_mmap_munmap_4k(benchmark):
    def op():
        m = mmap.mmap(-1, 4096)
        m.close()
    benchmark(op)
