"""Helpers for the gofer tests: a server in a forked child over a
SOCK_SEQPACKET socketpair, and a client on the other end.

``SERVERS`` are the two implementations of the hot messages: the C loop
(``sentry/gofer/_serve.pyx``) and the Python handlers; server tests run
against both.

The server runs in its own process because it sets process-wide state
(umask 0, cwd = its /proc/self/fd) that must not leak into pytest.
"""
import contextlib
import logging
import os
import signal
import socket

import pytest

from runtime import gofer
from sentry.gofer import client as gc


SERVERS = [pytest.param(True, id="c"), pytest.param(False, id="py")]


def fork_server(root, socks, readonly=False, close=()):
    """Fork a child serving ``root`` on each of ``socks`` (one thread per
    connection); returns its pid.  The child closes ``close`` (the client
    ends) and exits when all connections are closed."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for s in close:
                s.close()
            root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
            srv = gofer.Server(root_fd, gofer.open_proc_fd(),
                               readonly=readonly)
            srv.prepare_process()
            threads = [srv.serve_in_thread(s) for s in socks]
            for t in threads:
                t.join()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid


def reap(pid):
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@contextlib.contextmanager
def served(root, n=1, readonly=False):
    """Yield ``n`` client-side sockets connected to a forked server."""
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
             for _ in range(n)]
    pid = fork_server(root, [b for _, b in pairs], readonly,
                      [a for a, _ in pairs])
    for _, b in pairs:
        b.close()
    try:
        yield pid, [a for a, _ in pairs]
    finally:
        for a, _ in pairs:
            a.close()
        reap(pid)


@contextlib.contextmanager
def gofer_fs(root, readonly=False):
    """Yield a ``GoferFs`` on a forked server of ``root``."""
    with served(root, 1, readonly) as (pid, socks):
        c = gc.Client(socks[0])
        try:
            yield gc.GoferFs(c)
        finally:
            c.close()


class ServerFactory:
    """A forked server that serves every socket handed to it: ``connect()``
    makes a new SOCK_SEQPACKET pair, sends one end to the child over a
    control socket (SCM_RIGHTS) and returns the other."""

    def __init__(self, root, readonly=False, accel=True):
        # the child's log: a handler bug must show up in the tests
        self.log = os.path.join(os.path.dirname(os.fspath(root)),
                                f"gofer-{os.getpid()}.log")
        self.ctl, child = socket.socketpair(socket.AF_UNIX,
                                            socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            code = 0
            try:
                self.ctl.close()
                logging.basicConfig(filename=self.log, force=True)
                root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
                srv = gofer.Server(root_fd, gofer.open_proc_fd(),
                                   readonly=readonly, accel=accel)
                srv.prepare_process()
                while True:
                    _, fds, _, _ = socket.recv_fds(child, 1, 1)
                    if not fds:
                        break
                    srv.serve_in_thread(socket.socket(fileno=fds[0]))
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        child.close()
        self._open = []

    def bugs(self):
        """Lines of the child's log that report a bug in a handler."""
        try:
            with open(self.log) as f:
                return [ln for ln in f if "bug" in ln or "Traceback" in ln]
        except FileNotFoundError:
            return []

    def connect(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        socket.send_fds(self.ctl, [b"s"], [b.fileno()])
        b.close()
        self._open.append(a)
        return a

    def client(self):
        return gc.Client(self.connect())

    def alive(self):
        return os.waitpid(self.pid, os.WNOHANG) == (0, 0)

    def close(self):
        self.ctl.close()
        for a in self._open:
            a.close()
        reap(self.pid)
