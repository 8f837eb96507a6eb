# stat(2), lstat(2), newfstatat(2), statx(2), statfs(2).

cdef extern from * nogil:
    """
    #include <stdint.h>
    #include <string.h>
    #include <sys/stat.h>
    #pragma pack(push, 1)
    struct pyrunsc_gattr {
        uint32_t mode; uint64_t nlink; uint32_t uid, gid; uint64_t rdev, size;
        uint32_t blksize; uint64_t blocks;
        int64_t as; uint32_t an; int64_t ms; uint32_t mn; int64_t cs;
        uint32_t cn; uint64_t ino, dev;
    };
    #pragma pack(pop)
    static void pyrunsc_attr_stat(const void *p, struct stat *st) {
        struct pyrunsc_gattr a;
        memcpy(&a, p, sizeof a);
        memset(st, 0, sizeof *st);
        st->st_dev = a.dev; st->st_ino = a.ino; st->st_nlink = a.nlink;
        st->st_mode = a.mode; st->st_uid = a.uid; st->st_gid = a.gid;
        st->st_rdev = a.rdev; st->st_size = a.size;
        st->st_blksize = a.blksize; st->st_blocks = a.blocks;
        st->st_atim.tv_sec = a.as; st->st_atim.tv_nsec = a.an;
        st->st_mtim.tv_sec = a.ms; st->st_mtim.tv_nsec = a.mn;
        st->st_ctim.tv_sec = a.cs; st->st_ctim.tv_nsec = a.cn;
    }
    """
    void pyrunsc_attr_stat(const void *a, stat *st)
    int PYRUNSC_GATTR_SIZE "sizeof(struct pyrunsc_gattr)"


cdef int gofer_stat_rel(Call *c, int atflags, stat *st) noexcept nogil:
    """stat of ``c.rel`` in one gofer round trip (a Twalk: its attributes
    are the answer): 0, -errno, or GOFER_SLOW for root_open's way (not a
    gofer mount, ``.``/``..``/a symlink on the way, a trailing slash)."""
    cdef GoferAttr a
    cdef GoferConn *g = <GoferConn *>c.fs.gofer
    cdef int r
    if g == NULL or PYRUNSC_GATTR_SIZE != sizeof(GoferAttr) or has_dots(c.rel):
        return GOFER_SLOW
    if c.fs.mounts[mount_of(c.fs, c.rel)].kind != MK_GOFER:
        return GOFER_SLOW
    if c.as_app:
        g.may_search = app_may_search
        g.perm_ctx = <void *>c
    else:
        g.may_search = NULL
    if dc_usable(c, c.rel):
        r = dc_stat(c, c.rel, not (atflags & AT_SYMLINK_NOFOLLOW), st)
        if r != DC_SKIP:
            return r
    r = gofer_stat(g, c.rel, not (atflags & AT_SYMLINK_NOFOLLOW), &a)
    if r == 0:
        pyrunsc_attr_stat(&a, st)
    return r


cdef void do_stat(Call *c, int dirfd, uint64_t addr, uint64_t buf,
                  int atflags) noexcept nogil:
    cdef stat st
    cdef int fd, r
    if atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT):
        ret(c, -EINVAL)
        return
    if c.fs.gofer != NULL:
        r = read_path(c, addr, c.path)
        if r < 0:
            ret(c, r)
            return
        if r == 0:
            fd = path_fd(c, dirfd, addr, atflags, 0)   # AT_EMPTY_PATH
        else:
            r = join_path(c, dirfd, c.path, r, c.rel)
            if r < 0:
                ret(c, r)
                return
            r = gofer_stat_rel(c, atflags, &st)
            if r != GOFER_SLOW:
                if r == 0:
                    stat_to_app(c.fs, &st)
                    r = write_mem(c, buf, &st, sizeof(st))
                ret(c, r)
                return
            fd = rel_fd(c, atflags, 0)
    else:
        fd = path_fd(c, dirfd, addr, atflags, 0)
    if fd < 0:
        ret(c, fd)
        return
    r = fstat(fd, &st)
    r = r if r == 0 else -errno
    close(fd)
    if r == 0:
        stat_to_app(c.fs, &st)
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
        statx_to_app(c.fs, stx)
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
