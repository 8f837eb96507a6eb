# chmod(2), fchmodat(2), fchmodat2(2), chown(2), lchown(2), fchownat(2),
# utimensat(2), utime(2), utimes(2), futimesat(2), truncate(2).

from posix.time cimport timespec

cdef extern from "<sys/stat.h>" nogil:
    int utimensat(int dirfd, const char *path, const timespec *times, int flags)
    int chmod(const char *path, unsigned int mode)

cdef extern from "<errno.h>":
    int EOPNOTSUPP


cdef void do_chmod(Call *c, int dirfd, uint64_t addr, unsigned int mode,
                   int flags) noexcept nogil:
    c.want_write = 1
    cdef int fd, r
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        ret(c, -EINVAL)
        return
    fd = path_fd(c, dirfd, addr, flags, 0)
    if fd < 0:
        ret(c, fd)
        return
    cdef char proc[64]
    cdef stat st
    if flags & AT_SYMLINK_NOFOLLOW and fstat(fd, &st) == 0 and S_ISLNK(st.st_mode):
        close(fd)
        ret(c, -EOPNOTSUPP)        # as fchmodat2(2) for a symlink
        return
    # fchmodat2(fd, "", AT_EMPTY_PATH) refuses O_PATH fds: go through the
    # fd's /proc link, which lands on the file itself
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    r = chmod(proc, mode & 0o7777)
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_chmod(Call *c) noexcept nogil:
    """chmod implements linux syscall chmod(2)."""
    do_chmod(c, AT_FDCWD, c.args[0], <unsigned int>c.args[1], 0)


cdef void h_fchmodat(Call *c) noexcept nogil:
    """fchmodat implements linux syscall fchmodat(2) (no flags argument)."""
    do_chmod(c, <int>c.args[0], c.args[1], <unsigned int>c.args[2], 0)


cdef void h_fchmodat2(Call *c) noexcept nogil:
    """fchmodat2 implements linux syscall fchmodat2(2)."""
    do_chmod(c, <int>c.args[0], c.args[1], <unsigned int>c.args[2],
             <int>c.args[3])


cdef void do_chown(Call *c, int dirfd, uint64_t addr, unsigned int uid,
                   unsigned int gid, int flags) noexcept nogil:
    c.want_write = 1
    cdef int fd, r
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        ret(c, -EINVAL)
        return
    fd = path_fd(c, dirfd, addr, flags, 0)
    if fd < 0:
        ret(c, fd)
        return
    # the app's ids are its user namespace's (ids.pxi)
    r = ids_from_app(c.fs, &uid, &gid)
    if r < 0:
        close(fd)
        ret(c, r)
        return
    r = fchownat(fd, b"", uid, gid, AT_EMPTY_PATH)
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_chown(Call *c) noexcept nogil:
    """chown implements linux syscall chown(2)."""
    do_chown(c, AT_FDCWD, c.args[0], <unsigned int>c.args[1],
             <unsigned int>c.args[2], 0)


cdef void h_lchown(Call *c) noexcept nogil:
    """lchown implements linux syscall lchown(2)."""
    do_chown(c, AT_FDCWD, c.args[0], <unsigned int>c.args[1],
             <unsigned int>c.args[2], AT_SYMLINK_NOFOLLOW)


cdef void h_fchownat(Call *c) noexcept nogil:
    """fchownat implements linux syscall fchownat(2)."""
    do_chown(c, <int>c.args[0], c.args[1], <unsigned int>c.args[2],
             <unsigned int>c.args[3], <int>c.args[4])


cdef void do_utimes(Call *c, int dirfd, uint64_t addr, int64_t *ts,
                    int flags) noexcept nogil:
    """``ts`` is two timespecs (sec, nsec) or NULL for "now"."""
    c.want_write = 1
    cdef int fd, r
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        ret(c, -EINVAL)
        return
    if addr == 0:
        # "If pathname is NULL, then the call modifies the timestamps of the
        # file referred to by the file descriptor dirfd" - utimensat(2)
        fd = caps_wrt_fd(c, open_app_fd(c, dirfd, O_PATH))
    else:
        fd = path_fd(c, dirfd, addr, flags, 0)
    if fd < 0:
        ret(c, fd)
        return
    r = utimensat(fd, b"", <timespec *>ts, AT_EMPTY_PATH)
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void h_utimensat(Call *c) noexcept nogil:
    """utimensat implements linux syscall utimensat(2)."""
    cdef int64_t ts[4]
    cdef int r
    if c.args[2]:
        r = read_mem(c, ts, c.args[2], sizeof(ts))
        if r < 0:
            ret(c, r)
            return
        do_utimes(c, <int>c.args[0], c.args[1], ts, <int>c.args[3])
    else:
        do_utimes(c, <int>c.args[0], c.args[1], NULL, <int>c.args[3])


cdef int timevals(Call *c, uint64_t addr, int64_t *ts) noexcept nogil:
    """Read a struct timeval[2] into timespecs; -EINVAL on bad usec."""
    cdef int r = read_mem(c, ts, addr, 4 * sizeof(int64_t))
    if r < 0:
        return r
    if not (0 <= ts[1] < 1000000 and 0 <= ts[3] < 1000000):
        return -EINVAL
    ts[1] *= 1000
    ts[3] *= 1000
    return 0


cdef void h_utimes(Call *c) noexcept nogil:
    """utimes implements linux syscall utimes(2)."""
    cdef int64_t ts[4]
    cdef int r
    if c.args[1] == 0:
        do_utimes(c, AT_FDCWD, c.args[0], NULL, 0)
        return
    r = timevals(c, c.args[1], ts)
    if r < 0:
        ret(c, r)
        return
    do_utimes(c, AT_FDCWD, c.args[0], ts, 0)


cdef void h_futimesat(Call *c) noexcept nogil:
    """futimesat implements linux syscall futimesat(2)."""
    cdef int64_t ts[4]
    cdef int r
    if c.args[2] == 0:
        do_utimes(c, <int>c.args[0], c.args[1], NULL, 0)
        return
    r = timevals(c, c.args[2], ts)
    if r < 0:
        ret(c, r)
        return
    do_utimes(c, <int>c.args[0], c.args[1], ts, 0)


cdef void h_utime(Call *c) noexcept nogil:
    """utime implements linux syscall utime(2)."""
    cdef int64_t ub[2]
    cdef int64_t ts[4]
    cdef int r
    if c.args[1] == 0:
        do_utimes(c, AT_FDCWD, c.args[0], NULL, 0)
        return
    r = read_mem(c, ub, c.args[1], sizeof(ub))
    if r < 0:
        ret(c, r)
        return
    ts[0] = ub[0]
    ts[1] = 0
    ts[2] = ub[1]
    ts[3] = 0
    do_utimes(c, AT_FDCWD, c.args[0], ts, 0)


cdef void h_truncate(Call *c) noexcept nogil:
    """truncate implements linux syscall truncate(2)."""
    c.want_write = 1
    cdef int n, fd, r
    cdef stat st
    if <int64_t>c.args[1] < 0:
        ret(c, -EINVAL)
        return
    n = read_path(c, c.args[0], c.path)
    if n < 0:
        ret(c, n)
        return
    n = join_path(c, AT_FDCWD, c.path, n, c.rel)
    if n < 0:
        ret(c, n)
        return
    # "EISDIR ... a directory", "EINVAL ... not a regular file" come
    # before any write check and open nothing (a device is never opened
    # to be truncated) - truncate(2)
    c.want_write = 0
    fd = root_open(c, c.rel, O_PATH, 0, 0)
    c.want_write = 1
    if fd >= 0:
        r = fstat(fd, &st)
        close(fd)
        if r == 0 and not S_ISREG(st.st_mode):
            ret(c, -EISDIR if S_ISDIR(st.st_mode) else -EINVAL)
            return
    fd = root_open(c, c.rel, O_WRONLY | O_NONBLOCK, 0, 0)
    if fd < 0:
        ret(c, -EINVAL if fd == -ENXIO else fd)
        return
    r = ftruncate(fd, <long>c.args[1])
    r = r if r == 0 else -errno
    close(fd)
    ret(c, r)


cdef void register_attr() noexcept nogil:
    _register(90, h_chmod)
    _register(268, h_fchmodat)
    _register(452, h_fchmodat2)
    _register(92, h_chown)
    _register(94, h_lchown)
    _register(260, h_fchownat)
    _register(280, h_utimensat)
    _register(235, h_utimes)
    _register(261, h_futimesat)
    _register(132, h_utime)
    _register(76, h_truncate)
