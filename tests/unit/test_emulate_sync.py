"""The platforms' sync framing (sentry/platform/base.py) is the control
framing of runtime/control.py: boot reads what the child hook sends."""
import os
import socket

from runtime import control
from sentry.platform import base


def test_child_to_boot_with_fd():
    a, b = socket.socketpair()
    r, w = os.pipe()
    try:
        base.send_msg(a, {"type": "platform", "platform": "seccomp"}, [r])
        msg, fds = control.recv_msg(b)
        assert msg == {"type": "platform", "platform": "seccomp"}
        assert len(fds) == 1
        os.write(w, b"k")
        assert os.read(fds[0], 1) == b"k"
        os.close(fds[0])
    finally:
        for fd in (r, w):
            os.close(fd)
        a.close()
        b.close()


def test_boot_to_child_continue():
    a, b = socket.socketpair()
    try:
        control.send_msg(b, {"type": "continue"})
        base.expect_continue(a)
        control.send_msg(b, {"type": "abort"})
        try:
            base.expect_continue(a)
        except OSError:
            pass
        else:
            raise AssertionError("a reply other than continue was accepted")
        b.close()
        assert base.recv_msg(a) == (None, [])
    finally:
        a.close()
