# cython: language_level=3, boundscheck=False, wraparound=False
"""Emulation core: call record helpers, path resolution, dispatch table.

Every path an app names is read once from its memory into the call's own
buffer (so a thread flipping the buffer afterwards changes nothing), turned
into a path relative to the container root (absolute paths as they are;
relative ones joined to the app's cwd or dirfd, which must lie inside the
root), and resolved with ``openat2(root_fd, path, RESOLVE_IN_ROOT |
RESOLVE_NO_MAGICLINKS)``: ``..`` and absolute symlinks stop at the root, as
Linux does inside a chroot.  Operations then act on the resolved fd (``fstat``,
``faccessat2(fd, "", AT_EMPTY_PATH)``, ...) or, for calls that create or
remove a name, on the resolved parent directory and the last component.

Handlers return nothing: they set ``c.action``/``c.ret``/``c.fd``.  Errors
are ``-errno``; nothing here allocates Python objects or takes the GIL.
"""

from libc.errno cimport (errno, EFAULT, ENAMETOOLONG, ENOENT, EBADF, ENOTDIR,
                         EACCES, EINVAL, ENOSYS, ENXIO, EPERM, ERANGE, E2BIG,
                         EISDIR, EEXIST, ELOOP, ENOMEM, ESRCH)
from libc.string cimport (memchr, memcpy, memmove, strlen, memcmp, strrchr,
                          memset, strstr, strcmp)
from libc.stdio cimport snprintf
from libc.stdint cimport uint32_t, int64_t, uint64_t

from sentry.includes.notify cimport *

include "paths.pxi"
include "creds.pxi"
include "open.pxi"
include "stat.pxi"
include "access.pxi"
include "readlink.pxi"
include "exec.pxi"
include "namei.pxi"
include "attr.pxi"
include "xattr.pxi"
include "socket.pxi"
include "misc.pxi"

cdef handler_t TABLE[NSYSCALLS]


cdef void h_enosys(Call *c) noexcept nogil:
    c.action = ACT_RETURN
    c.ret = -ENOSYS


cdef void dispatch(Call *c) noexcept nogil:
    """Run the handler of ``c.nr``; numbers without one get ENOSYS."""
    c.action = ACT_RETURN
    c.ret = 0
    c.fd = -1
    c.fd_flags = 0
    c.slow = SLOW_OPEN
    cdef int sw
    if c.nr < 0 or c.nr >= NSYSCALLS or TABLE[c.nr] == NULL:
        c.ret = -ENOSYS
        return
    if TABLE[c.nr] == h_kernel:
        c.action = ACT_CONTINUE
        return
    sw = enter_creds(c)
    if sw < 0:
        c.ret = sw              # the caller is gone; the answer is lost
        return
    TABLE[c.nr](c)
    if sw:
        leave_creds()


cdef bint is_trapped(int nr) noexcept nogil:
    return 0 <= nr < NSYSCALLS and TABLE[nr] != NULL


cdef int fs_init(Fs *fs, int root_fd, int mode) noexcept nogil:
    """Fill ``fs`` for ``root_fd``; returns 0 or -errno."""
    cdef char link[64]
    cdef ssize_t n
    fs.root_fd = root_fd
    fs.mode = mode
    snprintf(link, sizeof(link), "/proc/self/fd/%d", root_fd)
    n = readlink(link, fs.prefix, PATH_BUF - 1)
    if n < 0:
        return -errno
    if n == 1 and fs.prefix[0] == b'/':
        n = 0                      # the host root: no prefix to strip
    fs.prefix[n] = 0
    fs.prefix_len = <int>n
    return 0


cdef void _register(int nr, handler_t h) noexcept nogil:
    TABLE[nr] = h


def _init_table():
    memset(TABLE, 0, sizeof(TABLE))
    register_open()
    register_stat()
    register_access()
    register_readlink()
    register_exec()
    register_namei()
    register_attr()
    register_xattr()
    register_socket()
    register_misc()


_init_table()


def trapped_numbers():
    """The syscall numbers this layer has a handler for."""
    return [nr for nr in range(NSYSCALLS) if TABLE[nr] != NULL]


cdef class FsRoot:
    """A Python handle on an ``Fs`` (tests and the slow path use it)."""
    cdef Fs fs

    def __init__(self, int root_fd, int mode=FS_PREFIXED):
        cdef int r = fs_init(&self.fs, root_fd, mode)
        if r < 0:
            raise OSError(-r, "reading the root path")

    @property
    def prefix(self):
        return self.fs.prefix[:self.fs.prefix_len].decode("utf-8", "surrogateescape")


PREFIXED = FS_PREFIXED
OWN_NS = FS_OWN_NS
