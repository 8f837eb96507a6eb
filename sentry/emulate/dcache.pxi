# The dentry cache of gofer mounts: directory fds the gofer walked to.
#
# What it holds: for a directory path of the container (a gofer mount,
# symlink-free, no "." or ".."), the O_PATH fd the gofer donated for it.
# Never attributes and never non-directories: a stat is an fstatat(2) in
# the cached parent, an open an openat(2) of the last name there, so what
# the sentry answers about a file is what the kernel says about it now.
#
# The coherence rule: an entry is used only after checking that the
# kernel's current name for its directory - the path /proc/self/fd/N
# prints, which rename(2) and rmdir(2) update at once, whoever makes them,
# the sandbox or the host - is still the path it was cached under (plus
# the gofer root's own name, "/" when the gofer pivot_root'ed).  A stale
# entry is closed and the gofer walks again.  So the cache needs no
# invalidation and is coherent with changes from outside the sandbox, on
# the rootfs and on bind mounts alike (what runsc calls
# --file-access=shared, without its revalidation round trips).  What it
# cannot see is what Linux's own path walk cannot see either: a rename
# between the check and the use.
#
# Permissions: lookups run with the caller's filesystem credentials
# (creds.pxi), so the kernel checks search permission on the directory the
# last name is looked up in.  A caller without CAP_DAC_OVERRIDE or
# CAP_DAC_READ_SEARCH also needs it on every directory above; the cache
# asks the kernel for each of them (faccessat(2) X_OK with the caller's
# ids, ACLs included) before it answers - path_resolution(7).
#
# One cache per container view (all its processes), used from the
# platform's single loop thread without locks.

cdef extern from "<fcntl.h>" nogil:
    int AT_SYMLINK_NOFOLLOW_ "AT_SYMLINK_NOFOLLOW"
    int F_DUPFD_CLOEXEC

cdef extern from "<unistd.h>" nogil:
    ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t n)

DCACHE_DEFAULT = 512       # slots (runsc's --dcache)

cdef enum:
    DC_KEY = 256            # longer directory paths are not cached
    DC_MAX = 1 << 16
    DC_SKIP = -100001       # the cache cannot answer: ask the gofer

ctypedef struct DEntry:
    uint64_t hash
    int fd                  # O_PATH|O_DIRECTORY, -1: empty
    int len
    char key[DC_KEY]

ctypedef struct DCache:
    int procfd              # our /proc/self/fd
    int rlen                # the gofer root's name: "" when it is "/"
    char root[DC_KEY]
    uint64_t hits, misses, stale   # misses: walks the gofer made
    uint64_t slow           # paths resolved by Python (dc_canonical could not)
    int mask                # direct-mapped: slots - 1, a power of two
    DEntry *e


cdef inline uint64_t dc_hash(const char *p, int n) noexcept nogil:
    """FNV-1a."""
    cdef uint64_t h = 14695981039346656037ULL
    cdef int i
    for i in range(n):
        h = (h ^ <unsigned char>p[i]) * 1099511628211ULL
    return h


cdef DCache *dc_new(int root_fd, int size) noexcept nogil:
    """A cache of at least ``size`` directories (rounded up to a power of
    two, at most DC_MAX) for a gofer whose root is ``root_fd`` (ours,
    O_PATH); NULL when the kernel's names for its files cannot be read."""
    cdef DCache *d
    cdef char num[24]
    cdef ssize_t n
    cdef int i, slots = 1
    if size <= 0:
        return NULL
    while slots < size and slots < DC_MAX:
        slots <<= 1
    d = <DCache *>calloc(1, sizeof(DCache))
    if d == NULL:
        return NULL
    d.e = <DEntry *>calloc(slots, sizeof(DEntry))
    if d.e == NULL:
        free(d)
        return NULL
    d.mask = slots - 1
    d.procfd = openat(-1, "/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)
    if d.procfd < 0:
        free(d)
        return NULL
    snprintf(num, sizeof(num), "%d", root_fd)
    n = readlinkat(d.procfd, num, d.root, DC_KEY)
    if n <= 0 or n >= DC_KEY or d.root[0] != b'/':
        close(d.procfd)
        free(d.e)
        free(d)
        return NULL
    d.rlen = 0 if n == 1 else <int>n
    for i in range(slots):
        d.e[i].fd = -1
    return d


cdef void dc_free(DCache *d) noexcept nogil:
    cdef int i
    if d == NULL:
        return
    for i in range(d.mask + 1):
        if d.e[i].fd >= 0:
            close(d.e[i].fd)
    close(d.procfd)
    free(d.e)
    free(d)


cdef bint dc_current(DCache *d, DEntry *e) noexcept nogil:
    """The rule: ``e``'s directory is still named ``e.key``."""
    cdef char num[24]
    cdef char buf[2 * DC_KEY + 16]
    cdef ssize_t n
    snprintf(num, sizeof(num), "%d", e.fd)
    n = readlinkat(d.procfd, num, buf, sizeof(buf))
    if n != d.rlen + e.len:
        return False
    if d.rlen and memcmp(buf, d.root, d.rlen) != 0:
        return False
    return memcmp(buf + d.rlen, e.key, e.len) == 0


cdef int dc_get(DCache *d, const char *p, int n) noexcept nogil:
    """The cached fd (borrowed) of directory ``p`` (``n`` bytes), or -1."""
    cdef uint64_t h
    cdef DEntry *e
    if n >= DC_KEY:
        return -1
    h = dc_hash(p, n)
    e = &d.e[h & d.mask]
    if e.fd < 0 or e.hash != h or e.len != n or memcmp(e.key, p, n) != 0:
        return -1
    if not dc_current(d, e):
        d.stale += 1
        close(e.fd)
        e.fd = -1
        return -1
    d.hits += 1
    return e.fd


cdef int dc_put(DCache *d, const char *p, int n, int fd) noexcept nogil:
    """Cache a duplicate of ``fd`` (an O_PATH directory fd of ``p``);
    returns the cached fd (borrowed), or -1 when it was not cached."""
    cdef uint64_t h
    cdef DEntry *e
    cdef int dup
    if n >= DC_KEY:
        return -1
    dup = fcntl(fd, F_DUPFD_CLOEXEC, 3)
    if dup < 0:
        return -1
    if dup >= fd_budget():
        close(dup)              # boot's fds are short: serve uncached
        return -1
    h = dc_hash(p, n)
    e = &d.e[h & d.mask]
    if e.fd >= 0:
        close(e.fd)
    e.fd = dup
    e.hash = h
    e.len = n
    memcpy(e.key, p, n)
    return dup


cdef bint dc_usable(Call *c, const char *p) noexcept nogil:
    """The cache may serve ``p``: a clean absolute path (no "//", no
    trailing "/", no "." or ".." name: canonical paths are clean), so that
    every name it looks up in a directory fd is a plain one."""
    cdef int i = 1
    if c.fs.dcache == NULL or p[0] != b'/':
        return False
    while p[i] != 0:
        if p[i] == b'/' and (p[i - 1] == b'/' or p[i + 1] == 0):
            return False
        i += 1
    return not has_dots(p)


cdef int dc_dir(Call *c, const char *p, int n) noexcept nogil:
    """The O_PATH fd (borrowed) of directory ``p[:n]`` in a gofer mount:
    from the cache, else walked by the gofer and cached; -errno or
    GOFER_SLOW (a symlink on the way) when the gofer could not."""
    cdef DCache *d = <DCache *>c.fs.dcache
    cdef char dir[DC_KEY]
    cdef int fd, r
    if n == 0:
        dir[0] = b'/'
        n = 1
    elif n >= DC_KEY:
        return DC_SKIP
    else:
        memcpy(dir, p, n)
    dir[n] = 0
    fd = dc_get(d, dir, n)
    if fd >= 0:
        return fd
    d.misses += 1
    fd = gofer_open(<GoferConn *>c.fs.gofer, dir, O_PATH | O_DIRECTORY, 0,
                    0xFFFFFFFF, 0xFFFFFFFF)
    if fd < 0:
        return fd
    r = dc_put(d, dir, n, fd)
    close(fd)
    return r if r >= 0 else DC_SKIP


cdef inline int dc_dir_error(int r) noexcept nogil:
    """What a path below a directory that dc_dir() could not give answers:
    the same as the directory's walk (a symlink on the way: the gofer's
    slow way; missing, or not a directory) or DC_SKIP (ask the gofer)."""
    if r == GOFER_SLOW or r == -ENOENT or r == -ENOTDIR or r == -EIO:
        return r
    return DC_SKIP


cdef int dc_may_search(Call *c, const char *p, int n, bint parent) noexcept nogil:
    """Search permission of the caller on the directories above the last
    name of ``p[:n]``: 0, -errno (EACCES at the first refusal, or the
    walk's own error), or DC_SKIP.  The parent is left to the kernel's
    lookup in it unless ``parent``, or unless the app is in a user
    namespace and holds CAP_DAC_*: the thread's capabilities are the init
    namespace's and would pass directories whose owner is not mapped
    (ids.pxi), so each is judged by ``may_search`` instead."""
    cdef int i, fd, last, r
    cdef stat st
    cdef bint dac = (c.cred_caps & ((1 << 1) | (1 << 2))) != 0
    cdef bint userns_dac = c.fs.uids.n != 0 and dac
    if not userns_dac and (not c.as_app or dac):
        return 0                # root, or CAP_DAC_OVERRIDE/READ_SEARCH
    if userns_dac:
        parent = True
    last = dc_split(p, n) - 1   # the parent's length (0: "/")
    i = 0
    while i < last or (i == last and parent):
        fd = dc_dir(c, p, i)
        if fd < 0:
            return dc_dir_error(fd)
        if userns_dac:
            if fstat(fd, &st) < 0:
                return -errno
            r = may_search(c, st.st_uid, st.st_gid, st.st_mode)
            if r < 0:
                return r
        elif syscall(SYS_faccessat2, fd, b"", 1, AT_EMPTY_PATH | AT_EACCESS) < 0:
            return -errno       # X_OK, with the caller's ids, ACLs included
        if i >= last:
            break
        i += 1
        while p[i] != 0 and p[i] != b'/':
            i += 1
    return 0


cdef inline int dc_split(const char *p, int n) noexcept nogil:
    """Offset of the last name of clean absolute path ``p`` (1 for "/x")."""
    cdef int i = n - 1
    while i > 0 and p[i] != b'/':
        i -= 1
    return i + 1


cdef int dc_parent(Call *c, const char *p, int n, int *k) noexcept nogil:
    """The cached directory (borrowed) that the last name of ``p[:n]``, at
    ``p + k[0]``, is looked up in, once the caller may search everything
    above it: the fd, -errno, GOFER_SLOW or DC_SKIP."""
    cdef int r
    k[0] = dc_split(p, n)
    r = dc_may_search(c, p, n, False)
    if r < 0:
        return r
    r = dc_dir(c, p, k[0] - 1)
    return r if r >= 0 else dc_dir_error(r)


cdef int dc_lookup(Call *c, const char *p, uint64_t look) noexcept nogil:
    """gofer_open(p, look) for an O_PATH ``look`` (with O_NOFOLLOW and
    O_DIRECTORY as asked) through the cache: the last name is looked up
    in its cached parent.  The fd is the caller's; -errno; GOFER_SLOW when
    the gofer would say so too (a symlink to follow on the way), DC_SKIP
    when the cache cannot answer (the caller asks the gofer)."""
    cdef int n = <int>strlen(p), k, pfd, fd
    cdef stat st
    if n == 1:
        pfd = dc_dir(c, p, 0)
        if pfd < 0:
            return dc_dir_error(pfd)
        fd = fcntl(pfd, F_DUPFD_CLOEXEC, 3)
        return fd if fd >= 0 else DC_SKIP
    fd = dc_get(<DCache *>c.fs.dcache, p, n)
    if fd >= 0:
        # a cached directory itself: search permission on all above it
        k = dc_may_search(c, p, n, True)
        if k < 0:
            return k
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        return fd if fd >= 0 else DC_SKIP
    pfd = dc_parent(c, p, n, &k)
    if pfd < 0:
        return pfd
    fd = openat(pfd, p + k, O_PATH | O_NOFOLLOW | O_CLOEXEC)
    if fd < 0:
        return -errno
    if fstat(fd, &st) < 0:
        close(fd)
        return DC_SKIP
    if S_ISLNK(st.st_mode) and not (look & O_NOFOLLOW):
        close(fd)
        return GOFER_SLOW           # the gofer's way resolves it
    if S_ISCHR(st.st_mode) or S_ISBLK(st.st_mode):
        close(fd)
        return -EACCES              # as the gofer answers for devices
    if look & O_DIRECTORY and not S_ISDIR(st.st_mode):
        close(fd)
        return -ENOTDIR
    if S_ISDIR(st.st_mode):
        dc_put(<DCache *>c.fs.dcache, p, n, fd)
    return fd


cdef int dc_stat(Call *c, const char *p, bint follow, stat *st) noexcept nogil:
    """stat/lstat of ``p`` through the cache: 0, -errno, GOFER_SLOW or
    DC_SKIP as dc_lookup()."""
    cdef int n = <int>strlen(p), k, pfd, r
    if n == 1:
        pfd = dc_dir(c, p, 0)
        if pfd < 0:
            return dc_dir_error(pfd)
        r = fstat(pfd, st)
        return 0 if r == 0 else -errno
    pfd = dc_parent(c, p, n, &k)
    if pfd < 0:
        return pfd
    r = fstatat(pfd, p + k, st, AT_SYMLINK_NOFOLLOW_)
    if r < 0:
        return -errno
    if follow and S_ISLNK(st.st_mode):
        return GOFER_SLOW
    return 0


cdef int walk_opath(Call *c, const char *p, uint64_t look) noexcept nogil:
    """The O_PATH fd of ``p`` in a gofer mount, as gofer_open(p, look)
    answers (fd, -errno, GOFER_SLOW), through the cache when it may."""
    cdef int fd = DC_SKIP
    if dc_usable(c, p):
        fd = dc_lookup(c, p, look)
    if fd == DC_SKIP:
        fd = gofer_open(<GoferConn *>c.fs.gofer, p, <int>look, 0,
                        0xFFFFFFFF, 0xFFFFFFFF)
    return fd


cdef int dc_lstat(Call *c, char *p, int n, int parent, int *pfd,
                  stat *st) noexcept nogil:
    """lstat of ``p[:n]`` (canonical up to its last name, which starts at
    ``parent + 1``) for dc_canonical: 0, -errno or DC_SKIP.  ``pfd``: the
    directory it was looked up in, -1 or ours to close (a gofer mount's
    is the cache's: -2 - fd)."""
    cdef MountC *m = &c.fs.mounts[mount_of(c.fs, p)]
    cdef int r
    pfd[0] = -1
    if m.kind == MK_GOFER:
        r = dc_dir(c, p, parent)
        if r < 0:
            return DC_SKIP if r == GOFER_SLOW else dc_dir_error(r)
        pfd[0] = -2 - r
    elif m.kind == MK_LOCAL or (m.plen == n and memcmp(p, m.point, n) == 0):
        # the app's root fd, walked by the kernel inside it (a special
        # mount's own point too: it is a name in its parent's directory)
        if parent == 0:
            r = local_open(c, "/", O_PATH | O_DIRECTORY, 0, 0)
        else:
            p[parent] = 0
            r = local_open(c, p, O_PATH | O_DIRECTORY, 0, 0)
            p[parent] = b'/'
        if r < 0:
            return r
        pfd[0] = r
    else:
        return DC_SKIP              # inside /proc, /dev, /sys: Python's way
    r = fstatat(dc_fd(pfd[0]), p + parent + 1, st, AT_SYMLINK_NOFOLLOW_)
    return 0 if r == 0 else -errno


cdef inline int dc_fd(int pfd) noexcept nogil:
    return pfd if pfd >= 0 else -2 - pfd


cdef inline void dc_release(int pfd) noexcept nogil:
    if pfd >= 0:
        close(pfd)


cdef int dc_canonical(Call *c, const char *path, bint follow,
                      char *out) noexcept nogil:
    """sentry.fs.mounts.Resolver.canonical in C, through the cache: the
    symlink-free absolute path ``path`` names (its last name may be
    missing) into ``out``; its length, -errno, or DC_SKIP for Python's way
    (a trailing slash, a path into a special filesystem)."""
    cdef char b1[2 * PATH_BUF]
    cdef char b2[2 * PATH_BUF]
    cdef char tgt[PATH_BUF]
    cdef char *rest = b1
    cdef char *other = b2
    cdef char *swap
    cdef int n = <int>strlen(path), i = 0, j, k, nl, cl = 0, ocl, links = 0
    cdef int r, pfd, tl, rl
    cdef bint last
    cdef stat st
    if n >= PATH_BUF or n == 0 or path[0] != b'/':
        return DC_SKIP
    if n > 1 and path[n - 1] == b'/':
        return DC_SKIP
    memcpy(rest, path, n + 1)
    out[0] = 0
    while True:
        while rest[i] == b'/':
            i += 1
        if rest[i] == 0:
            break
        j = i
        while rest[j] != 0 and rest[j] != b'/':
            j += 1
        nl = j - i
        if nl == 1 and rest[i] == b'.':
            i = j
            continue
        if nl == 2 and rest[i] == b'.' and rest[i + 1] == b'.':
            while cl > 0 and out[cl - 1] != b'/':
                cl -= 1
            if cl > 0:
                cl -= 1
            out[cl] = 0
            i = j
            continue
        if nl > 255:
            return -ENAMETOOLONG
        if cl + 1 + nl >= PATH_BUF:
            return -ENAMETOOLONG
        ocl = cl
        out[cl] = b'/'
        memcpy(out + cl + 1, rest + i, nl)
        cl += 1 + nl
        out[cl] = 0
        k = j
        while rest[k] == b'/':
            k += 1
        last = rest[k] == 0
        r = dc_lstat(c, out, cl, ocl, &pfd, &st)
        if r == DC_SKIP:
            dc_release(pfd)
            return r
        if r < 0:
            dc_release(pfd)
            if r == -ENOENT and last:
                return cl
            return r
        if S_ISLNK(st.st_mode) and (not last or follow):
            links += 1
            if links > 40:
                r = -ELOOP
            else:
                tl = <int>readlinkat(dc_fd(pfd), out + ocl + 1, tgt, PATH_BUF)
                r = 0 if tl >= 0 else -errno
                if r == 0 and (tl == 0 or tl >= PATH_BUF):
                    r = -ENOENT if tl == 0 else -ENAMETOOLONG
            dc_release(pfd)
            if r < 0:
                return r
            cl = 0 if tgt[0] == b'/' else ocl
            out[cl] = 0
            rl = <int>strlen(rest + j)
            if tl + 1 + rl >= 2 * PATH_BUF:
                return -ENAMETOOLONG
            memcpy(other, tgt, tl)
            other[tl] = b'/'
            memcpy(other + tl + 1, rest + j, rl + 1)
            swap = rest
            rest = other
            other = swap
            i = 0
            continue
        dc_release(pfd)
        if not last and not S_ISDIR(st.st_mode):
            return -ENOTDIR
        i = j
    if cl == 0:
        out[0] = b'/'
        out[1] = 0
        cl = 1
    return cl


cdef int resolve_canonical(Call *c, const char *rel, bint follow,
                           char *out) noexcept nogil:
    """The symlink-free form of ``rel`` (Resolver.canonical) into ``out``
    (which may be ``rel`` itself): in C through the cache when it can,
    else in Python."""
    cdef char res[PATH_BUF]
    cdef int r = DC_SKIP
    if c.fs.dcache != NULL:
        r = dc_canonical(c, rel, follow, res)
        if r >= 0:
            memcpy(out, res, r + 1)
            return r
    if r == DC_SKIP:
        if c.fs.dcache != NULL:
            (<DCache *>c.fs.dcache).slow += 1
        r = canonicalize(c, rel, follow, out)
    return r
