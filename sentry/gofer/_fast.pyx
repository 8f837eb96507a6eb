# cython: language_level=3, boundscheck=False, wraparound=False
"""The gofer client's fast path: open, stat, unlink and mkdir of a path in
one pipelined round trip, in C, without the GIL.

The emulation layer calls ``gofer_*`` (declared in ``_fast.pxd``) from its
loop thread.  Each call encodes ``Twalk(root, fid, names)``, the operation on
that fid and ``Tclunk(fid)`` (the frames of ``proto.py``), sends them back
to back and reads the three replies.  Anything beyond the common case - a
symlink on the way, ``.``/``..``, a trailing slash, a create race - returns
GOFER_SLOW, and the caller asks the Python client (``GoferFs``), which
resolves symlinks inside the root.  A dead gofer gives -EIO, at once and
forever after.

Nothing here allocates Python objects or raises; ``FastConn`` is the
Python handle (handshake, tests, benchmarks).
"""

from libc.errno cimport (errno, EIO, EACCES, ENOENT, ENAMETOOLONG, EEXIST, EINTR,
                         ELOOP)
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset, strlen

import os
import socket as _socket

from sentry.gofer._wire cimport (
    iovec, msghdr, cmsghdr, mmsghdr, sendmmsg, CMSG_FIRSTHDR, CMSG_NXTHDR,
    CMSG_DATA, CMSG_LEN, SOL_SOCKET, SCM_RIGHTS, MSG_CMSG_CLOEXEC, MSG_TRUNC,
    MSG_CTRUNC, MSG_NOSIGNAL, HDR, ATTR, NAME_MAX, MAX_WALK, NOFID, put16,
    put32, get16, get32, put_header, msg_init, send_record, recv_record)

from sentry.gofer import proto as P

cdef extern from "<unistd.h>" nogil:
    int close(int fd)

cdef extern from "<fcntl.h>" nogil:
    int O_CREAT, O_EXCL, O_NOFOLLOW

# message ids and sizes - proto.py (checked at import below)
cdef enum:
    M_RERROR = 1
    M_ROK = 2
    M_TWALK = 7
    M_RWALK = 8
    M_TOPEN = 9
    M_ROPEN = 10
    M_TCREATE = 11
    M_RCREATE = 12
    M_TMKDIR = 13
    M_RNODE = 17
    M_TUNLINK = 18
    M_TCLUNK = 31

assert P.Twalk.ID == M_TWALK and P.Rwalk.ID == M_RWALK
assert P.Topen.ID == M_TOPEN and P.Ropen.ID == M_ROPEN
assert P.Tcreate.ID == M_TCREATE and P.Rcreate.ID == M_RCREATE
assert P.Tmkdir.ID == M_TMKDIR and P.Rnode.ID == M_RNODE
assert P.Tunlink.ID == M_TUNLINK and P.Tclunk.ID == M_TCLUNK
assert P.Rerror.ID == M_RERROR and P.Rok.ID == M_ROK
assert P._ATTR.size == ATTR == sizeof(GoferAttr)
assert P.NAME_MAX == NAME_MAX and P.MAX_WALK == MAX_WALK
assert P.HEADER.size == HDR


cdef inline int header(GoferConn *g, char *p, uint32_t size,
                       uint8_t mid) noexcept nogil:
    g.tag = (g.tag + 1) & 0x7FFF
    put_header(p, size, mid, g.tag)
    return g.tag


cdef int walk_frame(GoferConn *g, const char *path, uint32_t newfid,
                    int *nnames) noexcept nogil:
    """Twalk(root, newfid, names of path) at ``g.out``; its length, or
    -errno, or GOFER_SLOW.  ``g.last_len`` = offset of the last name."""
    cdef char *o = g.out
    cdef int off = HDR + 10, n = 0, i = 0, j, k
    cdef size_t plen = strlen(path)
    if plen == 0:
        return -ENOENT
    if plen >= 4096:
        return -ENAMETOOLONG
    if path[plen - 1] == b'/' and plen > 1:
        return GOFER_SLOW                 # "name/" rules: the slow path
    g.last_len = off
    while path[i] != 0:
        while path[i] == b'/':
            i += 1
        if path[i] == 0:
            break
        j = i
        while path[j] != 0 and path[j] != b'/':
            j += 1
        k = j - i
        if k > NAME_MAX:
            return -ENAMETOOLONG
        if path[i] == b'.' and (k == 1 or (k == 2 and path[i + 1] == b'.')):
            return GOFER_SLOW
        if n == MAX_WALK:
            return GOFER_SLOW
        g.last_len = off
        put16(o + off, <uint16_t>k)
        memcpy(o + off + 2, path + i, k)
        off += 2 + k
        n += 1
        i = j
    put32(o + HDR, g.root)
    put32(o + HDR + 4, newfid)
    put16(o + HDR + 8, <uint16_t>n)
    header(g, o, off, M_TWALK)
    nnames[0] = n
    return off


cdef int fail(GoferConn *g) noexcept nogil:
    if not g.dead:
        g.dead = 1
    return -EIO


cdef int send_frames(GoferConn *g, char *a, int alen, char *b, int blen,
                     char *c, int clen) noexcept nogil:
    """Three records in one sendmmsg(2): the server wakes once for the
    pipelined walk, op and clunk (a wake-up across CPUs costs more than
    the messages)."""
    cdef mmsghdr m[3]
    cdef iovec v[3]
    cdef int r, i, done = 0
    v[0].iov_base = a
    v[0].iov_len = alen
    v[1].iov_base = b
    v[1].iov_len = blen
    v[2].iov_base = c
    v[2].iov_len = clen
    memset(m, 0, sizeof(m))
    for i in range(3):
        m[i].msg_hdr.msg_iov = &v[i]
        m[i].msg_hdr.msg_iovlen = 1
    while done < 3:
        r = sendmmsg(g.sock, &m[done], 3 - done, MSG_NOSIGNAL)
        if r < 0:
            if errno == EINTR:
                continue
            return fail(g)
        for i in range(done, done + r):
            if m[i].msg_len != v[i].iov_len:
                return fail(g)
        done += r
    return 0


cdef int recv_reply(GoferConn *g, uint16_t tag, int *fd) noexcept nogil:
    """One reply into ``g.inb``; returns its type id or -EIO.  ``fd`` gets
    a received fd (or -1)."""
    cdef msghdr m
    cdef iovec v
    cdef char ctl[64]
    cdef cmsghdr *c
    cdef ssize_t n
    cdef int got = -1
    msg_init(&m, &v, g.inb, GOFER_IN_BUF, ctl, sizeof(ctl))
    n = recv_record(g.sock, &m, MSG_CMSG_CLOEXEC)
    c = CMSG_FIRSTHDR(&m) if n > 0 else NULL
    while c != NULL:
        if c.cmsg_level == SOL_SOCKET and c.cmsg_type == SCM_RIGHTS:
            if got >= 0 or c.cmsg_len != CMSG_LEN(sizeof(int)):
                if got >= 0:
                    close(got)
                return fail(g)
            memcpy(&got, CMSG_DATA(c), sizeof(int))
        c = CMSG_NXTHDR(&m, c)
    fd[0] = got
    if (n < HDR or m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)
            or get32(g.inb) != <uint32_t>n or get16(g.inb + 5) != tag):
        if got >= 0:
            close(got)
            fd[0] = -1
        return fail(g)
    return <uint8_t>g.inb[4]


cdef int reply_errno(GoferConn *g, int mid) noexcept nogil:
    """0 for a success id, -errno for Rerror."""
    if mid == M_RERROR:
        return -<int>get32(g.inb + HDR)
    return 0


cdef int send3(GoferConn *g, int wlen, char *op, int oplen) noexcept nogil:
    """Send the walk at ``g.out``, ``op`` and ``Tclunk(g.fid)``; the
    clunk's tag is ``g.tag`` afterwards.  0 or -EIO."""
    cdef char clunk[11]
    header(g, clunk, 11, M_TCLUNK)
    put32(clunk + HDR, g.fid)
    return send_frames(g, g.out, wlen, op, oplen, clunk, 11)


cdef bint search_denied(GoferConn *g, int n) noexcept nogil:
    cdef GoferAttr a
    cdef int i
    for i in range(n):
        memcpy(&a, g.inb + HDR + 6 + i * ATTR, ATTR)
        if g.may_search(g.perm_ctx, &a) < 0:
            return True
    return False


cdef int walk_result(GoferConn *g, int mid, int nnames, bint follow_last,
                     GoferAttr *attr) noexcept nogil:
    """Judge an Rwalk/Rerror in g.inb: 0 when every name was walked and no
    symlink is to be followed (``attr`` = the last one's), -errno,
    GOFER_SLOW, or ``1 + k`` when name ``k`` (0-based) was missing after
    walking ``k`` names (ENOENT of a creatable last name)."""
    cdef uint32_t e
    cdef uint16_t count
    cdef uint16_t linklen
    if mid == M_RERROR:
        e = get32(g.inb + HDR)
        if e == ENOENT:
            return 1
        return -<int>e
    if mid != M_RWALK:
        return fail(g)
    e = get32(g.inb + HDR)
    count = get16(g.inb + HDR + 4)
    if HDR + 6 + <int>count * ATTR + 2 > <int>get32(g.inb):
        return fail(g)
    linklen = get16(g.inb + HDR + 6 + count * ATTR)
    if g.may_search != NULL and count > 0:
        # every directory a name was looked up in: all walked ones but
        # the last, and the last too when a lookup in it failed
        if search_denied(g, count if e != 0 else count - 1):
            return -EACCES
    if e != 0:
        if e == ENOENT and linklen == 0:
            return 1 + count
        return -<int>e
    if linklen != 0 and (count < nnames or follow_last):
        return GOFER_SLOW
    if count > 0 and attr != NULL:
        memcpy(attr, g.inb + HDR + 6 + (count - 1) * ATTR, ATTR)
    return 0


cdef int exchange(GoferConn *g, int wlen, char *op, int oplen, int nnames,
                  bint follow_last, int *wres, int *opid, int *fd,
                  int *operr) noexcept nogil:
    """Walk + op + clunk; the walk's verdict in ``wres``, the op's reply
    id in ``opid``, its -errno in ``operr`` and fd in ``fd``."""
    cdef int mid, dummy
    cdef uint16_t t0 = get16(g.out + 5)
    cdef uint16_t t1 = get16(op + 5)
    cdef uint16_t t2
    if g.dead:
        return -EIO
    if send3(g, wlen, op, oplen) < 0:
        return -EIO
    t2 = g.tag
    mid = recv_reply(g, t0, &dummy)
    if mid < 0:
        return mid
    if dummy >= 0:
        close(dummy)
        return fail(g)
    wres[0] = walk_result(g, mid, nnames, follow_last, NULL)
    if wres[0] == -EIO and g.dead:
        return -EIO
    mid = recv_reply(g, t1, fd)
    if mid < 0:
        return mid
    opid[0] = mid
    operr[0] = reply_errno(g, mid)
    mid = recv_reply(g, t2, &dummy)
    if mid < 0:
        if fd[0] >= 0:
            close(fd[0])
            fd[0] = -1
        return mid
    if dummy >= 0:
        close(dummy)
        return fail(g)
    return 0


cdef int parent_frame(GoferConn *g, int wlen, int nnames) noexcept nogil:
    """Cut the walk at ``g.out`` to its parent: one name fewer."""
    put32(g.out, g.last_len)
    put16(g.out + HDR + 8, <uint16_t>(nnames - 1))
    return g.last_len


cdef int gofer_open(GoferConn *g, const char *path, int flags, uint32_t mode,
                    uint32_t uid, uint32_t gid) noexcept nogil:
    """open(2) of ``path`` (absolute inside the root): fd, -errno, SLOW."""
    cdef char op[512]
    cdef int n = 0, wlen, r, wres = 0, opid = 0, fd = -1, operr = 0, k
    cdef int namelen
    cdef bint creat = flags & O_CREAT
    cdef bint nofollow = (flags & O_NOFOLLOW) != 0
    wlen = walk_frame(g, path, g.fid, &n)
    if wlen < 0:
        return wlen
    if not (creat and flags & O_EXCL):
        header(g, op, HDR + 8, M_TOPEN)
        put32(op + HDR, g.fid)
        put32(op + HDR + 4, <uint32_t>flags)
        r = exchange(g, wlen, op, HDR + 8, n, not nofollow, &wres, &opid,
                     &fd, &operr)
        if r < 0:
            return r
        if wres == 0:
            if opid == M_ROPEN and fd >= 0:
                return fd
            if fd >= 0:
                close(fd)
            return operr if operr < 0 else fail(g)
        if fd >= 0:
            close(fd)
        if wres < 0:               # -errno or GOFER_SLOW
            return wres
        if not creat or wres != n:  # a missing directory on the way
            return -ENOENT
        # only the last name is missing: create it
        wlen = walk_frame(g, path, g.fid, &n)
    if n == 0:
        return GOFER_SLOW
    namelen = get16(g.out + g.last_len)
    k = HDR + 8 + 2 + namelen + 16
    header(g, op, k, M_TCREATE)
    put32(op + HDR, g.fid)
    put32(op + HDR + 4, NOFID)
    put16(op + HDR + 8, <uint16_t>namelen)
    memcpy(op + HDR + 10, g.out + g.last_len + 2, namelen)
    put32(op + HDR + 10 + namelen, <uint32_t>flags)
    put32(op + HDR + 14 + namelen, mode)
    put32(op + HDR + 18 + namelen, uid)
    put32(op + HDR + 22 + namelen, gid)
    wlen = parent_frame(g, wlen, n)
    r = exchange(g, wlen, op, k, n - 1, True, &wres, &opid, &fd, &operr)
    if r < 0:
        return r
    if wres == 0 and opid == M_RCREATE and fd >= 0:
        return fd
    if fd >= 0:
        close(fd)
    if wres != 0:
        return -ENOENT if wres > 0 else wres
    if operr == -EEXIST and not flags & O_EXCL:
        return GOFER_SLOW          # created meanwhile: open it, slowly
    return operr if operr < 0 else fail(g)


cdef int gofer_stat(GoferConn *g, const char *path, bint follow,
                    GoferAttr *out) noexcept nogil:
    """stat/lstat of ``path``: 0 and ``out``, -errno, or GOFER_SLOW."""
    cdef int n = 0, wlen, mid, fd = -1, r
    wlen = walk_frame(g, path, NOFID, &n)
    if wlen < 0:
        return wlen
    if n == 0 or g.dead:
        return GOFER_SLOW if not g.dead else -EIO
    r = send_record(g.sock, g.out, wlen)
    if r != wlen:
        return fail(g)
    mid = recv_reply(g, get16(g.out + 5), &fd)
    if mid < 0:
        return mid
    if fd >= 0:
        close(fd)
        return fail(g)
    r = walk_result(g, mid, n, follow, out)
    if r > 0:
        return -ENOENT
    return r


cdef int parent_op(GoferConn *g, const char *path, int mid, int flags,
                   uint32_t mode, uint32_t uid, uint32_t gid) noexcept nogil:
    cdef char op[512]
    cdef int n = 0, wlen, r, wres = 0, opid = 0, fd = -1, operr = 0, k
    cdef int namelen
    wlen = walk_frame(g, path, g.fid, &n)
    if wlen < 0:
        return wlen
    if n == 0:
        return GOFER_SLOW
    namelen = get16(g.out + g.last_len)
    put32(op + HDR, g.fid)
    put16(op + HDR + 4, <uint16_t>namelen)
    memcpy(op + HDR + 6, g.out + g.last_len + 2, namelen)
    k = HDR + 6 + namelen
    if mid == M_TUNLINK:
        put32(op + k, <uint32_t>flags)
        k += 4
    else:
        put32(op + k, mode)
        put32(op + k + 4, uid)
        put32(op + k + 8, gid)
        k += 12
    header(g, op, k, mid)
    wlen = parent_frame(g, wlen, n)
    r = exchange(g, wlen, op, k, n - 1, True, &wres, &opid, &fd, &operr)
    if r < 0:
        return r
    if fd >= 0:
        close(fd)
        return fail(g)
    if wres != 0:
        return -ENOENT if wres > 0 else wres
    return operr


cdef int gofer_unlink(GoferConn *g, const char *path, int flags) noexcept nogil:
    """unlinkat(2) of ``path`` (flags 0 or AT_REMOVEDIR)."""
    return parent_op(g, path, M_TUNLINK, flags, 0, 0, 0)


cdef int gofer_mkdir(GoferConn *g, const char *path, uint32_t mode,
                     uint32_t uid, uint32_t gid) noexcept nogil:
    """mkdir(2) of ``path`` with ``mode`` as given (umask applied)."""
    return parent_op(g, path, M_TMKDIR, 0, mode, uid, gid)


class SlowPath(Exception):
    """The fast path cannot serve this path: use ``GoferFs``."""


cdef object _check(int r):
    if r == GOFER_SLOW:
        raise SlowPath()
    if r < 0:
        raise OSError(-r, os.strerror(-r))
    return r


cdef class FastConn:
    """A connection for the fast path: ``sock`` is a fresh SOCK_SEQPACKET
    socket to the gofer (not shared with a ``Client``).  The handshake
    (Tversion, Tattach) is done here; fid 1 is the root, fid 2 the fast
    path's scratch fid.  Use from one thread at a time."""

    def __cinit__(self, sock):
        self.g = <GoferConn *>calloc(1, sizeof(GoferConn))
        if self.g == NULL:
            raise MemoryError()
        self.g.sock = -1

    def __init__(self, sock):
        if isinstance(sock, int):
            sock = _socket.socket(fileno=sock)
        self._sock = sock
        sock.sendall(P.encode(P.Tversion(P.DEFAULT_MSIZE, P.VERSION), 1))
        r, _ = P.decode(sock.recv(P.MAX_MSIZE))
        if type(r) is not P.Rversion:
            raise OSError(EIO, "gofer refused the version")
        sock.sendall(P.encode(P.Tattach(1), 2))
        r, _ = P.decode(sock.recv(P.MAX_MSIZE))
        if type(r) is not P.Rattach:
            raise OSError(EIO, "gofer refused the attach")
        self.g.sock = sock.fileno()
        self.g.root = 1
        self.g.fid = 2
        self.g.tag = 2
        self.g.msize = P.DEFAULT_MSIZE

    def __dealloc__(self):
        free(self.g)

    def close(self):
        self.g.dead = 1
        self._sock.close()

    @property
    def dead(self):
        return bool(self.g.dead)

    def open(self, path, int flags, uint32_t mode=0o666,
             uint32_t uid=NOFID, uint32_t gid=NOFID):
        """open(2): the fd, OSError, or SlowPath."""
        cdef bytes p = os.fsencode(path)
        cdef const char *cp = p
        cdef int r
        with nogil:
            r = gofer_open(self.g, cp, flags, mode, uid, gid)
        return _check(r)

    def stat(self, path, bint follow=True):
        """stat/lstat: a ``proto.Attr``, OSError, or SlowPath."""
        cdef bytes p = os.fsencode(path)
        cdef const char *cp = p
        cdef GoferAttr a
        cdef int r
        with nogil:
            r = gofer_stat(self.g, cp, follow, &a)
        _check(r)
        return P.Attr(a.mode, a.nlink, a.uid, a.gid, a.rdev, a.size,
                      a.blksize, a.blocks, a.atime_sec, a.atime_nsec,
                      a.mtime_sec, a.mtime_nsec, a.ctime_sec, a.ctime_nsec,
                      a.ino, a.dev)

    def unlink(self, path, int flags=0):
        cdef bytes p = os.fsencode(path)
        cdef const char *cp = p
        cdef int r
        with nogil:
            r = gofer_unlink(self.g, cp, flags)
        _check(r)

    def mkdir(self, path, uint32_t mode, uint32_t uid=NOFID,
              uint32_t gid=NOFID):
        cdef bytes p = os.fsencode(path)
        cdef const char *cp = p
        cdef int r
        with nogil:
            r = gofer_mkdir(self.g, cp, mode, uid, gid)
        _check(r)
