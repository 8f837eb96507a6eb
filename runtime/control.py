"""Control RPC: the client call and the sandbox's server.

Messages use the framing of sentry/framing.py (length-prefixed JSON, fds as
SCM_RIGHTS), which also serves the init/boot and boot/CLI sync channels
(docs/architecture.md); here its errors become ControlError.
"""
import errno
import logging
import os
import socket
import threading

from runtime import errors
from sentry import framing

log = logging.getLogger(__name__)

MAX_FRAME = framing.MAX_FRAME


def send_msg(sock, obj, fds=()):
    """Send one JSON frame on ``sock``, with ``fds`` as SCM_RIGHTS."""
    framing.send_msg(sock, obj, fds)


def recv_msg(sock):
    """Receive one frame: ``(obj, fds)`` or ``(None, [])`` on EOF.

    A truncated or malformed frame raises ControlError.
    """
    try:
        return framing.recv_msg(sock)
    except framing.FramingError as e:
        raise errors.ControlError(str(e)) from None


def _at_path(op, path):
    """``op(address)`` (a socket's connect or bind) for the unix socket
    ``path``, even when it exceeds sun_path (108 bytes): then through the
    magic link of its directory."""
    if len(os.fsencode(path)) < 108:
        op(path)
        return
    dfd = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY)
    try:
        op(f"/proc/self/fd/{dfd}/{os.path.basename(path)}")
    finally:
        os.close(dfd)


def _connect_path(sock, path):
    """Connect even when ``path`` exceeds sun_path (108 bytes)."""
    _at_path(sock.connect, path)


def bind_path(sock, path):
    """Bind ``sock`` at ``path`` even when it exceeds sun_path."""
    _at_path(sock.bind, path)


def call(sock_path, method, args=None, fds=(), timeout=None):
    """Call ``method`` on the sandbox listening at ``sock_path``.

    Returns ``(result, fds)``.  Errors raised by the server come back as the
    same SandboxError subclass; a dead sandbox raises ControlError.
    """
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        s.settimeout(timeout)
        try:
            _connect_path(s, sock_path)
        except OSError as e:
            raise errors.ControlError(
                f"connecting to sandbox at {sock_path}: {e.strerror}") from None
        try:
            send_msg(s, {"method": method, "args": args or {}}, fds)
            reply, rfds = recv_msg(s)
        except OSError as e:
            raise errors.ControlError(
                f"sandbox RPC {method}: {e.strerror or e}") from None
    finally:
        s.close()
    if reply is None:
        raise errors.ControlError(f"sandbox closed the connection during {method}")
    if "error" in reply:
        for fd in rfds:
            os.close(fd)
        err = reply["error"]
        cls = getattr(errors, err.get("type", ""), None)
        if not (isinstance(cls, type) and issubclass(cls, errors.SandboxError)):
            cls = errors.ControlError
        exc = cls.__new__(cls)
        errors.SandboxError.__init__(exc, err.get("message", "unknown error"))
        raise exc
    return reply.get("result"), rfds


class Reply:
    """A handler result with fds to send and an action to run once sent."""

    def __init__(self, result=None, fds=(), then=None):
        self.result, self.fds, self.then = result, fds, then


class Server:
    """Serves control RPC on a unix socket, one thread per connection.

    ``handlers`` maps a method name to ``fn(args, fds) -> result`` or
    ``-> (result, fds_to_send)`` or ``-> Reply(result, fds, then)`` where
    ``then()`` runs after the reply was sent.  A handler with ``wants_conn = True`` is
    called as ``fn(args, fds, conn)`` and may exchange messages on ``conn``
    before its result is sent (the create protocol of a second container).  A handler raising SandboxError sends that
    error back; any other exception is a bug: it is logged and reported as
    ControlError.
    """

    def __init__(self, path, handlers):
        self.path = path
        self.handlers = handlers
        self.sock = socket.socket(socket.AF_UNIX,
                                  socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        bind_path(self.sock, path)
        os.chmod(path, 0o600)
        self.sock.listen(64)
        self._closed = False

    def serve_forever(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError as e:
                if self._closed or e.errno in (errno.EBADF, errno.EINVAL):
                    return
                log.warning("control accept: %s", e)
                continue
            threading.Thread(target=self._serve_one, args=(conn,),
                             daemon=True).start()

    def _serve_one(self, conn):
        with conn:
            try:
                req, fds = recv_msg(conn)
            except (errors.ControlError, OSError) as e:
                log.warning("control: bad request: %s", e)
                return
            if req is None:
                return
            method = req.get("method") if isinstance(req, dict) else None
            fn = self.handlers.get(method)
            out_fds = ()
            then = None
            try:
                if fn is None:
                    raise errors.ControlError(f"unknown control method {method!r}")
                if getattr(fn, "wants_conn", False):
                    res = fn(req.get("args") or {}, fds, conn)
                else:
                    res = fn(req.get("args") or {}, fds)
                if isinstance(res, tuple):
                    res, out_fds = res
                if isinstance(res, Reply):
                    then, out_fds, res = res.then, res.fds, res.result
                reply = {"result": res}
            except errors.SandboxError as e:
                reply = {"error": {"type": type(e).__name__, "message": str(e)}}
            except Exception as e:  # a bug: log it, answer, keep serving
                log.exception("control method %s failed", method)
                reply = {"error": {"type": "ControlError",
                                   "message": f"{method}: internal error: {e}"}}
            finally:
                for fd in fds:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            try:
                send_msg(conn, reply, out_fds)
            except OSError:
                pass
            if then is not None:
                then()

    def close(self):
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
