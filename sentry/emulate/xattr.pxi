# Path xattrs: getxattr(2), lgetxattr(2), setxattr(2), lsetxattr(2),
# listxattr(2), llistxattr(2), removexattr(2), lremovexattr(2).  Served on
# the resolved O_PATH fd through its /proc/self/fd link, which lands on the
# file itself (a symlink's own inode for the l* calls): the *xattrat calls
# refuse O_PATH fds (EBADF).

from libc.stdlib cimport malloc, free

cdef extern from "<sys/xattr.h>" nogil:
    ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
    int setxattr(const char *path, const char *name, const void *value,
                 size_t size, int flags)
    ssize_t listxattr(const char *path, char *list, size_t size)
    int removexattr(const char *path, const char *name)

cdef enum:
    XATTR_NAME_MAX = 255
    XATTR_SIZE_MAX = 65536


cdef int read_name(Call *c, uint64_t addr, char *name) noexcept nogil:
    """An xattr name, at most XATTR_NAME_MAX bytes - xattr(7)."""
    cdef int n = read_path(c, addr, c.path2)
    if n < 0:
        return -ERANGE if n == -ENAMETOOLONG else n
    if n == 0 or n > XATTR_NAME_MAX:
        return -ERANGE
    memcpy(name, c.path2, n + 1)
    return n


cdef void do_getxattr(Call *c, int nofollow) noexcept nogil:
    cdef char name[XATTR_NAME_MAX + 1]
    cdef char proc[64]
    cdef size_t size = c.args[3]
    cdef int fd, r
    cdef char *buf = NULL
    r = read_name(c, c.args[1], name)
    if r < 0:
        ret(c, r)
        return
    fd = path_fd(c, AT_FDCWD, c.args[0], nofollow, 0)
    if fd < 0:
        ret(c, fd)
        return
    if size > XATTR_SIZE_MAX:
        size = XATTR_SIZE_MAX
    if size:
        buf = <char *>malloc(size)
        if buf == NULL:
            close(fd)
            ret(c, -ENOMEM)
            return
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    r = <int>xattr_get_app(c, proc, name, buf, size)
    close(fd)
    if r > 0 and size:
        fd = write_mem(c, c.args[2], buf, r)
        if fd < 0:
            r = fd
    free(buf)
    ret(c, r)


cdef void h_getxattr(Call *c) noexcept nogil:
    """getxattr implements linux syscall getxattr(2)."""
    do_getxattr(c, 0)


cdef void h_lgetxattr(Call *c) noexcept nogil:
    """lgetxattr implements linux syscall lgetxattr(2)."""
    do_getxattr(c, AT_SYMLINK_NOFOLLOW)


cdef void do_setxattr(Call *c, int nofollow) noexcept nogil:
    c.want_write = 1
    cdef char name[XATTR_NAME_MAX + 1]
    cdef char proc[64]
    cdef size_t size = c.args[3]
    cdef int fd, r
    cdef char *buf = NULL
    if size > XATTR_SIZE_MAX:
        ret(c, -E2BIG)
        return
    r = read_name(c, c.args[1], name)
    if r < 0:
        ret(c, r)
        return
    if size:
        buf = <char *>malloc(size if size > 24 else 24)   # xattr_write_ok
        if buf == NULL:
            ret(c, -ENOMEM)
            return
        r = read_mem(c, buf, c.args[2], size)
        if r < 0:
            free(buf)
            ret(c, r)
            return
    fd = path_fd(c, AT_FDCWD, c.args[0], nofollow, 0)
    if fd < 0:
        free(buf)
        ret(c, fd)
        return
    r = acl_ids(c.fs, buf, size, False) if size and acl_xattr(name) else 0
    if r == 0:
        r = xattr_write_ok(c, fd, name, buf, &size)
    if r == 0:
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
        r = setxattr(proc, name, buf, size, <int>c.args[4])
        r = r if r >= 0 else -errno
    close(fd)
    free(buf)
    ret(c, r)


cdef void h_setxattr(Call *c) noexcept nogil:
    """setxattr implements linux syscall setxattr(2)."""
    do_setxattr(c, 0)


cdef void h_lsetxattr(Call *c) noexcept nogil:
    """lsetxattr implements linux syscall lsetxattr(2)."""
    do_setxattr(c, AT_SYMLINK_NOFOLLOW)


cdef void do_listxattr(Call *c, int nofollow) noexcept nogil:
    cdef size_t size = c.args[2]
    cdef int fd, r
    cdef char *buf = NULL
    cdef char proc[64]
    fd = path_fd(c, AT_FDCWD, c.args[0], nofollow, 0)
    if fd < 0:
        ret(c, fd)
        return
    if size > XATTR_SIZE_MAX:
        size = XATTR_SIZE_MAX
    if size:
        buf = <char *>malloc(size)
        if buf == NULL:
            close(fd)
            ret(c, -ENOMEM)
            return
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    r = <int>listxattr(proc, buf, size)
    r = r if r >= 0 else -errno
    close(fd)
    if r > 0 and size:
        r = <int>xattr_list_filter(c, buf, r)
        fd = write_mem(c, c.args[1], buf, r)
        if fd < 0:
            r = fd
    free(buf)
    ret(c, r)


cdef void h_listxattr(Call *c) noexcept nogil:
    """listxattr implements linux syscall listxattr(2)."""
    do_listxattr(c, 0)


cdef void h_llistxattr(Call *c) noexcept nogil:
    """llistxattr implements linux syscall llistxattr(2)."""
    do_listxattr(c, AT_SYMLINK_NOFOLLOW)


cdef void do_removexattr(Call *c, int nofollow) noexcept nogil:
    c.want_write = 1
    cdef char name[XATTR_NAME_MAX + 1]
    cdef char proc[64]
    cdef int fd, r
    r = read_name(c, c.args[1], name)
    if r < 0:
        ret(c, r)
        return
    fd = path_fd(c, AT_FDCWD, c.args[0], nofollow, 0)
    if fd < 0:
        ret(c, fd)
        return
    r = xattr_write_ok(c, fd, name, NULL, NULL)
    if r == 0:
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
        r = removexattr(proc, name)
        r = r if r >= 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_removexattr(Call *c) noexcept nogil:
    """removexattr implements linux syscall removexattr(2)."""
    do_removexattr(c, 0)


cdef void h_lremovexattr(Call *c) noexcept nogil:
    """lremovexattr implements linux syscall lremovexattr(2)."""
    do_removexattr(c, AT_SYMLINK_NOFOLLOW)


cdef void register_xattr() noexcept nogil:
    _register(191, h_getxattr)
    _register(192, h_lgetxattr)
    _register(188, h_setxattr)
    _register(189, h_lsetxattr)
    _register(194, h_listxattr)
    _register(195, h_llistxattr)
    _register(197, h_removexattr)
    _register(198, h_lremovexattr)
