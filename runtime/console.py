"""Consoles: the container's pty and the console-socket protocol.

When ``process.terminal`` is true the child opens /dev/ptmx of the
container's own devpts instance, sends the master over the console socket
(runc's protocol: one ``sendmsg`` whose data is the master's name and whose
SCM_RIGHTS carries the fd), and makes the slave its controlling terminal and
stdio.  ``recv_console`` is the receiving end, used by the CLI's ``run -t``
proxy and by tests.
"""
import array
import fcntl
import os
import socket
import struct
import termios

from runtime.errors import ProcessError
from sentry import _sys

PTMX_NAME = b"/dev/ptmx"
# <asm-generic/ioctls.h>
_TIOCGPTN = 0x80045430   # _IOR('T', 0x30, unsigned int)
_TIOCSPTLCK = 0x40045431  # _IOW('T', 0x31, int)


def open_pty(size=None):
    """Open a new pty pair on /dev/ptmx; returns ``(master, slave, path)``."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
        n = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN,
                                           struct.pack("I", 0)))[0]
        path = f"/dev/pts/{n}"
        slave = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except BaseException:
        os.close(master)
        raise
    if size:
        set_size(slave, size.get("height", 0), size.get("width", 0))
    return master, slave, path


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def send_console(console_fd, master):
    """Send ``master`` over the connected console socket ``console_fd``."""
    s = socket.socket(fileno=os.dup(console_fd))
    try:
        s.sendmsg([PTMX_NAME], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                 array.array("i", [master]).tobytes())])
    finally:
        s.close()


def recv_console(sock):
    """Receive a pty master sent by ``send_console``; returns the fd."""
    fdsize = array.array("i").itemsize
    data, anc, _flags, _ = sock.recvmsg(4096, socket.CMSG_SPACE(fdsize))
    for level, typ, cdata in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(cdata[:len(cdata) - len(cdata) % fdsize])
            for extra in a[1:]:
                os.close(extra)
            if a:
                return a[0]
    raise ProcessError("console socket: no pty master received (got "
                       f"{data!r})", stage="console")


def setup_terminal(process, console_fd, bind_console=False):
    """In the child: create the pty, hand the master over the console
    socket, make the slave the controlling terminal and stdio.

    With ``bind_console`` (init) the slave is also bound on /dev/console.
    """
    if console_fd is None:
        raise ProcessError("process.terminal: no console socket was given",
                           stage="console")
    try:
        master, slave, path = open_pty(process.get("consoleSize"))
    except OSError as e:
        raise ProcessError(f"process.terminal: opening /dev/ptmx: "
                           f"{e.strerror}", stage="console",
                           errno=e.errno) from None
    try:
        if bind_console and os.path.exists("/dev/console"):
            _sys.mount(path, "/dev/console", None, _sys.MS_BIND)
        send_console(console_fd, master)
    except OSError as e:
        raise ProcessError(f"process.terminal: {e.strerror}", stage="console",
                           errno=e.errno) from None
    finally:
        os.close(master)
    try:
        os.close(console_fd)
    except OSError:
        pass
    try:
        os.setsid()
    except PermissionError:
        pass  # already a session leader
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for i in range(3):
        os.dup2(slave, i, inheritable=True)
    if slave > 2:
        os.close(slave)
