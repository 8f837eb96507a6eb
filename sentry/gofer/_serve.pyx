# cython: language_level=3, boundscheck=False, wraparound=False
"""The gofer server's hot loop in C: walk, getattr, open of regular files
and directories, clunk and flush.

``run(conn)`` replaces ``runtime.gofer._Conn.run``: it receives each
record, serves the hot requests here, and hands every other frame to
``conn.frame`` (the Python handlers).  The rules are the Python handlers'
rules, byte for byte (the server tests run against both): a frame is
checked whole before anything acts on it, names are single components,
every walk step is ``openat(dirfd, name, O_PATH|O_NOFOLLOW)``, reopens go
through the magic link of the fid's fd in the gofer's /proc/self/fd.
A malformed frame raises ProtocolError (the connection closes).

``Fid`` is the fid record both sides use.
"""

from libc.errno cimport errno, EINTR, EBADF, EINVAL, ENAMETOOLONG, ENOTDIR
from libc.errno cimport E2BIG, EMFILE, EROFS, EISDIR, EIO
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memchr
from libc.stdio cimport snprintf
from posix.stat cimport struct_stat, fstat, S_ISDIR, S_ISLNK, S_ISREG

import os

from sentry.gofer._wire cimport (
    iovec, msghdr, cmsghdr, sendmsg, CMSG_FIRSTHDR, CMSG_DATA, CMSG_LEN,
    CMSG_SPACE, SOL_SOCKET, SCM_RIGHTS, MSG_TRUNC, MSG_CTRUNC, MSG_NOSIGNAL,
    HDR, ATTR, NAME_MAX, MAX_WALK, NOFID, put16, put32, put64, get16, get32,
    put_header, msg_init, send_record, recv_record)

from sentry.gofer import proto as P

cdef extern from "<unistd.h>" nogil:
    int close(int fd)
    ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t n)

cdef extern from "<fcntl.h>" nogil:
    int openat(int dirfd, const char *path, int flags, ...)
    int O_PATH, O_NOFOLLOW, O_CLOEXEC, O_NOCTTY, O_DIRECTORY, O_WRONLY
    int O_RDWR, O_TRUNC

cdef enum:
    PATH_MAX = 4096
    OUT = HDR + 6 + MAX_WALK * ATTR + 2 + PATH_MAX

cdef int M_TWALK = P.Twalk.ID, M_RWALK = P.Rwalk.ID
cdef int M_TOPEN = P.Topen.ID, M_ROPEN = P.Ropen.ID
cdef int M_TGETATTR = P.Tgetattr.ID, M_RGETATTR = P.Rgetattr.ID
cdef int M_TCLUNK = P.Tclunk.ID, M_TFLUSH = P.Tflush.ID
cdef int M_ROK = P.Rok.ID, M_RERROR = P.Rerror.ID
cdef int OPEN_FLAGS
cdef int WRITE_FLAGS = O_WRONLY | O_RDWR | O_TRUNC
cdef object ProtocolError = P.ProtocolError
assert P._ATTR.size == ATTR and P.NAME_MAX == NAME_MAX
assert P.MAX_WALK == MAX_WALK and P.HEADER.size == HDR


cdef class Fid:
    """A walked file: its O_PATH fd, file type bits, and a readdir fd."""
    cdef public int fd
    cdef public int fmt
    cdef public int dir_fd

    def __init__(self, int fd, int mode):
        self.fd = fd
        self.fmt = mode & 0o170000
        self.dir_fd = -1

    def close(self):
        os.close(self.fd)
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1


cdef void put_attr(char *p, struct_stat *st) noexcept nogil:
    """The wire Attr of ``st`` - proto._ATTR, attr_from_stat."""
    put32(p, st.st_mode)
    put64(p + 4, st.st_nlink)
    put32(p + 12, st.st_uid)
    put32(p + 16, st.st_gid)
    put64(p + 20, st.st_rdev)
    put64(p + 28, <uint64_t>st.st_size)
    put32(p + 36, <uint32_t>st.st_blksize)
    put64(p + 40, <uint64_t>st.st_blocks)
    put64(p + 48, <uint64_t>st.st_atim.tv_sec)
    put32(p + 56, <uint32_t>st.st_atim.tv_nsec)
    put64(p + 60, <uint64_t>st.st_mtim.tv_sec)
    put32(p + 68, <uint32_t>st.st_mtim.tv_nsec)
    put64(p + 72, <uint64_t>st.st_ctim.tv_sec)
    put32(p + 80, <uint32_t>st.st_ctim.tv_nsec)
    put64(p + 84, st.st_ino)
    put64(p + 92, st.st_dev)


cdef class _Loop:
    cdef int sock
    cdef object conn
    cdef dict fids
    cdef int proc_fd
    cdef bint readonly
    cdef bytearray inbuf
    cdef char *inb
    cdef bytearray outbuf
    cdef char *out

    def __init__(self, conn):
        self.conn = conn
        self.sock = conn.sock.fileno()
        self.fids = conn.fids
        self.proc_fd = conn.srv.proc_fd
        self.readonly = conn.srv.readonly
        self.inbuf = bytearray(P.MAX_MSIZE + 1)
        self.inb = self.inbuf
        self.outbuf = bytearray(OUT)
        self.out = self.outbuf

    cdef int reply(self, int size, int mid, uint16_t tag, int fd) except -1:
        """Send the reply at ``out`` (its body already written)."""
        cdef msghdr m
        cdef iovec v
        cdef char ctl[64]
        cdef cmsghdr *c
        cdef ssize_t r
        put_header(self.out, size, mid, tag)
        with nogil:
            if fd < 0:
                r = send_record(self.sock, self.out, size)
            else:
                msg_init(&m, &v, self.out, size, ctl, CMSG_SPACE(sizeof(int)))
                c = CMSG_FIRSTHDR(&m)
                c.cmsg_level = SOL_SOCKET
                c.cmsg_type = SCM_RIGHTS
                c.cmsg_len = CMSG_LEN(sizeof(int))
                memcpy(CMSG_DATA(c), &fd, sizeof(int))
                while True:
                    r = sendmsg(self.sock, &m, MSG_NOSIGNAL)
                    if r >= 0 or errno != EINTR:
                        break
        if r < 0:
            raise OSError(errno, os.strerror(errno))
        if r != size:
            raise OSError(EIO, "short send")
        return 0

    cdef int error(self, uint16_t tag, int e) except -1:
        put32(self.out + HDR, e)
        return self.reply(HDR + 4, M_RERROR, tag, -1)

    cdef Fid fid(self, uint32_t n):
        return self.fids.get(n)

    cdef int walk(self, int n, uint16_t tag) except -1:
        cdef const char *b = self.inb
        cdef uint32_t fidn, newfid
        cdef int count, i, off, k, bad = 0, fd, nfd, e = 0, walked = 0
        cdef int linklen = 0, mode
        cdef char name[NAME_MAX + 1]
        cdef struct_stat st
        cdef Fid cur
        cdef ssize_t r
        # the frame, whole, before anything acts on it - proto._dec_twalk
        if n < HDR + 10:
            raise ProtocolError("field runs past the end of the frame at 7")
        fidn = get32(b + HDR)
        newfid = get32(b + HDR + 4)
        count = get16(b + HDR + 8)
        off = HDR + 10
        if off + 2 * count > n:
            raise ProtocolError(f"field runs past the end of the frame at "
                                f"{off}")
        for i in range(count):
            if off + 2 > n:
                raise ProtocolError("field runs past the end of the frame")
            k = get16(b + off)
            if off + 2 + k > n:
                raise ProtocolError("field runs past the end of the frame")
            # the first bad name decides the errno - gofer._name
            if bad == 0:
                if k > NAME_MAX:
                    bad = ENAMETOOLONG
                elif (k == 0 or memchr(b + off + 2, b'/', k) != NULL or
                      memchr(b + off + 2, 0, k) != NULL or
                      (b[off + 2] == b'.' and
                       (k == 1 or (k == 2 and b[off + 3] == b'.')))):
                    bad = EINVAL
            off += 2 + k
        if off != n:
            raise ProtocolError(f"{n - off} trailing bytes after Twalk")
        if count > MAX_WALK or \
                HDR + 6 + ATTR * count + 2 + PATH_MAX > self.conn.msize:
            return self.error(tag, E2BIG)     # the reply must fit - rwalk_max
        cur = self.fid(fidn)
        if cur is None:
            return self.error(tag, EBADF)
        if newfid != NOFID and newfid in self.fids:
            return self.error(tag, EBADF)
        if bad:
            return self.error(tag, bad)
        fd = cur.fd
        mode = cur.fmt
        off = HDR + 10
        for i in range(count):
            k = get16(b + off)
            memcpy(name, b + off + 2, k)
            name[k] = 0
            off += 2 + k
            if not S_ISDIR(mode):
                e = ENOTDIR
                break
            with nogil:
                nfd = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
            if nfd < 0:
                e = errno
                break
            if fd != cur.fd:
                close(fd)
            fd = nfd
            if fstat(fd, &st) < 0:            # as os.fstat raising
                e = errno
                walked = 0
                break
            mode = st.st_mode
            put_attr(self.out + HDR + 6 + walked * ATTR, &st)
            walked += 1
            if S_ISLNK(mode):
                r = readlinkat(fd, "", self.out + HDR + 6 + walked * ATTR + 2,
                               PATH_MAX)
                if r < 0:                     # as os.readlink raising
                    e = errno
                    walked = 0
                    break
                linklen = <int>r
                break
        try:
            if e and walked == 0:
                return self.error(tag, e)
            if not e and walked == count:
                if fd == cur.fd:
                    fd = os.dup(fd)
                if newfid != NOFID:
                    if len(self.fids) >= (1 << 16):
                        return self.error(tag, EMFILE)
                    self.fids[newfid] = Fid(fd, mode)
                    fd = -1
            put32(self.out + HDR, e)
            put16(self.out + HDR + 4, <uint16_t>walked)
            put16(self.out + HDR + 6 + walked * ATTR, <uint16_t>linklen)
            return self.reply(HDR + 6 + walked * ATTR + 2 + linklen,
                              M_RWALK, tag, -1)
        finally:
            if fd >= 0 and fd != cur.fd:
                close(fd)

    cdef int getattr(self, int n, uint16_t tag) except -1:
        cdef struct_stat st
        cdef Fid f
        if n != HDR + 4:
            raise ProtocolError(f"malformed Tgetattr of {n} bytes")
        f = self.fid(get32(self.inb + HDR))
        if f is None:
            return self.error(tag, EBADF)
        if fstat(f.fd, &st) < 0:
            return self.error(tag, errno)
        put_attr(self.out + HDR, &st)
        return self.reply(HDR + ATTR, M_RGETATTR, tag, -1)

    cdef int open(self, int n, uint16_t tag, object view) except -1:
        """Regular files and directories; anything else in Python."""
        cdef Fid f
        cdef int flags, fd
        cdef char link[16]
        cdef struct_stat st
        if n != HDR + 8:
            raise ProtocolError(f"malformed Topen of {n} bytes")
        f = self.fid(get32(self.inb + HDR))
        flags = <int>get32(self.inb + HDR + 4)
        if f is None or not (f.fmt == 0o040000 or f.fmt == 0o100000):
            self.conn.frame(view[:n])
            return 0
        if flags & os.O_PATH:
            # the sentry's lookups (gofer_open with O_PATH): as
            # gofer_ops._checked_open for a file or directory
            if f.fmt == 0o100000 and flags & O_DIRECTORY:
                return self.error(tag, ENOTDIR)
            flags = os.O_PATH
        else:
            flags &= OPEN_FLAGS
            if flags & WRITE_FLAGS and self.readonly:
                return self.error(tag, EROFS)
            if f.fmt == 0o040000 and flags & WRITE_FLAGS:
                return self.error(tag, EISDIR)
            if f.fmt == 0o100000 and flags & O_DIRECTORY:
                return self.error(tag, ENOTDIR)
        snprintf(link, sizeof(link), "%d", f.fd)
        with nogil:
            fd = openat(self.proc_fd, link, flags | O_CLOEXEC | O_NOCTTY)
        if fd < 0:
            return self.error(tag, errno)
        try:
            if fstat(fd, &st) < 0:
                return self.error(tag, errno)
            put_attr(self.out + HDR, &st)
            return self.reply(HDR + ATTR, M_ROPEN, tag, fd)
        finally:
            close(fd)

    cdef int clunk(self, int n, uint16_t tag) except -1:
        cdef Fid f
        if n != HDR + 4:
            raise ProtocolError(f"malformed Tclunk of {n} bytes")
        f = self.fids.pop(get32(self.inb + HDR), None)
        if f is None:
            return self.error(tag, EBADF)
        f.close()
        return self.reply(HDR, M_ROK, tag, -1)

    cdef int flush(self, int n, uint16_t tag) except -1:
        if n != HDR + 2:
            raise ProtocolError(f"malformed Tflush of {n} bytes")
        return self.reply(HDR, M_ROK, tag, -1)

    cdef run(self):
        cdef msghdr m
        cdef iovec v
        cdef ssize_t n
        cdef int mid, size
        cdef uint16_t tag
        cdef object view = memoryview(self.inbuf)
        cdef object conn = self.conn
        while True:
            msg_init(&m, &v, self.inb, P.MAX_MSIZE + 1, NULL, 0)
            with nogil:
                n = recv_record(self.sock, &m, 0)
            if n < 0:
                raise OSError(errno, os.strerror(errno))
            if n == 0 and not m.msg_flags:
                return
            if m.msg_flags & (MSG_TRUNC | MSG_CTRUNC):
                raise ProtocolError("oversized frame or unexpected fds")
            if n < HDR or not conn.versioned:
                conn.frame(view[:n])
                continue
            size = <int>get32(self.inb)
            mid = <uint8_t>self.inb[4]
            tag = get16(self.inb + 5)
            if size != n or size > conn.msize:
                conn.frame(view[:n])          # raises ProtocolError
                continue
            if mid == M_TWALK:
                self.walk(<int>n, tag)
            elif mid == M_TGETATTR:
                self.getattr(<int>n, tag)
            elif mid == M_TOPEN:
                self.open(<int>n, tag, view)
            elif mid == M_TCLUNK:
                self.clunk(<int>n, tag)
            elif mid == M_TFLUSH:
                self.flush(<int>n, tag)
            else:
                conn.frame(view[:n])


def run(conn, int open_flags):
    """Serve ``conn`` (a ``runtime.gofer._Conn``) until EOF; raises
    ProtocolError or OSError as ``_Conn.run`` does.  ``open_flags`` are
    the flags a client may pass to open (the server's one table)."""
    global OPEN_FLAGS
    OPEN_FLAGS = open_flags
    _Loop(conn).run()
