# The nogil fast path of the gofer client: the contract for the emulation
# layer (sentry/emulate), which calls these from its loop thread without
# the GIL.  One GoferConn per thread: it owns its socket and its scratch fid.
#
# Every function returns a value >= 0, -errno (the syscall's answer), or
# GOFER_SLOW: the path needs the Python client (sentry/gofer/client.py:
# GoferFs) - a symlink on the way, ".", "..", a trailing slash, a create
# race, a walk longer than the protocol's MAX_WALK.

from libc.stdint cimport uint16_t, uint32_t, uint64_t, int64_t

cdef enum:
    GOFER_SLOW = -100000
    GOFER_OUT_BUF = 8192
    GOFER_IN_BUF = 32768

ctypedef packed struct GoferAttr:
    uint32_t mode
    uint64_t nlink
    uint32_t uid
    uint32_t gid
    uint64_t rdev
    uint64_t size
    uint32_t blksize
    uint64_t blocks
    int64_t atime_sec
    uint32_t atime_nsec
    int64_t mtime_sec
    uint32_t mtime_nsec
    int64_t ctime_sec
    uint32_t ctime_nsec
    uint64_t ino
    uint64_t dev

ctypedef struct GoferConn:
    int sock
    int dead
    uint32_t root
    uint32_t fid
    uint16_t tag
    uint32_t msize
    int last_len                  # offset of the last name in ``out``
    char out[GOFER_OUT_BUF]
    char inb[GOFER_IN_BUF]
    # set by the caller for an unprivileged app: the walk's directories
    # must allow it to search them (0, or -EACCES), judged from the
    # attributes the walk returns - path_resolution(7); NULL: no check
    int (*may_search)(void *ctx, const GoferAttr *a) noexcept nogil
    void *perm_ctx

cdef int gofer_open(GoferConn *g, const char *path, int flags, uint32_t mode,
                    uint32_t uid, uint32_t gid) noexcept nogil
cdef int gofer_stat(GoferConn *g, const char *path, bint follow,
                    GoferAttr *out) noexcept nogil
cdef int gofer_unlink(GoferConn *g, const char *path, int flags) noexcept nogil
cdef int gofer_mkdir(GoferConn *g, const char *path, uint32_t mode,
                     uint32_t uid, uint32_t gid) noexcept nogil


cdef class FastConn:
    cdef GoferConn *g
    cdef object _sock
