# stat(2), lstat(2), newfstatat(2), statx(2), statfs(2).

cdef void do_stat(Call *c, int dirfd, uint64_t addr, uint64_t buf,
                  int atflags) noexcept nogil:
    cdef stat st
    cdef int fd, r
    if atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT):
        ret(c, -EINVAL)
        return
    fd = path_fd(c, dirfd, addr, atflags, 0)
    if fd < 0:
        ret(c, fd)
        return
    r = fstat(fd, &st)
    r = r if r == 0 else -errno
    close(fd)
    if r == 0:
        r = write_mem(c, buf, &st, sizeof(st))
    ret(c, r)


cdef void h_stat(Call *c) noexcept nogil:
    """stat implements linux syscall stat(2)."""
    do_stat(c, AT_FDCWD, c.args[0], c.args[1], 0)


cdef void h_lstat(Call *c) noexcept nogil:
    """lstat implements linux syscall lstat(2)."""
    do_stat(c, AT_FDCWD, c.args[0], c.args[1], AT_SYMLINK_NOFOLLOW)


cdef void h_newfstatat(Call *c) noexcept nogil:
    """newfstatat implements linux syscall newfstatat(2)."""
    do_stat(c, <int>c.args[0], c.args[1], c.args[2], <int>c.args[3])


cdef void h_statx(Call *c) noexcept nogil:
    """statx implements linux syscall statx(2)."""
    cdef char stx[256]
    cdef int fd, r
    cdef int atflags = <int>c.args[2]
    if atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT |
                   AT_STATX_SYNC_TYPE):
        ret(c, -EINVAL)
        return
    if c.args[3] & <uint64_t>0x80000000:   # STATX__RESERVED
        ret(c, -EINVAL)
        return
    fd = path_fd(c, <int>c.args[0], c.args[1], atflags, 0)
    if fd < 0:
        ret(c, fd)
        return
    r = <int>syscall(SYS_statx, fd, b"", AT_EMPTY_PATH | (atflags & AT_STATX_SYNC_TYPE),
                     <unsigned int>c.args[3], stx)
    r = r if r == 0 else -errno
    close(fd)
    if r == 0:
        r = write_mem(c, c.args[4], stx, 256)
    ret(c, r)


cdef extern from "<sys/vfs.h>" nogil:
    struct statfs:
        long f_type
    int fstatfs(int fd, statfs *buf)


cdef void h_statfs(Call *c) noexcept nogil:
    """statfs implements linux syscall statfs(2)."""
    cdef statfs sf
    cdef int fd, r
    fd = path_fd(c, AT_FDCWD, c.args[0], 0, 0)
    if fd < 0:
        ret(c, fd)
        return
    r = fstatfs(fd, &sf)
    r = r if r == 0 else -errno
    close(fd)
    if r == 0:
        r = write_mem(c, c.args[1], &sf, sizeof(sf))
    ret(c, r)


cdef void register_stat() noexcept nogil:
    _register(4, h_stat)
    _register(6, h_lstat)
    _register(262, h_newfstatat)
    _register(332, h_statx)
    _register(137, h_statfs)
