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

from libc.errno cimport (errno, EIO, EROFS, EXDEV, EFAULT, ENAMETOOLONG, ENOENT, EBADF, ENOTDIR,
                         EACCES, EINVAL, ENOSYS, ENXIO, EPERM, ERANGE, E2BIG,
                         EISDIR, EEXIST, ELOOP, ENOMEM, ESRCH, EBUSY,
                         EMFILE, ENFILE)
from libc.string cimport (memchr, memcpy, memmove, strlen, memcmp, strrchr,
                          memset, strstr, strcmp, strncmp)
from libc.stdio cimport snprintf
from libc.stdint cimport uint16_t, uint32_t, int64_t, uint64_t
from libc.stdlib cimport calloc, free

from sentry.gofer._fast cimport (GoferConn, GoferAttr, FastConn,
                                 gofer_open, gofer_stat, GOFER_SLOW)

from sentry.includes.notify cimport *

import os

include "paths.pxi"
include "dcache.pxi"
include "creds.pxi"
include "ids.pxi"
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
include "../fs/devcheck.pxi"
include "../fs/affinity.pxi"
include "../fs/synth.pxi"

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
    c.want_write = 0
    cdef int sw
    if c.nr < 0 or c.nr >= NSYSCALLS or TABLE[c.nr] == NULL:
        c.ret = -ENOSYS
        return
    if TABLE[c.nr] == h_kernel:
        c.action = ACT_CONTINUE
        return
    sw = enter_creds(c)
    c.as_app = sw > 0
    if sw < 0:
        c.ret = sw              # the caller is gone; the answer is lost
        return
    TABLE[c.nr](c)
    if c.caps_dropped or (sw and not c.lazy_creds):
        leave_creds(c)


cdef bint is_trapped(int nr) noexcept nogil:
    return 0 <= nr < NSYSCALLS and TABLE[nr] != NULL


cdef void fs_no_view(Fs *fs) noexcept nogil:
    """``fs`` serves the plain root: no mount table, gofer or cache."""
    fs.nmounts = 0
    fs.mounts = NULL
    fs.gofer = NULL
    fs.view = NULL
    fs.special = False
    fs.dcache = NULL


cdef int fs_init(Fs *fs, int root_fd, int mode) noexcept nogil:
    """Fill ``fs`` for ``root_fd``; returns 0 or -errno."""
    cdef char link[64]
    cdef ssize_t n
    fs.root_fd = root_fd
    fs.mode = mode
    fs_no_view(fs)
    fs.uids.n = 0
    fs.gids.n = 0
    fs.overflow_uid = 65534
    fs.overflow_gid = 65534
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
    register_affinity()


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


cdef class View:
    """One container's filesystem view for the emulation layer: the mount
    table in C, the gofer's fast connection (None: directfs), and the
    Python slow path (``sentry.fs.mounts.Resolver``, the special
    filesystems).  A platform binds it to each ``Fs`` it serves
    (``fs_set_view``) and keeps it alive while it does."""
    cdef MountC *mounts
    cdef int nmounts
    cdef void *dc
    cdef public object table
    cdef public object resolver
    cdef public object fast
    cdef public object special_serve
    cdef public object ctx_args
    cdef public object log

    def __cinit__(self):
        self.mounts = NULL
        self.nmounts = 0
        self.dc = NULL

    def __dealloc__(self):
        free(self.mounts)
        dc_free(<DCache *>self.dc)

    def __init__(self, table, fast=None, gofs=None, ctx_args=None, log=None,
                 int dcache=DCACHE_DEFAULT):
        """``dcache``: slots of the dentry cache of gofer directories
        (dcache.pxi), 0 for none."""
        from sentry.fs.mounts import Resolver, KINDS
        cdef int i
        cdef bytes b
        self.table = table
        self.fast = fast
        self.resolver = Resolver(table, gofs)
        self.ctx_args = dict(ctx_args or {})
        self.log = log
        try:
            from sentry.fs import special
            self.special_serve = special.serve
        except ImportError:
            self.special_serve = None
        n = len(table.entries)
        self.mounts = <MountC *>calloc(max(n, 1), sizeof(MountC))
        if self.mounts == NULL:
            raise MemoryError()
        for i, m in enumerate(table.entries):
            b = m.point.encode("utf-8", "surrogateescape")
            if len(b) >= MOUNT_POINT_MAX:
                raise ValueError(f"mount point too long: {m.point!r}")
            memcpy(self.mounts[i].point, <char *>b, len(b))
            self.mounts[i].point[len(b)] = 0
            self.mounts[i].plen = 0 if b == b"/" else len(b)
            self.mounts[i].kind = KINDS[m.kind]
            self.mounts[i].ro = m.readonly
        self.nmounts = n
        if fast is not None and dcache > 0:
            root = fast.open("/", O_PATH | O_DIRECTORY)
            try:
                self.dc = dc_new(root, dcache)
            finally:
                os.close(root)

    def dcache_stats(self):
        """The dentry cache's counters (tests, benchmarks), or None."""
        cdef DCache *d = <DCache *>self.dc
        cdef int i, used = 0
        if d == NULL:
            return None
        for i in range(d.mask + 1):
            used += d.e[i].fd >= 0
        return {"hits": d.hits, "misses": d.misses, "stale": d.stale,
                "slow": d.slow, "entries": used, "slots": d.mask + 1}

    def close(self):
        """Close the gofer connections (after the platform stopped)."""
        dc_free(<DCache *>self.dc)
        self.dc = NULL
        if self.fast is not None:
            self.fast.close()
        gofs = self.resolver.gofs
        if gofs is not None:
            gofs.c.close()

    @property
    def directfs(self):
        return self.fast is None

    def canonical(self, int root_fd, bytes rel, bint follow):
        r = self.resolver.canonical(root_fd, rel.decode("utf-8",
                                                        "surrogateescape"),
                                    follow)
        if isinstance(r, int):
            return r
        return r.encode("utf-8", "surrogateescape")

    def special(self, int tid, int root_fd, bytes point, bytes rest, str op,
                int flags, int mode):
        from sentry.fs.mounts import SpecialCtx, _tgid
        m = self.table.lookup(point.decode("utf-8", "surrogateescape"))
        try:
            ctx = SpecialCtx(tid=tid, pid=_tgid(tid), root_fd=root_fd,
                             mounts=self.table, **self.ctx_args)
            return self.special_serve(ctx, m.special,
                                      rest.decode("utf-8", "surrogateescape"),
                                      op, flags, mode)
        except Exception:
            if self.log is not None:
                self.log.exception("special %s %r failed", op, rest)
            return -EIO


cdef int fs_set_view(Fs *fs, object view) except -1:
    """Serve ``fs`` through ``view`` (a View, or None for the plain root)."""
    cdef View v
    if view is None:
        fs_no_view(fs)
        return 0
    v = <View?>view
    fs.mounts = v.mounts
    fs.gofer = NULL if v.fast is None else <void *>(<FastConn>v.fast).g
    fs.view = <void *>v
    fs.special = v.special_serve is not None
    fs.nmounts = v.nmounts
    fs.dcache = v.dc
    return 0


def mount_index(View view, bytes path):
    """Test hook: the index in the table of the mount serving ``path``."""
    cdef Fs fs
    fs.mounts = view.mounts
    fs.nmounts = view.nmounts
    return mount_of(&fs, path)


def ids_to_app(int pid, uids, gids):
    """Our ``uids`` and ``gids`` as process ``pid``'s user namespace shows
    them (ids.pxi: unmapped ones as the overflow ids), or None when it
    shares ours."""
    cdef Fs fs
    cdef int r
    fs.uids.n = 0
    fs.gids.n = 0
    with nogil:
        r = fs_set_ids(&fs, pid)
    if r < 0:
        raise OSError(-r, f"reading the user namespace of {pid}")
    if fs.uids.n == 0:
        return None
    return ([uid_to_app(&fs, u) for u in uids],
            [gid_to_app(&fs, g) for g in gids])
