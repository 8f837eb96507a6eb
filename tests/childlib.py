"""A check in a forked child, for tests that change the process for good
(install a seccomp filter, drop privileges): ``in_child`` runs it and
reports (``fork_child`` and ``child_result`` when the test acts while the
child runs), ``raw`` makes a syscall the filter judges, not a libc wrapper.

Importable as ``tests.childlib``.
"""
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def raw(nr, *args):
    """syscall(nr, *args) -> (result, errno)."""
    ctypes.set_errno(0)
    res = libc.syscall(ctypes.c_long(nr),
                       *[ctypes.c_ulong(a & 0xFFFFFFFFFFFFFFFF) for a in args])
    return res, (ctypes.get_errno() if res == -1 else 0)


def in_child(body):
    """Run ``body()`` in a forked child; return (wait status, message).

    ``body`` returns None on success or a message saying what went wrong;
    the child exits 0, 1 (message) or 2 (exception).
    """
    return child_result(*fork_child(body))


def fork_child(body, output=False):
    """Start ``in_child``'s child and return (pid, read end of its pipe),
    for a test that acts while the child runs; ``child_result`` ends it.
    With ``output``, what ``body`` returns is the child's report of
    success (it exits 0), not a message of failure."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            os.close(r)
            msg = body()
            code = 0 if msg is None or output else 1
            if msg:
                os.write(w, str(msg).encode())
        except BaseException as e:  # report anything, never return
            try:
                os.write(w, f"{type(e).__name__}: {e}".encode())
            except BaseException:
                pass
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def child_result(pid, r):
    """Wait for ``fork_child``'s child: (wait status, message)."""
    try:
        with os.fdopen(r, "rb") as f:
            out = f.read().decode(errors="replace")
    finally:
        _, status = os.waitpid(pid, 0)
    return status, out


def assert_ok(result):
    """The child of ``in_child`` exited 0."""
    status, out = result
    assert os.waitstatus_to_exitcode(status) == 0, (status, out)
