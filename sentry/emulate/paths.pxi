# Reading app memory and resolving app paths inside the container root.

cdef uint64_t RESOLVE_SAFE = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS


cdef int read_mem(Call *c, void *dst, uint64_t addr, size_t n) noexcept nogil:
    """Copy ``n`` bytes of app memory; 0, or -EFAULT/-ESRCH."""
    cdef iovec local, remote
    cdef ssize_t r
    local.iov_base = dst
    local.iov_len = n
    remote.iov_base = <void *>addr
    remote.iov_len = n
    r = process_vm_readv(c.tid, &local, 1, &remote, 1, 0)
    if r < 0:
        return -ESRCH if errno == ESRCH else -EFAULT
    if <size_t>r != n:
        return -EFAULT
    return 0


cdef int write_mem(Call *c, uint64_t addr, const void *src, size_t n) noexcept nogil:
    cdef iovec local, remote
    cdef ssize_t r
    local.iov_base = <void *>src
    local.iov_len = n
    remote.iov_base = <void *>addr
    remote.iov_len = n
    r = process_vm_writev(c.tid, &local, 1, &remote, 1, 0)
    if r < 0:
        return -ESRCH if errno == ESRCH else -EFAULT
    if <size_t>r != n:
        return -EFAULT
    return 0


cdef int read_path(Call *c, uint64_t addr, char *buf) noexcept nogil:
    """Copy a NUL-terminated path (at most PATH_MAX bytes with the NUL).

    Reads up to the end of the page first, so that a path next to an
    unmapped page is no fault; then the rest.  Returns its length, -EFAULT,
    or -ENAMETOOLONG, as path lookup does - path_resolution(7).  Checks that
    the call is still pending afterwards: from here on only our copy is used.
    """
    cdef iovec local, remote
    cdef ssize_t r
    cdef size_t got = 0, want
    cdef char *z
    if addr == 0:
        return -EFAULT
    while got < PATH_BUF:
        want = 4096 - ((addr + got) & 4095)
        if want > PATH_BUF - got:
            want = PATH_BUF - got
        local.iov_base = buf + got
        local.iov_len = want
        remote.iov_base = <void *>(addr + got)
        remote.iov_len = want
        r = process_vm_readv(c.tid, &local, 1, &remote, 1, 0)
        if r <= 0:
            return -ESRCH if r < 0 and errno == ESRCH else -EFAULT
        z = <char *>memchr(buf + got, 0, r)
        if z != NULL:
            if c.still_valid != NULL and c.still_valid(c) < 0:
                return -ESRCH
            return <int>(z - buf)
        got += r
    return -ENAMETOOLONG


cdef int strip_root(Fs *fs, const char *link, ssize_t n, char *out) noexcept nogil:
    """Turn a path the kernel printed for an app's file into a root-relative
    absolute path in ``out``; -EACCES when it lies outside the root.

    N.B. a file outside the root (an fd the app inherited, a directory moved
    out by the host) is refused with EACCES where a chroot would follow it.
    """
    cdef int p = fs.prefix_len
    if n <= 0 or link[0] != b'/':
        return -ENOTDIR            # pipe:[..], socket:[..], anon_inode:...
    if fs.mode == FS_OWN_NS or p == 0:
        memcpy(out, link, n)
        out[n] = 0
        return <int>n
    if n < p or memcmp(link, fs.prefix, p) != 0 or (n > p and link[p] != b'/'):
        return -EACCES
    if n == p:
        out[0] = b'/'
        out[1] = 0
        return 1
    memcpy(out, link + p, n - p)
    out[n - p] = 0
    return <int>(n - p)


cdef int app_dir(Call *c, int dirfd, char *out) noexcept nogil:
    """The root-relative path of the app's cwd or of its fd ``dirfd``."""
    cdef char proc[64]
    cdef ssize_t n
    if dirfd == AT_FDCWD:
        snprintf(proc, sizeof(proc), "/proc/%d/cwd", c.tid)
    elif dirfd < 0:
        return -EBADF
    else:
        snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", c.tid, dirfd)
    n = readlink(proc, c.tmp, PATH_BUF)
    if n < 0:
        return -EBADF if errno == ENOENT and dirfd != AT_FDCWD else -errno
    if n >= 10 and memcmp(c.tmp + n - 10, b" (deleted)", 10) == 0:
        return -ENOENT
    return strip_root(c.fs, c.tmp, n, out)


cdef int join_path(Call *c, int dirfd, const char *path, int plen, char *out) noexcept nogil:
    """``out`` = the root-relative form of ``path`` seen from ``dirfd``."""
    cdef int n
    if plen == 0:
        return -ENOENT
    if path[0] == b'/':
        memcpy(out, path, plen + 1)
        n = plen
    else:
        n = app_dir(c, dirfd, out)
        if n < 0:
            return n
        if out[n - 1] != b'/':
            out[n] = b'/'
            n += 1
        memcpy(out + n, path, plen + 1)
        n += plen
    if n >= 10 and memcmp(out, b"/proc/", 6) == 0:
        n = proc_self(c, out, n)
    return n


cdef int app_tgid(Call *c, int *tid_ns) noexcept nogil:
    """The caller's process id as its own pid namespace numbers it (the
    last NStgid/NSpid field of /proc/<tid>/status); -1 if unknown."""
    cdef char proc[64]
    cdef char buf[2048]
    cdef int fd, v, last
    cdef ssize_t n
    cdef char *p
    snprintf(proc, sizeof(proc), "/proc/%d/status", c.tid)
    fd = openat(-1, proc, O_RDONLY | O_CLOEXEC)
    if fd < 0:
        return -1
    n = read(fd, buf, sizeof(buf) - 1)
    close(fd)
    if n <= 0:
        return -1
    buf[n] = 0
    last = -1
    p = strstr(buf, "NStgid:")
    if p != NULL:
        p += 7
        while p[0] == b'\t' or p[0] == b' ' or 48 <= p[0] <= 57:
            if 48 <= p[0] <= 57:
                v = 0
                while 48 <= p[0] <= 57:
                    v = v * 10 + (p[0] - 48)
                    p += 1
                last = v
            else:
                p += 1
    tid_ns[0] = -1
    p = strstr(buf, "NSpid:")
    if p != NULL:
        p += 6
        while p[0] == b'\t' or p[0] == b' ' or 48 <= p[0] <= 57:
            if 48 <= p[0] <= 57:
                v = 0
                while 48 <= p[0] <= 57:
                    v = v * 10 + (p[0] - 48)
                    p += 1
                tid_ns[0] = v
            else:
                p += 1
    return last


cdef int proc_self(Call *c, char *rel, int n) noexcept nogil:
    """/proc/self and /proc/thread-self name the caller, not the sentry:
    rewrite them to the caller's pid (N.B. until the sentry serves /proc)."""
    cdef int k, tgid, tid_ns = -1, m
    cdef char head[64]
    if memcmp(rel, b"/proc/self", 10) == 0 and (rel[10] == 0 or rel[10] == b'/'):
        k = 10
    elif n >= 17 and memcmp(rel, b"/proc/thread-self", 17) == 0 and (
            rel[17] == 0 or rel[17] == b'/'):
        k = 17
    else:
        return n
    tgid = app_tgid(c, &tid_ns)
    if tgid < 0:
        return n
    if k == 10:
        m = snprintf(head, sizeof(head), "/proc/%d", tgid)
    else:
        m = snprintf(head, sizeof(head), "/proc/%d/task/%d", tgid, tid_ns)
    if n - k + m >= 2 * PATH_BUF:
        return -ENAMETOOLONG
    memmove(rel + m, rel + k, n - k + 1)
    memcpy(rel, head, m)
    return n - k + m


cdef int magic_fd(Call *c, const char *rel) noexcept nogil:
    """The app fd that ``rel`` names through a /proc magic link
    (/proc/<own pid>/fd/N, /dev/fd/N, /dev/std*), else -1."""
    cdef const char *p
    cdef int v, tgid, tid_ns
    if memcmp(rel, b"/dev/", 5) == 0:
        if strcmp(rel, b"/dev/stdin") == 0:
            return 0
        if strcmp(rel, b"/dev/stdout") == 0:
            return 1
        if strcmp(rel, b"/dev/stderr") == 0:
            return 2
        if memcmp(rel, b"/dev/fd/", 8) != 0:
            return -1
        p = rel + 8
    elif memcmp(rel, b"/proc/", 6) == 0 and 48 <= rel[6] <= 57:
        p = rel + 6
        v = 0
        while 48 <= p[0] <= 57:
            v = v * 10 + (p[0] - 48)
            p += 1
        if memcmp(p, b"/fd/", 4) != 0:
            return -1
        tgid = app_tgid(c, &tid_ns)
        if v != tgid:
            return -1
        p += 4
    else:
        return -1
    if not (48 <= p[0] <= 57):
        return -1
    v = 0
    while 48 <= p[0] <= 57:
        v = v * 10 + (p[0] - 48)
        if v > 1 << 24:
            return -1
        p += 1
    while p[0] == b'/':
        p += 1
    return v if p[0] == 0 else -1


cdef int root_open(Call *c, const char *rel, uint64_t flags, uint64_t mode,
                   uint64_t resolve) noexcept nogil:
    cdef open_how how
    cdef int fd
    how.flags = flags | O_CLOEXEC
    how.mode = mode
    how.resolve = resolve | RESOLVE_SAFE
    fd = <int>syscall(SYS_openat2, c.fs.root_fd, rel, &how, sizeof(how))
    return fd if fd >= 0 else -errno


cdef int open_app_fd(Call *c, int fd, int flags) noexcept nogil:
    """Open the app's own fd ``fd`` again for the sentry (O_PATH or a mode).

    The kernel's path of that fd must lie inside the root.
    """
    cdef char proc[64]
    cdef int r
    if fd == AT_FDCWD:
        snprintf(proc, sizeof(proc), "/proc/%d/cwd", c.tid)
    elif fd < 0:
        return -EBADF
    else:
        snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", c.tid, fd)
    r = <int>readlink(proc, c.tmp, PATH_BUF)
    if r < 0:
        return -EBADF
    if c.tmp[0] == b'/':
        r = strip_root(c.fs, c.tmp, r, c.rel2)
        if r < 0:
            return r
    r = openat(-1, proc, flags | O_CLOEXEC)
    return r if r >= 0 else -errno


cdef int path_fd(Call *c, int dirfd, uint64_t addr, int atflags,
                 int oflags) noexcept nogil:
    """Resolve (dirfd, path) as the *at syscalls do to a sentry fd.

    ``atflags`` may hold AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH; ``oflags``
    are extra open flags (O_PATH by default).
    """
    cdef int n = read_path(c, addr, c.path)
    if n < 0:
        return n
    if n == 0:
        if atflags & AT_EMPTY_PATH:
            # fd-based: the app could make the same call on its own fd
            # (fstat(2), fchown(2)...), so no containment check is needed;
            # the duplicate is cheaper than a walk through /proc
            if dirfd == AT_FDCWD:
                return open_app_fd(c, dirfd, O_PATH | oflags)
            return app_socket(c, dirfd)
        return -ENOENT
    n = join_path(c, dirfd, c.path, n, c.rel)
    if n < 0:
        return n
    if atflags & AT_SYMLINK_NOFOLLOW:
        oflags |= O_NOFOLLOW
    n = root_open(c, c.rel, O_PATH | oflags, 0, 0)
    if n == -ELOOP and not (atflags & AT_SYMLINK_NOFOLLOW):
        n = magic_fd(c, c.rel)
        if n >= 0:
            return open_app_fd(c, n, O_PATH | (oflags & ~O_NOFOLLOW))
        return -ELOOP
    return n


cdef int split_last(char *rel, int n) noexcept nogil:
    """Split ``rel`` in place into parent and last component.

    Returns the offset of the last component (trailing slashes are kept on
    it, so that the kernel's rules for ``name/`` still apply).  The parent is
    NUL-terminated at that offset - 1, or is "/" for a top-level name.
    """
    cdef int end = n, i
    while end > 1 and rel[end - 1] == b'/':
        end -= 1
    i = end - 1
    while i >= 0 and rel[i] != b'/':
        i -= 1
    return i + 1


cdef int parent_fd(Call *c, int dirfd, uint64_t addr, char *buf, char *rel,
                   const char **last) noexcept nogil:
    """Resolve the parent directory of (dirfd, path); ``last`` = its name.

    For calls that create, remove or rename a name: the kernel then acts on
    ``(fd, last)``, whose ``.`` and ``..`` it refuses by itself (EEXIST,
    EBUSY, ENOTEMPTY) without looking outside the parent.
    """
    cdef int n = read_path(c, addr, buf)
    cdef int k, fd
    if n < 0:
        return n
    n = join_path(c, dirfd, buf, n, rel)
    if n < 0:
        return n
    k = split_last(rel, n)
    if k == 0:                      # "/" itself (or only slashes)
        last[0] = "."
        return root_open(c, "/", O_PATH | O_DIRECTORY, 0, 0)
    last[0] = rel + k
    if k == 1:
        fd = root_open(c, "/", O_PATH | O_DIRECTORY, 0, 0)
    else:
        rel[k - 1] = 0
        fd = root_open(c, rel, O_PATH | O_DIRECTORY, 0, 0)
        rel[k - 1] = b'/'
    return fd


cdef inline void ret(Call *c, int64_t v) noexcept nogil:
    c.action = ACT_RETURN
    c.ret = v


cdef inline int64_t neg_errno(long r) noexcept nogil:
    return r if r >= 0 else -errno


cdef unsigned int app_umask(Call *c) noexcept nogil:
    """The app's umask, from /proc/<tid>/status (creating calls only)."""
    cdef char proc[64]
    cdef char buf[2048]
    cdef int fd
    cdef ssize_t n
    cdef char *p
    cdef unsigned int m = 0o022
    snprintf(proc, sizeof(proc), "/proc/%d/status", c.tid)
    fd = openat(-1, proc, O_RDONLY | O_CLOEXEC)
    if fd < 0:
        return m
    n = read(fd, buf, sizeof(buf) - 1)
    close(fd)
    if n <= 0:
        return m
    buf[n] = 0
    p = <char *>memchr(buf, b'U', n)
    while p != NULL:
        if memcmp(p, b"Umask:\t", 7) == 0:
            p += 7
            m = 0
            while 48 <= p[0] <= 55:
                m = m * 8 + (p[0] - 48)
                p += 1
            return m
        p = <char *>memchr(p + 1, b'U', buf + n - p - 1)
    return m
