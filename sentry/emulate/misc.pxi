# The other trapped calls: uname(2), sethostname(2), setdomainname(2) (the
# app's own UTS namespace answers: the kernel runs them), inotify_add_watch(2),
# the *xattrat(2) calls, name_to_handle_at(2), fanotify_mark(2),
# file_getattr(2)/file_setattr(2).

cdef extern from "<sys/inotify.h>" nogil:
    int inotify_add_watch(int fd, const char *path, unsigned int mask)

cdef extern from "<errno.h>":
    int EOPNOTSUPP

cdef unsigned int IN_DONT_FOLLOW = 0x02000000


cdef void h_kernel(Call *c) noexcept nogil:
    """The app's own namespaces answer: run it (uname(2) and friends)."""
    c.action = ACT_CONTINUE


cdef void h_inotify_add_watch(Call *c) noexcept nogil:
    """inotify_add_watch implements linux syscall inotify_add_watch(2): the
    watch is added on our duplicate of the app's inotify fd, through the
    resolved file's /proc/self/fd link."""
    cdef unsigned int mask = <unsigned int>c.args[2]
    cdef int fd, ino, r
    cdef char proc[64]
    fd = path_fd(c, AT_FDCWD, c.args[1],
                 AT_SYMLINK_NOFOLLOW if mask & IN_DONT_FOLLOW else 0, 0)
    if fd < 0:
        ret(c, fd)
        return
    ino = app_socket(c, <int>c.args[0])
    if ino < 0:
        close(fd)
        ret(c, ino)
        return
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    r = inotify_add_watch(ino, proc, mask & ~IN_DONT_FOLLOW)
    r = r if r >= 0 else -errno
    close(ino)
    close(fd)
    ret(c, r)


cdef void do_xattrat(Call *c, int kind) noexcept nogil:
    """getxattrat and friends: (dirfd, path, at_flags, ...) resolved inside
    the root, then the path-xattr call on the resolved file's link."""
    cdef int fd, r
    cdef char proc[64]
    cdef pyrunsc_xattr_args xa
    cdef char name[256]
    cdef char *buf = NULL
    cdef int atflags = <int>c.args[2]
    cdef size_t size
    if atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        ret(c, -EINVAL)
        return
    if kind != 2:                       # list has no name
        r = read_name(c, c.args[3], name)
        if r < 0:
            ret(c, r)
            return
    if kind == 0 or kind == 1:
        if c.args[5] < 16:
            ret(c, -EINVAL)
            return
        r = read_mem(c, &xa, c.args[4], 16)
        if r < 0:
            ret(c, r)
            return
    fd = path_fd(c, <int>c.args[0], c.args[1], atflags, 0)
    if fd < 0:
        ret(c, fd)
        return
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    if kind == 3:
        r = xattr_write_ok(c, fd, name, NULL, NULL)
        if r == 0:
            r = removexattr(proc, name)
            r = r if r == 0 else -errno
        close(fd)
        ret(c, r)
        return
    size = xa.size if kind != 2 else c.args[4]
    if size > XATTR_SIZE_MAX:
        size = XATTR_SIZE_MAX
    if size:
        buf = <char *>malloc(size if size > 24 else 24)   # xattr_write_ok
        if buf == NULL:
            close(fd)
            ret(c, -ENOMEM)
            return
    if kind == 1:
        r = read_mem(c, buf, xa.value, size) if size else 0
        if r == 0 and size and acl_xattr(name):
            r = acl_ids(c.fs, buf, size, False)
        if r == 0:
            r = xattr_write_ok(c, fd, name, buf, &size)
        if r == 0:
            r = setxattr(proc, name, buf, size, xa.flags)
            r = r if r == 0 else -errno
    elif kind == 0:
        r = <int>xattr_get_app(c, proc, name, buf, size)
        if r > 0 and size and write_mem(c, xa.value, buf, r) < 0:
            r = -EFAULT
    else:
        r = <int>listxattr(proc, buf, size)
        r = r if r >= 0 else -errno
        if r > 0 and size:
            r = <int>xattr_list_filter(c, buf, r)
        if r > 0 and size and write_mem(c, c.args[3], buf, r) < 0:
            r = -EFAULT
    close(fd)
    free(buf)
    ret(c, r)


cdef void h_getxattrat(Call *c) noexcept nogil:
    """getxattrat implements linux syscall getxattrat(2)."""
    do_xattrat(c, 0)


cdef void h_setxattrat(Call *c) noexcept nogil:
    """setxattrat implements linux syscall setxattrat(2)."""
    c.want_write = 1
    do_xattrat(c, 1)


cdef void h_listxattrat(Call *c) noexcept nogil:
    """listxattrat implements linux syscall listxattrat(2)."""
    do_xattrat(c, 2)


cdef void h_removexattrat(Call *c) noexcept nogil:
    """removexattrat implements linux syscall removexattrat(2)."""
    c.want_write = 1
    do_xattrat(c, 3)


cdef void h_eopnotsupp(Call *c) noexcept nogil:
    """name_to_handle_at(2), fanotify_mark(2), file_getattr(2),
    file_setattr(2).  N.B. not served yet: EOPNOTSUPP, as a filesystem
    without them answers."""
    ret(c, -EOPNOTSUPP)


cdef void register_misc() noexcept nogil:
    _register(63, h_kernel)
    _register(170, h_kernel)
    _register(171, h_kernel)
    _register(254, h_inotify_add_watch)
    _register(464, h_getxattrat)
    _register(463, h_setxattrat)
    _register(465, h_listxattrat)
    _register(466, h_removexattrat)
    _register(303, h_eopnotsupp)
    _register(301, h_eopnotsupp)
    _register(468, h_eopnotsupp)
    _register(469, h_eopnotsupp)
