# readlink(2), readlinkat(2).

cdef void do_readlink(Call *c, int dirfd, uint64_t addr, uint64_t buf,
                      int64_t size, int empty) noexcept nogil:
    cdef int fd, r
    cdef ssize_t n
    if <int>size <= 0:
        ret(c, -EINVAL)
        return
    fd = path_fd(c, dirfd, addr, AT_SYMLINK_NOFOLLOW | empty, 0)
    if fd < 0:
        ret(c, fd)
        return
    n = readlinkat(fd, b"", c.tmp, PATH_BUF)
    close(fd)
    if n < 0:
        # "EINVAL: The named file is not a symbolic link" - readlink(2)
        ret(c, -EINVAL if errno == ENOENT else -errno)
        return
    if n > <int>size:
        n = <int>size
    r = write_mem(c, buf, c.tmp, n)
    ret(c, r if r < 0 else n)


cdef void h_readlink(Call *c) noexcept nogil:
    """readlink implements linux syscall readlink(2)."""
    do_readlink(c, AT_FDCWD, c.args[0], c.args[1], <int64_t>c.args[2], 0)


cdef void h_readlinkat(Call *c) noexcept nogil:
    """readlinkat implements linux syscall readlinkat(2)."""
    do_readlink(c, <int>c.args[0], c.args[1], c.args[2], <int64_t>c.args[3],
                AT_EMPTY_PATH)


cdef void register_readlink() noexcept nogil:
    _register(89, h_readlink)
    _register(267, h_readlinkat)
