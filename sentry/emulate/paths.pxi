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
    if n >= 10 and memcmp(out, b"/proc/", 6) == 0 and not c.fs.special:
        # (with a view, sentry.fs.special serves /proc/self itself)
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


cdef int local_open(Call *c, const char *rel, uint64_t flags, uint64_t mode,
                    uint64_t resolve) noexcept nogil:
    """openat2 inside the app's root fd (directfs, local mounts); in a user
    namespace also the directories walked are checked as the app.  Opens
    that are not O_PATH go through checked_local_open (devcheck.pxi)."""
    cdef int fd, k
    if not ns_caps_held(c):
        return local_openat2(c, rel, flags, mode, resolve)
    # In a user namespace the app's capabilities depend on the owners
    # (ids.pxi): resolve first, check the directories walked, then open
    # what was resolved.
    fd = local_openat2(c, rel, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)),
                       0, resolve)
    if fd >= 0:
        k = local_walk_ok(c, fd, False)
        if k < 0:
            close(fd)
            return k
        if flags & O_PATH:
            return fd
        return open_resolved(c, fd, flags, mode)
    if fd != -ENOENT or not (flags & O_CREAT) or \
            (flags & O_TMPFILE) == O_TMPFILE:
        return fd
    return local_create(c, rel, flags, mode, resolve)


cdef int local_create(Call *c, const char *rel, uint64_t flags,
                      uint64_t mode, uint64_t resolve) noexcept nogil:
    """O_CREAT of ``rel`` through the app's root fd in a user namespace:
    its parent resolved, the directories walked checked as the app, then
    created in it with the capabilities that apply there (ids.pxi)."""
    cdef int fd, k, n
    cdef char parent[PATH_BUF + 1]
    n = <int>strlen(rel)
    memcpy(parent, rel, n + 1)
    k = split_last(parent, n)
    if parent[n - 1] == b'/':
        return -EISDIR
    if k <= 1:
        fd = local_openat2(c, "/", O_PATH | O_DIRECTORY, 0, resolve)
    else:
        parent[k - 1] = 0
        fd = local_openat2(c, parent, O_PATH | O_DIRECTORY, 0, resolve)
    if fd >= 0:
        n = local_walk_ok(c, fd, True)
        if n < 0:
            close(fd)
            return n
    return create_in(c, fd, rel + k, flags, mode)


cdef int local_openat2(Call *c, const char *rel, uint64_t flags,
                       uint64_t mode, uint64_t resolve) noexcept nogil:
    cdef open_how how
    cdef int fd
    how.flags = flags | O_CLOEXEC
    how.mode = mode
    how.resolve = resolve | RESOLVE_SAFE
    fd = <int>syscall(SYS_openat2, c.fs.root_fd, rel, &how, sizeof(how))
    return fd if fd >= 0 else -errno


# -- the mount table and the backends ---------------------------------------

cdef int mount_of(Fs *fs, const char *p) noexcept nogil:
    """Index of the mount with the longest point that prefixes ``p``."""
    cdef int i, best = 0, blen = -1, k
    for i in range(fs.nmounts):
        k = fs.mounts[i].plen
        if k > blen and (k == 0 or (memcmp(p, fs.mounts[i].point, k) == 0 and
                                    (p[k] == 0 or p[k] == b'/'))):
            best = i
            blen = k
    return best


cdef bint has_dots(const char *p) noexcept nogil:
    """``p`` has a ``.`` or ``..`` name (lexical mount lookup would lie)."""
    cdef int i = 0
    while p[i] != 0:
        if p[i] == b'.' and (i == 0 or p[i - 1] == b'/'):
            if p[i + 1] == 0 or p[i + 1] == b'/':
                return True
            if p[i + 1] == b'.' and (p[i + 2] == 0 or p[i + 2] == b'/'):
                return True
        i += 1
    return False


cdef int canonicalize(Call *c, const char *rel, bint follow, char *out) noexcept with gil:
    """The slow path: View.canonical (with the GIL) into ``out``."""
    cdef Py_ssize_t n
    cdef bytes b
    try:
        res = (<object>c.fs.view).canonical(c.fs.root_fd, <bytes>rel, follow)
        if isinstance(res, int):
            return res
        b = res
        n = len(b)
        if n >= PATH_BUF:
            return -ENAMETOOLONG
        memcpy(out, <char *>b, n)
        out[n] = 0
        return <int>n
    except BaseException:
        return -EIO


cdef int special_open(Call *c, int mi, const char *p, uint64_t flags,
                      uint64_t mode, int *handled) noexcept with gil:
    """sentry.fs.special.serve for ``p`` (in special mount ``mi``)."""
    cdef int k = c.fs.mounts[mi].plen
    cdef const char *rest = p + k
    handled[0] = 0
    while rest[0] == b'/':
        rest += 1
    try:
        op = ("stat" if not flags & O_NOFOLLOW else "lstat") \
            if flags & O_PATH else "open"
        res = (<object>c.fs.view).special(
            c.tid, c.fs.root_fd, c.fs.mounts[mi].point[:k] or b"/",
            <bytes>rest, op, <int>(flags & ~O_CLOEXEC), <int>mode)
        if isinstance(res, int):
            handled[0] = 1
            return res
        return 0
    except BaseException:
        handled[0] = 1
        return -EIO


cdef inline bint write_intent(uint64_t flags) noexcept nogil:
    return ((flags & O_ACCMODE) != O_RDONLY or
            (flags & (O_TRUNC | O_CREAT)) != 0 or
            (flags & O_TMPFILE) == O_TMPFILE)


cdef int ro_open(Call *c, int fd, uint64_t flags) noexcept nogil:
    """An open that resolved to ``fd`` (O_PATH, or -errno) on a read-only
    mount: the answer Linux gives, or 1 when the open may go on."""
    cdef stat st
    if fd < 0:
        if fd == -ENOENT and flags & O_CREAT:
            return -EROFS
        return fd
    if flags & O_CREAT and flags & O_EXCL:
        close(fd)
        return -EEXIST
    if (flags & O_ACCMODE) != O_RDONLY or flags & O_TRUNC or \
            (flags & O_TMPFILE) == O_TMPFILE:
        if fstat(fd, &st) == 0 and S_ISDIR(st.st_mode) and \
                (flags & O_TMPFILE) != O_TMPFILE:
            close(fd)
            return -EISDIR
        close(fd)
        return -EROFS
    close(fd)
    return 1


cdef int reopen_fd(int fd, uint64_t flags, uint64_t mode) noexcept nogil:
    cdef char proc[64]
    cdef int r
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    r = openat(-1, proc, <int>((flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) |
                               O_CLOEXEC), <int>mode)
    return r if r >= 0 else -errno


cdef int app_may_search(void *ctx, const GoferAttr *a) noexcept nogil:
    """The gofer walk's search check (``may_search``)."""
    return may_search(<Call *>ctx, a.uid, a.gid, a.mode)


cdef int may_search(Call *c, uint32_t uid, uint32_t gid,
                    uint32_t mode) noexcept nogil:
    """Search (x) permission of a directory owned by (uid, gid) for the
    caller's fsuid, fsgid and groups - path_resolution(7) "Permissions" -
    or its CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH where they apply (ids.pxi)."""
    cdef uint32_t bits
    cdef int i
    if c.cred_caps & ((1 << 1) | (1 << 2)) and privileged_wrt(c.fs, uid, gid):
        return 0
    if c.cred_uid == uid:
        bits = mode >> 6
    else:
        bits = mode
        if c.cred_gid == gid:
            bits = mode >> 3
        else:
            for i in range(c.ngroups):
                if c.groups[i] == gid:
                    bits = mode >> 3
                    break
    return 0 if bits & 1 else -EACCES


cdef int gofer_backend(Call *c, MountC *m, char *p, uint64_t flags,
                       uint64_t mode, uint64_t resolve) noexcept nogil:
    """Open ``p`` (absolute, in a gofer mount) through the gofer: the gofer
    walks to an O_PATH fd (it alone resolves names on the host); the sentry
    then reopens that fd, or creates in the walked parent, with the app's
    credentials, so the kernel's permission checks are the app's."""
    cdef GoferConn *g = <GoferConn *>c.fs.gofer
    cdef int fd, pfd, k, n, r
    cdef uint64_t look
    cdef stat st
    cdef bint tmpfile = (flags & O_TMPFILE) == O_TMPFILE
    look = O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY))
    if c.as_app:
        g.may_search = app_may_search
        g.perm_ctx = <void *>c
    else:
        g.may_search = NULL
    fd = walk_opath(c, p, look)
    if fd == GOFER_SLOW:
        return fd
    if fd == -EACCES or fd == -ENXIO:
        # devices, which the gofer never opens: the app's own view, after
        # the container's device rules (sentry/fs/devcheck.pxi)
        return checked_local_open(c, p, flags, mode, resolve)
    if fd >= 0 and c.want_write and m.ro:
        close(fd)
        return -EROFS
    if flags & O_PATH:
        return fd
    if m.ro and (write_intent(flags)):
        r = ro_open(c, fd, flags)
        if r <= 0:
            return r
        fd = walk_opath(c, p, look)
        if fd < 0:
            return fd
    if fd >= 0:
        return open_resolved(c, fd, flags, mode)
    if fd != -ENOENT or not (flags & O_CREAT) or tmpfile:
        return fd
    # create the last name in its parent, as the app
    n = <int>strlen(p)
    k = split_last(p, n)
    if p[n - 1] == b'/':
        return -EISDIR
    if k <= 1:
        pfd = walk_opath(c, "/", O_PATH | O_DIRECTORY)
    else:
        p[k - 1] = 0
        pfd = walk_opath(c, p, O_PATH | O_DIRECTORY)
        p[k - 1] = b'/'
    return create_in(c, pfd, p + k, flags, mode)


cdef int open_resolved(Call *c, int fd, uint64_t flags,
                       uint64_t mode) noexcept nogil:
    """Open the file of our O_PATH ``fd`` (closed here) as the app asked,
    with the app's credentials: the kernel checks the final file only."""
    cdef stat st
    cdef int r
    if flags & O_CREAT and flags & O_EXCL:
        close(fd)
        return -EEXIST
    if flags & O_CREAT and fstat(fd, &st) == 0 and S_ISDIR(st.st_mode):
        close(fd)
        return -EISDIR             # open(2): "O_CREAT ... a directory"
    if flags & O_NOFOLLOW and fstat(fd, &st) == 0 and S_ISLNK(st.st_mode):
        close(fd)
        return -ELOOP
    r = reopen_fd(caps_wrt_fd(c, fd), flags, mode)
    close(fd)
    return r


cdef int create_in(Call *c, int pfd, const char *name, uint64_t flags,
                   uint64_t mode) noexcept nogil:
    """O_CREAT of the missing ``name`` in our directory ``pfd`` (closed
    here), as the app."""
    cdef int r
    if pfd < 0:
        return pfd
    r = openat(caps_wrt_fd(c, pfd), name,
               <int>(flags | O_NOFOLLOW | O_CLOEXEC), <int>mode)
    r = r if r >= 0 else -errno
    close(pfd)
    return r


cdef int fd_mount_ro(Call *c, int fd, int dflt) noexcept nogil:
    """Whether our ``fd`` lies on a read-only mount of the table (by the
    path the kernel prints for it); ``dflt`` when that is unknown."""
    cdef char proc[64]
    cdef ssize_t n
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    n = readlink(proc, c.tmp, PATH_BUF)
    if n <= 0 or n >= PATH_BUF:
        return dflt
    c.tmp[n] = 0
    cdef int k = c.fs.prefix_len
    if c.fs.mode == FS_PREFIXED and k:
        if n < k or memcmp(c.tmp, c.fs.prefix, k) != 0:
            return dflt
        if n == k:
            return c.fs.mounts[mount_of(c.fs, "/")].ro
        if c.tmp[k] != b'/':
            return dflt
        return c.fs.mounts[mount_of(c.fs, c.tmp + k)].ro
    return c.fs.mounts[mount_of(c.fs, c.tmp)].ro


cdef int root_open(Call *c, const char *rel, uint64_t flags, uint64_t mode,
                   uint64_t resolve) noexcept nogil:
    """Open ``rel`` (absolute inside the container) for the sentry.

    Without a view: openat2 in the root fd.  With one, the mount table
    picks the backend: the gofer (``c.fs.gofer``; NULL in directfs mode),
    the special filesystems, or the root fd; read-only mounts answer
    EROFS (``write_intent`` opens, ``c.want_write`` calls).
    """
    cdef int mi, r, n, tries, handled = 0
    cdef char *p
    cdef MountC *m
    cdef bint follow = not (flags & O_NOFOLLOW)
    c.last_ro = 0
    c.last_gofer = 0
    if c.fs.nmounts == 0:
        return local_open(c, rel, flags, mode, resolve)
    n = <int>strlen(rel)
    if n >= PATH_BUF:
        return -ENAMETOOLONG
    if c.fs.gofer != NULL and has_dots(rel):
        r = resolve_canonical(c, rel, follow, c.canon)
        if r < 0:
            return r
    else:
        memcpy(c.canon, rel, n + 1)
    p = c.canon
    for tries in range(3):
        mi = mount_of(c.fs, p)
        m = &c.fs.mounts[mi]
        c.last_ro = m.ro
        if m.kind == MK_SPECIAL and c.fs.special:
            r = special_open(c, mi, p, flags, mode, &handled)
            if handled:
                return r
        if m.kind == MK_GOFER and c.fs.gofer != NULL:
            c.last_gofer = 1
            r = gofer_backend(c, m, p, flags, mode, resolve)
            if r != GOFER_SLOW:
                return r
            r = resolve_canonical(c, p, follow, c.canon)
            if r < 0:
                return r
            continue
        # the app's root fd: directfs, local and special mounts.  The
        # kernel follows symlinks here, so a write goes by the mount the
        # file really lies on.
        if c.want_write or (write_intent(flags) and not (flags & O_PATH)):
            r = local_open(c, p, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)),
                           0, resolve)
            if r >= 0:
                c.last_ro = fd_mount_ro(c, r, m.ro)
            if c.last_ro:
                if c.want_write:
                    if r >= 0:
                        close(r)
                        return -EROFS
                    return r
                r = ro_open(c, r, flags)
                if r <= 0:
                    return r
            elif r >= 0:
                if flags & O_PATH:
                    return r
                close(r)
        return checked_local_open(c, p, flags, mode, resolve)
    return -EIO


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
    return path_fd_read(c, dirfd, n, atflags, oflags)


cdef int path_fd_read(Call *c, int dirfd, int n, int atflags,
                      int oflags) noexcept nogil:
    """path_fd() for the path already read into ``c.path`` (``n`` bytes)."""
    if n == 0:
        if atflags & AT_EMPTY_PATH:
            # fd-based: the app could make the same call on its own fd
            # (fstat(2), fchown(2)...), so no containment check is needed;
            # the duplicate is cheaper than a walk through /proc
            if dirfd == AT_FDCWD:
                return caps_wrt_fd(c, open_app_fd(c, dirfd, O_PATH | oflags))
            return caps_wrt_fd(c, app_socket(c, dirfd))
        return -ENOENT
    n = join_path(c, dirfd, c.path, n, c.rel)
    if n < 0:
        return n
    return caps_wrt_fd(c, rel_fd(c, atflags, oflags))


cdef int rel_fd(Call *c, int atflags, int oflags) noexcept nogil:
    """The rest of path_fd(), for the path already in ``c.rel``."""
    cdef int n
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
    if rel[k] == 0:
        # "/" itself (or only slashes): the kernel refuses before looking
        # at anything else - mkdir(2) EEXIST, rmdir(2) EBUSY, unlink(2)
        # EISDIR, rename(2) EBUSY
        if c.want_write == 2:
            return -EEXIST
        if c.nr == 87 or (c.nr == 263 and not (c.args[2] & AT_REMOVEDIR)):
            return -EISDIR
        return -EBUSY
    last[0] = rel + k
    if k == 1:
        fd = root_open(c, "/", O_PATH | O_DIRECTORY, 0, 0)
    else:
        rel[k - 1] = 0
        fd = root_open(c, rel, O_PATH | O_DIRECTORY, 0, 0)
        rel[k - 1] = b'/'
    if fd == -EROFS and c.want_write == 2:
        # creating calls: an existing name is EEXIST even on a read-only
        # mount - the kernel looks it up before asking for write access
        c.want_write = 0
        k = root_open(c, rel, O_PATH | O_NOFOLLOW, 0, 0)
        c.want_write = 2
        if k >= 0:
            close(k)
            return -EEXIST
    return caps_wrt_fd(c, fd)


cdef int local_parent(Call *c, char *rel) noexcept nogil:
    """The parent directory of ``rel`` through the app's root fd."""
    cdef int n = <int>strlen(rel)
    cdef int k = split_last(rel, n), fd
    if k <= 1:
        return local_open(c, "/", O_PATH | O_DIRECTORY, 0, 0)
    rel[k - 1] = 0
    fd = local_open(c, rel, O_PATH | O_DIRECTORY, 0, 0)
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
