# readlink(2), readlinkat(2).

cdef enum:
    SPECIAL_NONE = -100000


cdef ssize_t special_readlink(Call *c, char *out) noexcept with gil:
    """The special filesystems' target for the link ``c.canon`` (the path
    root_open resolved) when its mount is special: its length, -errno, or
    SPECIAL_NONE (not theirs: the kernel's link)."""
    cdef int mi = mount_of(c.fs, c.canon)
    cdef int k = c.fs.mounts[mi].plen
    cdef const char *rest = c.canon + k
    cdef bytes b
    if c.fs.mounts[mi].kind != MK_SPECIAL:
        return SPECIAL_NONE
    while rest[0] == b'/':
        rest += 1
    try:
        res = (<object>c.fs.view).special(
            c.tid, c.fs.root_fd, c.fs.mounts[mi].point[:k] or b"/",
            <bytes>rest, "readlink", 0, 0)
    except BaseException:
        return -EIO
    if res is None:
        return SPECIAL_NONE
    if isinstance(res, int):
        return res
    b = res
    if len(b) > PATH_BUF:
        return -ENAMETOOLONG
    memcpy(out, <char *>b, len(b))
    return len(b)


cdef ssize_t own_magic_link(Call *c, int n, char *out) noexcept nogil:
    """The caller's own /proc/self/exe (or thread-self, cwd, root), read in
    C from the host's /proc/<tid>: every static binary's start-up reads
    its exe (glibc), and the special filesystems' Python answer costs a
    millisecond.  The length, or SPECIAL_NONE when this is not that case
    or the target lies outside the root (Python's way then)."""
    cdef const char *name
    cdef char proc[64]
    cdef ssize_t k
    cdef int mi
    if not c.fs.special or c.fs.nmounts == 0:
        return SPECIAL_NONE
    if n > 10 and memcmp(c.path, b"/proc/self/", 11) == 0:
        name = c.path + 11
    elif n > 17 and memcmp(c.path, b"/proc/thread-self/", 18) == 0:
        name = c.path + 18
    else:
        return SPECIAL_NONE
    if strcmp(name, b"exe") != 0 and strcmp(name, b"cwd") != 0 and \
            strcmp(name, b"root") != 0:
        return SPECIAL_NONE
    mi = mount_of(c.fs, b"/proc")
    if c.fs.mounts[mi].kind != MK_SPECIAL or c.fs.mounts[mi].plen != 5:
        return SPECIAL_NONE
    snprintf(proc, sizeof(proc), "/proc/%d/%s", c.tid, name)
    k = readlink(proc, c.tmp, PATH_BUF)
    if k <= 0 or k >= PATH_BUF or c.tmp[0] != b'/':
        return SPECIAL_NONE
    k = strip_root(c.fs, c.tmp, k, out)
    return k if k > 0 else SPECIAL_NONE


cdef void do_readlink(Call *c, int dirfd, uint64_t addr, uint64_t buf,
                      int64_t size, int empty) noexcept nogil:
    cdef int fd, r, k
    cdef ssize_t n
    if <int>size <= 0:
        ret(c, -EINVAL)
        return
    k = read_path(c, addr, c.path)
    if k < 0:
        ret(c, k)
        return
    n = own_magic_link(c, k, c.canon)
    if n != SPECIAL_NONE:
        if n > <int>size:
            n = <int>size
        r = write_mem(c, buf, c.canon, n)
        ret(c, r if r < 0 else n)
        return
    fd = path_fd_read(c, dirfd, k, AT_SYMLINK_NOFOLLOW | empty, 0)
    if fd < 0:
        ret(c, fd)
        return
    n = -1
    if c.fs.special and c.fs.nmounts and c.path[0] != 0:
        # /proc/self & co. name the caller, not the sentry: the special
        # filesystems answer (sentry.fs.special, op "readlink")
        n = special_readlink(c, c.tmp)
        if n != SPECIAL_NONE:
            close(fd)
            if n < 0:
                ret(c, n)
                return
    if n == SPECIAL_NONE or n == -1:
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
