"""The one framing of pyrunsc's JSON messages on unix sockets.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON; file descriptors travel as SCM_RIGHTS on the ``sendmsg`` that carries
the first bytes of the frame.  Boot's control RPC (runtime/control.py), the
create/start sync channels and the platforms' child hooks all use it.  A leaf
module: ``sentry`` may not import ``runtime``, so the framing lives here.
"""
import array
import json
import os
import socket
import struct

MAX_FRAME = 16 << 20
MAX_FDS = 64
_HDR = struct.Struct(">I")
_FDSIZE = array.array("i").itemsize


class FramingError(ValueError):
    """A truncated, oversized or malformed frame."""


def send_msg(sock, obj, fds=()):
    """Send one JSON frame on ``sock``, with ``fds`` as SCM_RIGHTS."""
    data = json.dumps(obj, separators=(",", ":")).encode()
    frame = _HDR.pack(len(data)) + data
    anc = []
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                array.array("i", list(fds)).tobytes())]
    sent = sock.sendmsg([frame], anc)
    if sent < len(frame):
        sock.sendall(frame[sent:])


def recv_msg(sock):
    """Receive one frame; return ``(obj, fds)`` or ``(None, [])`` on EOF.

    A bad frame raises FramingError; fds received with it are closed, so
    nothing leaks.
    """
    fds = []
    try:
        head = _recv_exact(sock, _HDR.size, fds)
        if head is None:
            for fd in fds:
                os.close(fd)
            return None, []
        (n,) = _HDR.unpack(head)
        if n > MAX_FRAME:
            raise FramingError(f"control frame too large ({n} bytes)")
        body = _recv_exact(sock, n, fds) if n else b""
        if body is None:
            raise FramingError("control connection closed mid-frame")
        try:
            obj = json.loads(body)
        except ValueError as e:
            raise FramingError(f"malformed control frame: {e}") from None
        return obj, fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _recv_exact(sock, n, fds):
    buf = b""
    while len(buf) < n:
        data, anc, flags, _ = sock.recvmsg(
            n - len(buf), socket.CMSG_SPACE(MAX_FDS * _FDSIZE))
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(cdata[:len(cdata) - len(cdata) % _FDSIZE])
                fds.extend(a)
        if flags & getattr(socket, "MSG_CTRUNC", 8):
            raise FramingError("control message carried too many fds")
        if not data:
            if buf:
                raise FramingError(f"control connection closed after "
                                   f"{len(buf)} of {n} bytes")
            return None
        buf += data
    return buf
