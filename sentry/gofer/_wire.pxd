# The gofer's wire in C, one copy for both ends: the client's fast path
# (_fast.pyx) and the server's hot loop (_serve.pyx) cimport it.  It holds
# the socket calls both make, the frame's fixed sizes (proto.py; each
# module asserts them against proto at import), the little-endian field
# helpers and the frame header.  No module body: everything is inline.

from libc.errno cimport errno, EINTR
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void *iov_base
        size_t iov_len

cdef extern from "<sys/socket.h>" nogil:
    struct msghdr:
        void *msg_name
        unsigned int msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags
    struct cmsghdr:
        size_t cmsg_len
        int cmsg_level
        int cmsg_type
    struct mmsghdr:
        msghdr msg_hdr
        unsigned int msg_len
    ssize_t send(int fd, const void *buf, size_t n, int flags)
    ssize_t sendmsg(int fd, const msghdr *msg, int flags)
    int sendmmsg(int fd, mmsghdr *v, unsigned int n, int flags)
    ssize_t recvmsg(int fd, msghdr *msg, int flags)
    cmsghdr *CMSG_FIRSTHDR(msghdr *m)
    cmsghdr *CMSG_NXTHDR(msghdr *m, cmsghdr *c)
    unsigned char *CMSG_DATA(cmsghdr *c)
    size_t CMSG_LEN(size_t n)
    size_t CMSG_SPACE(size_t n)
    int SOL_SOCKET, SCM_RIGHTS, MSG_CMSG_CLOEXEC, MSG_TRUNC, MSG_CTRUNC
    int MSG_NOSIGNAL

cdef enum:
    HDR = 7                   # size[4] type[1] tag[2] - proto.HEADER
    ATTR = 100                # proto._ATTR
    NAME_MAX = 255
    MAX_WALK = 256
    NOFID = 0xFFFFFFFF


cdef inline void put16(char *p, uint16_t v) noexcept nogil:
    memcpy(p, &v, 2)


cdef inline void put32(char *p, uint32_t v) noexcept nogil:
    memcpy(p, &v, 4)


cdef inline void put64(char *p, uint64_t v) noexcept nogil:
    memcpy(p, &v, 8)


cdef inline uint16_t get16(const char *p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v


cdef inline uint32_t get32(const char *p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v


cdef inline void put_header(char *p, uint32_t size, uint8_t mid,
                            uint16_t tag) noexcept nogil:
    """The frame header at ``p``: size, type id, tag."""
    put32(p, size)
    p[4] = <char>mid
    put16(p + 5, tag)


cdef inline void msg_init(msghdr *m, iovec *v, void *buf, size_t n,
                          void *ctl, size_t ctl_len) noexcept nogil:
    """``m`` for one record of ``n`` bytes at ``buf`` (``v`` its iovec)
    with ``ctl_len`` bytes of control data at ``ctl`` (NULL, 0: none)."""
    v.iov_base = buf
    v.iov_len = n
    m.msg_name = NULL
    m.msg_namelen = 0
    m.msg_iov = v
    m.msg_iovlen = 1
    m.msg_control = ctl
    m.msg_controllen = ctl_len
    m.msg_flags = 0


cdef inline ssize_t send_record(int fd, const void *buf,
                                size_t n) noexcept nogil:
    """send(2) of one record, again after EINTR; its result (errno set)."""
    cdef ssize_t r
    while True:
        r = send(fd, buf, n, MSG_NOSIGNAL)
        if r >= 0 or errno != EINTR:
            return r


cdef inline ssize_t recv_record(int fd, msghdr *m, int flags) noexcept nogil:
    """recvmsg(2) of one record, again after EINTR; its result."""
    cdef ssize_t r
    while True:
        r = recvmsg(fd, m, flags)
        if r >= 0 or errno != EINTR:
            return r
