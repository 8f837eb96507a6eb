# access(2), faccessat(2), faccessat2(2).

cdef void do_access(Call *c, int dirfd, uint64_t addr, int mode,
                    int atflags) noexcept nogil:
    cdef int fd, r
    if mode & ~7:
        ret(c, -EINVAL)
        return
    if atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EACCESS | AT_EMPTY_PATH):
        ret(c, -EINVAL)
        return
    fd = path_fd(c, dirfd, addr, atflags, 0)
    if fd < 0:
        ret(c, fd)
        return
    # This thread runs with the app's fsuid/fsgid (creds.pxi) but the
    # sentry's real ids, which access(2) would check: AT_EACCESS makes the
    # kernel check the thread's (the app's) ids.  N.B. an app whose real
    # and effective ids differ gets its effective ones.
    r = <int>syscall(SYS_faccessat2, fd, b"", mode,
                     AT_EMPTY_PATH | (AT_EACCESS if c.as_app else
                                      (atflags & AT_EACCESS)))
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_access(Call *c) noexcept nogil:
    """access implements linux syscall access(2)."""
    do_access(c, AT_FDCWD, c.args[0], <int>c.args[1], 0)


cdef void h_faccessat(Call *c) noexcept nogil:
    """faccessat implements linux syscall faccessat(2) (no flags argument)."""
    do_access(c, <int>c.args[0], c.args[1], <int>c.args[2], 0)


cdef void h_faccessat2(Call *c) noexcept nogil:
    """faccessat2 implements linux syscall faccessat2(2)."""
    do_access(c, <int>c.args[0], c.args[1], <int>c.args[2], <int>c.args[3])


cdef void register_access() noexcept nogil:
    _register(21, h_access)
    _register(269, h_faccessat)
    _register(439, h_faccessat2)
