# Calls that create, remove or rename names: mkdir(2), mkdirat(2), rmdir(2),
# unlink(2), unlinkat(2), rename(2), renameat(2), renameat2(2), link(2),
# linkat(2), symlink(2), symlinkat(2), mknod(2), mknodat(2).  Each resolves
# the parent directory inside the root and lets the kernel act on
# (parent fd, last component).

cdef void do_mkdir(Call *c, int dirfd, uint64_t addr, unsigned int mode) noexcept nogil:
    cdef const char *last
    cdef int fd, r
    c.want_write = 2
    fd = parent_fd(c, dirfd, addr, c.path, c.rel, &last)
    if fd < 0:
        ret(c, fd)
        return
    r = mkdirat(fd, last, mode & 0o7777 & ~app_umask(c))
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_mkdir(Call *c) noexcept nogil:
    """mkdir implements linux syscall mkdir(2)."""
    do_mkdir(c, AT_FDCWD, c.args[0], <unsigned int>c.args[1])


cdef void h_mkdirat(Call *c) noexcept nogil:
    """mkdirat implements linux syscall mkdirat(2)."""
    do_mkdir(c, <int>c.args[0], c.args[1], <unsigned int>c.args[2])


cdef void do_unlink(Call *c, int dirfd, uint64_t addr, int flags) noexcept nogil:
    cdef const char *last
    cdef int fd, r
    if flags & ~AT_REMOVEDIR:
        ret(c, -EINVAL)
        return
    c.want_write = 1
    fd = parent_fd(c, dirfd, addr, c.path, c.rel, &last)
    if fd < 0:
        ret(c, fd)
        return
    caps_wrt_victim(c, fd, last)
    r = unlinkat(fd, last, flags)
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_rmdir(Call *c) noexcept nogil:
    """rmdir implements linux syscall rmdir(2)."""
    do_unlink(c, AT_FDCWD, c.args[0], AT_REMOVEDIR)


cdef void h_unlink(Call *c) noexcept nogil:
    """unlink implements linux syscall unlink(2)."""
    do_unlink(c, AT_FDCWD, c.args[0], 0)


cdef void h_unlinkat(Call *c) noexcept nogil:
    """unlinkat implements linux syscall unlinkat(2)."""
    do_unlink(c, <int>c.args[0], c.args[1], <int>c.args[2])


cdef void do_rename(Call *c, int olddir, uint64_t oldp, int newdir,
                    uint64_t newp, unsigned int flags) noexcept nogil:
    cdef const char *last1
    cdef const char *last2
    cdef int fd1, fd2, r
    c.want_write = 1
    fd1 = parent_fd(c, olddir, oldp, c.path, c.rel, &last1)
    if fd1 < 0:
        ret(c, fd1)
        return
    fd2 = parent_fd(c, newdir, newp, c.path2, c.rel2, &last2)
    if fd2 < 0:
        close(fd1)
        ret(c, fd2)
        return
    caps_wrt_victim(c, fd1, last1)
    caps_wrt_victim(c, fd2, last2)
    r = renameat2(fd1, last1, fd2, last2, flags)
    r = r if r == 0 else -errno
    close(fd1)
    close(fd2)
    ret(c, r)


cdef void h_rename(Call *c) noexcept nogil:
    """rename implements linux syscall rename(2)."""
    do_rename(c, AT_FDCWD, c.args[0], AT_FDCWD, c.args[1], 0)


cdef void h_renameat(Call *c) noexcept nogil:
    """renameat implements linux syscall renameat(2)."""
    do_rename(c, <int>c.args[0], c.args[1], <int>c.args[2], c.args[3], 0)


cdef void h_renameat2(Call *c) noexcept nogil:
    """renameat2 implements linux syscall renameat2(2)."""
    do_rename(c, <int>c.args[0], c.args[1], <int>c.args[2], c.args[3],
              <unsigned int>c.args[4])


cdef void do_link(Call *c, int olddir, uint64_t oldp, int newdir,
                  uint64_t newp, int flags) noexcept nogil:
    cdef const char *last
    cdef int fd1, fd2, r
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        ret(c, -EINVAL)
        return
    # "By default, linkat() does not dereference oldpath if it is a symbolic
    # link (like link())" - linkat(2)
    fd1 = path_fd(c, olddir, oldp,
                  (0 if flags & AT_SYMLINK_FOLLOW else AT_SYMLINK_NOFOLLOW) |
                  (flags & AT_EMPTY_PATH), 0)
    if fd1 < 0:
        ret(c, fd1)
        return
    c.want_write = 2
    fd2 = parent_fd(c, newdir, newp, c.path2, c.rel2, &last)
    if fd2 < 0:
        close(fd1)
        ret(c, fd2)
        return
    r = linkat(fd1, b"", fd2, last, AT_EMPTY_PATH)
    r = r if r == 0 else -errno
    if r == -EXDEV and c.fs.gofer != NULL:
        # the old file may be one the app opened itself (ptrace, O_TMPFILE):
        # it lies on the app's mount of the directory, not the gofer's
        close(fd2)
        fd2 = local_parent(c, c.rel2)
        if fd2 >= 0:
            r = linkat(fd1, b"", fd2, last, AT_EMPTY_PATH)
            r = r if r == 0 else -errno
    close(fd1)
    if fd2 >= 0:
        close(fd2)
    ret(c, r)


cdef void h_link(Call *c) noexcept nogil:
    """link implements linux syscall link(2)."""
    do_link(c, AT_FDCWD, c.args[0], AT_FDCWD, c.args[1], 0)


cdef void h_linkat(Call *c) noexcept nogil:
    """linkat implements linux syscall linkat(2)."""
    do_link(c, <int>c.args[0], c.args[1], <int>c.args[2], c.args[3],
            <int>c.args[4])


cdef void do_symlink(Call *c, uint64_t target, int newdir,
                     uint64_t newp) noexcept nogil:
    cdef const char *last
    cdef int fd, r
    r = read_path(c, target, c.path2)
    if r < 0:
        ret(c, r)
        return
    if r == 0:
        ret(c, -ENOENT)
        return
    c.want_write = 2
    fd = parent_fd(c, newdir, newp, c.path, c.rel, &last)
    if fd < 0:
        ret(c, fd)
        return
    r = symlinkat(c.path2, fd, last)
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_symlink(Call *c) noexcept nogil:
    """symlink implements linux syscall symlink(2)."""
    do_symlink(c, c.args[0], AT_FDCWD, c.args[1])


cdef void h_symlinkat(Call *c) noexcept nogil:
    """symlinkat implements linux syscall symlinkat(2)."""
    do_symlink(c, c.args[0], <int>c.args[1], c.args[2])


cdef void do_mknod(Call *c, int dirfd, uint64_t addr, unsigned int mode,
                   unsigned long dev) noexcept nogil:
    cdef const char *last
    cdef int fd, r
    cdef stat st
    c.want_write = 2
    fd = parent_fd(c, dirfd, addr, c.path, c.rel, &last)
    if fd < 0:
        ret(c, fd)
        return
    r = device_may_mknod(c, mode, dev)
    if r < 0:
        # the device cgroup decides after the lookup: an existing name is
        # EEXIST - mknod(2)
        if fstatat(fd, last, &st, AT_SYMLINK_NOFOLLOW) == 0:
            r = -EEXIST
        close(fd)
        ret(c, r)
        return
    # "Zero file type is equivalent to type S_IFREG." - mknod(2)
    r = mknodat(fd, last, (mode & 0o170000) | (mode & 0o7777 & ~app_umask(c)), dev)
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_mknod(Call *c) noexcept nogil:
    """mknod implements linux syscall mknod(2)."""
    do_mknod(c, AT_FDCWD, c.args[0], <unsigned int>c.args[1], c.args[2])


cdef void h_mknodat(Call *c) noexcept nogil:
    """mknodat implements linux syscall mknodat(2)."""
    do_mknod(c, <int>c.args[0], c.args[1], <unsigned int>c.args[2], c.args[3])


cdef void register_namei() noexcept nogil:
    _register(83, h_mkdir)
    _register(258, h_mkdirat)
    _register(84, h_rmdir)
    _register(87, h_unlink)
    _register(263, h_unlinkat)
    _register(82, h_rename)
    _register(264, h_renameat)
    _register(316, h_renameat2)
    _register(86, h_link)
    _register(265, h_linkat)
    _register(88, h_symlink)
    _register(266, h_symlinkat)
    _register(133, h_mknod)
    _register(259, h_mknodat)
