# open(2), openat(2), creat(2), openat2(2).

cdef int VALID_OPEN = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC |
                       O_APPEND | O_NONBLOCK | O_SYNC | O_ASYNC | O_DIRECT |
                       O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME |
                       O_CLOEXEC | O_PATH | O_TMPFILE)
cdef int SETFL_MASK = O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME


cdef int kernel_path(Call *c, int fd, char *out) noexcept nogil:
    """The path of our ``fd`` as the app's kernel view names it."""
    cdef char proc[64]
    cdef ssize_t n
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    n = readlink(proc, c.tmp, PATH_BUF)
    if n < 0:
        return -errno
    if n >= PATH_BUF:
        return -ENAMETOOLONG
    if c.fs.app_rooted and c.fs.mode == FS_PREFIXED:
        return strip_root(c.fs, c.tmp, n, out)
    memcpy(out, c.tmp, n)
    out[n] = 0
    return <int>n


cdef int gofer_path(Call *c, int fd, char *out) noexcept nogil:
    """kernel_path(), except for a file the gofer walked to: its path in the
    container is the one the sentry resolved (c.canon), which is the path
    the app's own mount namespace names it by."""
    cdef int n
    if not c.last_gofer:
        return kernel_path(c, fd, out)
    n = <int>strlen(c.canon)
    if c.fs.mode == FS_PREFIXED and not c.fs.app_rooted:
        if n + c.fs.prefix_len >= PATH_BUF:
            return -ENAMETOOLONG
        memcpy(out, c.fs.prefix, c.fs.prefix_len)
        memcpy(out + c.fs.prefix_len, c.canon, n + 1)
        return n + c.fs.prefix_len
    memcpy(out, c.canon, n + 1)
    return n


cdef void open_rewrite(Call *c, int flags, uint64_t resolve) noexcept nogil:
    """ptrace: resolve safely, then hand the kernel the resolved path.

    N.B. the kernel opens it again by path in the app's own root; a
    concurrent rename inside the container can change what it finds, never
    lead outside that root (docs/sentry.md).
    """
    cdef int fd, n, k
    cdef stat st
    cdef uint64_t look = O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY))
    if c.fs.special and c.fs.app_rooted and c.rel[0] == b'/' and \
            c.fs.mounts[mount_of(c.fs, c.rel)].kind == MK_SPECIAL:
        # /proc, /sys, /dev: the kernel opens the path in the app's own
        # pid, network, UTS and IPC namespaces, cgroup and root, so that
        # /proc/self, fd links, sysctls and the device cgroup are the
        # app's.  The files sentry.fs.special synthesizes (meminfo,
        # cpuinfo...) become a memfd the app creates itself and the sentry
        # fills at the call's exit (SLOW_MEMFD).
        n = special_content(c, flags)
        if n == 1:
            return                  # c.rel/c.open_flags/c.slow are set
        if n < 0:
            ret(c, n)
            return
        c.open_flags = flags
        c.slow = SLOW_RESTART       # a tty or FIFO open may block
        c.action = ACT_REWRITE
        return
    fd = root_open(c, c.rel, look, 0, resolve)
    if c.fs.nmounts and fd >= 0 and not c.last_gofer and write_intent(flags):
        c.last_ro = fd_mount_ro(c, fd, c.last_ro)
    if c.last_ro and write_intent(flags) and not (flags & O_PATH):
        n = ro_open(c, fd, flags)      # closes fd
        if n <= 0:
            ret(c, n)
            return
        fd = root_open(c, c.rel, look, 0, resolve)
    if fd >= 0 and not (flags & O_PATH) and fstat(fd, &st) == 0:
        if S_ISCHR(st.st_mode) or S_ISBLK(st.st_mode):
            # the app opens it itself, but the container's device rules
            # are the sentry's to apply on every host (devcheck.pxi)
            n = device_verdict(c, fd, flags) if c.fs.view != NULL else 0
            if n < 0:
                close(fd)
                ret(c, n)
                return
        if S_ISFIFO(st.st_mode) or S_ISCHR(st.st_mode):
            c.slow = SLOW_RESTART
    if fd >= 0:
        if (flags & O_CREAT) and (flags & O_EXCL):
            close(fd)
            ret(c, -EEXIST)
            return
        n = gofer_path(c, fd, c.rel2)
        close(fd)
        if n < 0:
            ret(c, n)
            return
        c.open_flags = flags | O_NOFOLLOW if not (flags & O_PATH) else flags
    elif fd == -ENOENT and (flags & O_CREAT):
        if c.fs.view != NULL and not (flags & (O_EXCL | O_NOFOLLOW)):
            # a dangling symlink as the last name: O_CREAT creates its
            # target - open(2)
            k = root_open(c, c.rel, O_PATH | O_NOFOLLOW, 0, resolve)
            if k >= 0:
                close(k)
                n = canonicalize(c, c.rel, True, c.canon)
                if n < 0:
                    ret(c, n)
                    return
                memcpy(c.rel, c.canon, n + 1)
        n = <int>strlen(c.rel)
        k = split_last(c.rel, n)
        if k <= 1:
            fd = root_open(c, "/", O_PATH | O_DIRECTORY, 0, resolve)
        else:
            c.rel[k - 1] = 0
            fd = root_open(c, c.rel, O_PATH | O_DIRECTORY, 0, resolve)
        if fd < 0:
            ret(c, fd)
            return
        if c.last_ro:
            close(fd)
            ret(c, -EROFS)
            return
        n = gofer_path(c, fd, c.rel2)
        close(fd)
        if n < 0:
            ret(c, n)
            return
        if n + 1 + <int>strlen(c.rel + k) >= PATH_BUF:
            ret(c, -ENAMETOOLONG)
            return
        if c.rel2[n - 1] != b'/':
            c.rel2[n] = b'/'
            n += 1
        memcpy(c.rel2 + n, c.rel + k, strlen(c.rel + k) + 1)
        c.open_flags = flags | O_NOFOLLOW
    else:
        ret(c, fd)
        return
    memcpy(c.rel, c.rel2, strlen(c.rel2) + 1)
    c.action = ACT_REWRITE


cdef int o_path_fd(Call *c, int fd) noexcept nogil:
    """SECCOMP_IOCTL_NOTIF_ADDFD cannot install an O_PATH file (fget(9)
    refuses them).  N.B. a directory or regular file is installed as an
    O_RDONLY reopen of the resolved file; anything else (a symlink opened
    with O_NOFOLLOW, a FIFO, a device) is left to the kernel in the app's
    own mount namespace and root, where an O_PATH fd can neither read nor
    write (docs/sentry.md)."""
    cdef stat st
    cdef char proc[64]
    cdef int r
    if fstat(fd, &st) == 0 and (S_ISDIR(st.st_mode) or S_ISREG(st.st_mode)):
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
        r = openat(-1, proc, O_RDONLY | O_CLOEXEC |
                   (O_DIRECTORY if S_ISDIR(st.st_mode) else 0))
        r = r if r >= 0 else -errno
        close(fd)
        if r == -EACCES:            # O_PATH needs no read permission
            c.action = ACT_CONTINUE
        elif r < 0:
            ret(c, r)
        return r
    close(fd)
    c.action = ACT_CONTINUE
    return -1


cdef void do_open(Call *c, int dirfd, uint64_t addr, int flags,
                  uint64_t mode, uint64_t resolve) noexcept nogil:
    cdef int n, fd, added = 0
    cdef stat st
    n = read_path(c, addr, c.path)
    if n < 0:
        ret(c, n)
        return
    n = join_path(c, dirfd, c.path, n, c.rel)
    if n < 0:
        ret(c, n)
        return
    flags &= VALID_OPEN
    if flags & (O_CREAT | O_TMPFILE) == 0:
        mode = 0
    else:
        mode &= 0o7777 & ~app_umask(c)
    c.args[3] = mode
    if c.rewrite:
        open_rewrite(c, flags, resolve)
        return
    # Never block the loop: a FIFO's open waits for its peer - fifo(7).
    if flags & (O_PATH | O_NONBLOCK) == 0:
        added = 1
        flags |= O_NONBLOCK
    fd = root_open(c, c.rel, flags, mode, resolve)
    if fd == -ELOOP and not (flags & O_NOFOLLOW):
        n = magic_fd(c, c.rel)
        if n >= 0:                  # /dev/stdin, /proc/self/fd/N: reopen
            fd = open_app_fd(c, n, O_PATH)
            if fd >= 0:
                fd = checked_reopen(c, fd, flags & ~(O_CREAT | O_EXCL |
                                                     O_NOFOLLOW), 0)
    if fd < 0:
        if fd == -ENXIO and added:
            # a FIFO without reader: the blocking open waits for one
            c.open_flags = flags & ~O_NONBLOCK
            c.fd = -1
            c.action = ACT_SLOW
            return
        ret(c, fd)
        return
    if flags & O_PATH:
        fd = o_path_fd(c, fd)
        if fd < 0:
            return
    elif added:
        if (flags & O_ACCMODE) == O_RDONLY and fstat(fd, &st) == 0 and \
                S_ISFIFO(st.st_mode):
            # A reader waits for a writer.  Our non-blocking open already
            # counts as a reader, as a blocked open does: keep it (c.fd)
            # until the blocking open on the slow path returns, so that a
            # writer arriving meanwhile finds its reader - fifo(7).
            c.open_flags = flags & ~O_NONBLOCK
            c.fd = fd
            c.action = ACT_SLOW
            return
        # a writer that found its reader, or not a FIFO: as if it blocked
        fcntl(fd, F_SETFL, flags & SETFL_MASK)
    c.action = ACT_FD
    c.fd = fd
    c.fd_flags = O_CLOEXEC if flags & O_CLOEXEC else 0


cdef void h_open(Call *c) noexcept nogil:
    """open implements linux syscall open(2)."""
    do_open(c, AT_FDCWD, c.args[0], <int>c.args[1], c.args[2], 0)


cdef void h_openat(Call *c) noexcept nogil:
    """openat implements linux syscall openat(2)."""
    do_open(c, <int>c.args[0], c.args[1], <int>c.args[2], c.args[3], 0)


cdef void h_creat(Call *c) noexcept nogil:
    """creat implements linux syscall creat(2): "equivalent to open() with
    flags equal to O_CREAT|O_WRONLY|O_TRUNC" - open(2)."""
    do_open(c, AT_FDCWD, c.args[0], O_CREAT | O_WRONLY | O_TRUNC, c.args[1], 0)


cdef void h_openat2(Call *c) noexcept nogil:
    """openat2 implements linux syscall openat2(2).

    RESOLVE_BENEATH / RESOLVE_IN_ROOT asked by the app are relative to its
    dirfd: they are served from that directory's own fd (inside the root),
    which confines the walk at least as much as our root does.
    """
    cdef open_how how
    cdef uint64_t size = c.args[3]
    cdef int r, dfd, cloexec
    if size < 24:
        ret(c, -EINVAL)
        return
    r = read_mem(c, &how, c.args[2], 24)
    if r < 0:
        ret(c, r)
        return
    if how.flags & ~(<uint64_t>VALID_OPEN) or how.flags >> 32:
        ret(c, -EINVAL)
        return
    if how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT):
        if c.rewrite:
            ret(c, -ENOSYS)
            return
        r = read_path(c, c.args[1], c.path)
        if r < 0:
            ret(c, r)
            return
        dfd = open_app_fd(c, <int>c.args[0], O_PATH | O_DIRECTORY)
        if dfd < 0:
            ret(c, dfd)
            return
        cloexec = <int>(how.flags & O_CLOEXEC)
        r = checked_openat2(c, dfd, c.path, how.flags, how.mode,
                            how.resolve | RESOLVE_NO_MAGICLINKS)
        close(dfd)
        if r < 0:
            ret(c, r)
            return
        c.action = ACT_FD
        c.fd = r
        c.fd_flags = O_CLOEXEC if cloexec else 0
        return
    if how.flags & (O_CREAT | O_TMPFILE) == 0 and how.mode != 0:
        ret(c, -EINVAL)
        return
    do_open(c, <int>c.args[0], c.args[1], <int>how.flags, how.mode,
            how.resolve)


cdef void register_open() noexcept nogil:
    _register(2, h_open)
    _register(257, h_openat)
    _register(85, h_creat)
    _register(437, h_openat2)
