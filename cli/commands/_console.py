"""The pty proxy of ``run`` and ``exec`` for a terminal process.

With ``process.terminal`` and no ``--console-socket``, the CLI is the
console: it listens on a private console socket, receives the pty master
the container sends there (SCM_RIGHTS, as with any console socket), puts
its own terminal in raw mode and copies bytes both ways, resizing the pty
on SIGWINCH.  Receiving the master is runtime/console.py's
``recv_console``; the copying belongs to the CLI's own terminal, so it
lives here.
"""
import contextlib
import fcntl
import logging
import os
import shutil
import signal
import socket
import tempfile
import termios
import threading
import tty

from cli.commands import _util
from runtime import console
from runtime.errors import SandboxError

log = logging.getLogger(__name__)

ACCEPT_TIMEOUT = 30
_THREAD_BLOCKED = set(_util.FORWARDED) | {signal.SIGCHLD, signal.SIGWINCH}


class ConsoleProxy:
    """A console socket of our own and the copy loops over its pty."""

    def __init__(self, stdin=0, stdout=1):
        self.stdin, self.stdout = stdin, stdout
        self._dir = tempfile.mkdtemp(prefix="pyrunsc-console-")
        self.path = os.path.join(self._dir, "console.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(1)
        self.master = None
        self._saved = None
        self._out = None

    def receive(self, timeout=ACCEPT_TIMEOUT):
        """Take the pty master sent to our socket; SandboxError if none."""
        self._sock.settimeout(timeout)
        try:
            conn, _ = self._sock.accept()
        except socket.timeout:
            raise SandboxError("console: no pty master arrived on the "
                               "console socket") from None
        with conn:
            conn.settimeout(timeout)
            try:
                self.master = console.recv_console(conn)
            except socket.timeout:
                raise SandboxError("console: no pty master arrived on the "
                                   "console socket") from None
        return self.master

    def start(self):
        """Raw mode on our terminal, window size, and the copy threads."""
        self.resize()
        if os.isatty(self.stdin):
            self._saved = termios.tcgetattr(self.stdin)
            tty.setraw(self.stdin)
        # The copy threads never take the signals that the main thread
        # waits for with sigwaitinfo (they inherit this mask).
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _THREAD_BLOCKED)
        try:
            threading.Thread(target=self._copy,
                             args=(self.stdin, self.master),
                             name="pyrunsc-tty-in", daemon=True).start()
            self._out = threading.Thread(target=self._copy,
                                         args=(self.master, self.stdout),
                                         name="pyrunsc-tty-out", daemon=True)
            self._out.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def resize(self):
        """Give the pty the size of our terminal (SIGWINCH handler)."""
        if self.master is None:
            return
        for fd in (self.stdin, self.stdout):
            if os.isatty(fd):
                size = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
                with contextlib.suppress(OSError):
                    fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)
                return

    @staticmethod
    def _copy(src, dst):
        while True:
            try:
                data = os.read(src, 65536)
            except OSError:     # EIO: every slave end is closed
                return
            if not data:
                return
            try:
                while data:
                    data = data[os.write(dst, data):]
            except OSError:
                return

    def close(self, drain=1.0):
        """Let the output drain, restore the terminal, free everything."""
        if self._out is not None:
            self._out.join(drain)
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.stdin, termios.TCSADRAIN, self._saved)
            self._saved = None
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        # The copy threads may still hold the master; closing it under them
        # ends their reads.
        if self.master is not None and (self._out is None
                                        or not self._out.is_alive()):
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
