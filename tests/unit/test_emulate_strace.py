"""strace-format lines of sentry/strace.py."""
import errno
import logging
import os

from sentry import strace


def test_openat_line():
    line = strace.format_call(257, (2**64 - 100, 0x1000, os.O_RDONLY | os.O_CLOEXEC, 0, 0, 0),
                              b"/etc/passwd", 3, pid=42)
    assert line == ('[pid    42] openat(AT_FDCWD, "/etc/passwd", '
                    'O_RDONLY|O_CLOEXEC, 00) = 3')


def test_error_result_and_flags():
    line = strace.format_call(262, (5, 0x10, 0x20, 0x100 | 0x1000, 0, 0), b"",
                              -errno.ENOENT)
    assert line == ('newfstatat(5, "", 0x20, AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH) '
                    '= -1 ENOENT (No such file or directory)')


def test_quoting():
    line = strace.format_call(2, (1, os.O_WRONLY | os.O_CREAT, 0o644, 0, 0, 0),
                              b'a"b\n\xff', 4)
    assert line == 'open("a\\"b\\n\\\\xff", O_WRONLY|O_CREAT, 0644) = 4'


def test_filter_by_name(caplog):
    log = logging.getLogger("test-strace-filter")
    t = strace.Tracer(log, {"mkdir"})
    with caplog.at_level(logging.DEBUG, logger=log.name):
        t.notify_hook(1, 257, (0,) * 6, b"/x", 0, 3)      # openat: filtered out
        t.notify_hook(1, 83, (0, 0o755, 0, 0, 0, 0), b"/d", 0, 0)
        t.notify_hook(1, 59, (0,) * 6, b"/bin/sh", 1, 0)  # continued: no result
    msgs = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert msgs == ['[pid     1] mkdir("/d", 0755) = 0']
