"""Control RPC framing and server error mapping."""
import os
import socket
import struct
import threading

import pytest

from runtime import control, errors


def test_roundtrip_with_fds():
    a, b = socket.socketpair()
    r, w = os.pipe()
    try:
        control.send_msg(a, {"x": [1, 2]}, [r, w])
        obj, fds = control.recv_msg(b)
        assert obj == {"x": [1, 2]} and len(fds) == 2
        os.write(fds[1], b"hi")
        assert os.read(r, 2) == b"hi"
        for fd in fds:
            os.close(fd)
    finally:
        os.close(r), os.close(w), a.close(), b.close()


def test_eof_and_truncation():
    a, b = socket.socketpair()
    a.sendall(struct.pack(">I", 10) + b"{}")
    a.close()
    with pytest.raises(errors.ControlError, match="closed after 2 of 10"):
        control.recv_msg(b)
    b.close()
    a, b = socket.socketpair()
    a.close()
    assert control.recv_msg(b) == (None, [])
    b.close()


def test_malformed_and_oversized():
    a, b = socket.socketpair()
    a.sendall(struct.pack(">I", 3) + b"{x}")
    with pytest.raises(errors.ControlError, match="malformed"):
        control.recv_msg(b)
    a.sendall(struct.pack(">I", control.MAX_FRAME + 1))
    with pytest.raises(errors.ControlError, match="too large"):
        control.recv_msg(b)
    a.close(), b.close()


def test_server_maps_errors(tmp_path):
    def boom(args, fds):
        raise errors.InvalidStateError("start", args["cid"], "stopped")

    path = str(tmp_path / ("d" * 120) )
    os.makedirs(path)
    sock = os.path.join(path, "control.sock")   # longer than sun_path
    srv = control.Server(sock, {"echo": lambda a, f: a, "boom": boom,
                                "bug": lambda a, f: 1 / 0})
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        assert control.call(sock, "echo", {"v": 1})[0] == {"v": 1}
        with pytest.raises(errors.InvalidStateError,
                           match='cannot start container "c" in state stopped'):
            control.call(sock, "boom", {"cid": "c"})
        with pytest.raises(errors.ControlError, match="internal error"):
            control.call(sock, "bug")
        with pytest.raises(errors.ControlError, match="unknown control method"):
            control.call(sock, "nope")
    finally:
        srv.close()
    with pytest.raises(errors.ControlError, match="connecting to sandbox"):
        control.call(sock, "echo")
