"""The emulation layer's dispatch table matches THE syscall table."""
from sentry import filter as sfilter
from sentry import syscalls
from sentry.emulate import _core


def test_every_trapped_syscall_has_a_handler():
    missing = sorted(set(sfilter.trapped_numbers()) - set(_core.trapped_numbers()))
    assert missing == [], [syscalls.lookup(n).name for n in missing]


def test_no_handler_for_untrapped_syscalls():
    extra = sorted(set(_core.trapped_numbers()) - set(sfilter.trapped_numbers()))
    assert extra == [], [syscalls.lookup(n).name for n in extra]


def test_fsroot_prefix(tmp_path):
    import os
    fd = os.open(tmp_path, os.O_PATH)
    try:
        assert _core.FsRoot(fd).prefix == str(tmp_path)
    finally:
        os.close(fd)
    fd = os.open("/", os.O_PATH)
    try:
        assert _core.FsRoot(fd).prefix == ""     # the host root: nothing to strip
    finally:
        os.close(fd)
