"""Network set-up of a container's own network namespace.

A new network namespace starts with a loopback interface that is down;
runc leaves the rest to the engine, and so do we.  "--network=none" means
loopback only, up - as runsc does.
"""
import ctypes
import fcntl
import os
import socket
import struct
import threading

from runtime import errors

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_libc = ctypes.CDLL(None, use_errno=True)


def _lo_up_here():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo",
                                                 flags | IFF_UP))
    finally:
        s.close()


def loopback_up(pid):
    """Bring ``lo`` up in the network namespace of ``pid``.

    Runs in a short-lived thread: setns(CLONE_NEWNET) changes only the
    calling thread, which then exits, so boot's own namespace is untouched.
    """
    err = []

    def work():
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
            _lo_up_here()
        except OSError as e:
            err.append(e)
        finally:
            os.close(fd)

    t = threading.Thread(target=work, name="netns-lo")
    t.start()
    t.join()
    if err:
        raise errors.ProcessError(f"bringing up loopback: {err[0].strerror}",
                                  stage="network", errno=err[0].errno)
