# User namespaces - user_namespaces(7).  The sentry, the gofer and every
# fstat here see owners as the sentry's user namespace (the host's) numbers
# them; an app in a user namespace of its own numbers them through its
# uid_map/gid_map.  The maps are read from /proc/<pid>/{uid,gid}_map when
# the platform attaches the process (so a namespace joined by path is
# covered too) into Fs.uids/Fs.gids.  Every handler that shows an owner to
# the app or takes one from it goes through id_map_up()/id_map_down()
# (stat_to_app, statx_to_app, ids_from_app, acl_ids); an id with no mapping
# shows as the overflow id (/proc/sys/kernel/overflowuid), as the kernel
# does.  sentry.fs.special uses them through _core.ids_to_app.
#
# Capabilities: the serving thread holds the app's filesystem capabilities
# (creds.pxi), but in the host's user namespace, where they apply to every
# inode.  The app's apply only to inodes whose owner uid and gid both map
# into its namespace (the kernel's capable_wrt_inode_uidgid), so before it
# acts on an inode the thread drops them for an inode that does not
# (caps_wrt_fd, caps_wrt_victim), and the search checks of a walk ask the
# same (may_search: the gofer walk, local_walk_ok).  The thread also always
# holds CAP_SYS_ADMIN and CAP_SETFCAP: the xattrs that need them are judged
# by the app's (xattr_write_ok, xattr_read_ok, xattr_list_filter).


# Capabilities the kernel checks in the initial user namespace only
# (capable(), not ns_capable()): an app in a namespace of its own never has
# them for a file - CAP_MKNOD (vfs_mknod, device nodes), CAP_LINUX_IMMUTABLE,
# CAP_MAC_OVERRIDE.
cdef uint64_t INIT_NS_CAPS = ((1 << 27) | (1 << 9) | (<uint64_t>1 << 32))


cdef int read_id_map(int pid, const char *name, IdMap *m) noexcept nogil:
    """Parse /proc/<pid>/<name> into ``m``: 0 or -errno."""
    cdef char proc[64]
    cdef char buf[16384]
    cdef uint64_t v[3]
    cdef int fd, k
    cdef ssize_t n, got = 0
    cdef char *p
    snprintf(proc, sizeof(proc), "/proc/%d/%s", pid, name)
    fd = openat(-1, proc, O_RDONLY | O_CLOEXEC)
    if fd < 0:
        return -errno
    while got < <ssize_t>sizeof(buf) - 1:
        n = read(fd, buf + got, sizeof(buf) - 1 - got)
        if n <= 0:
            break
        got += n
    close(fd)
    buf[got] = 0
    m.n = 0
    p = buf
    while p[0] != 0 and m.n < ID_EXTENTS:
        for k in range(3):
            while p[0] == b' ' or p[0] == b'\t':
                p += 1
            if not (48 <= p[0] <= 57):
                return -EINVAL
            v[k] = 0
            while 48 <= p[0] <= 57:
                v[k] = v[k] * 10 + <uint64_t>(p[0] - 48)
                p += 1
        while p[0] != 0 and p[0] != b'\n':
            p += 1
        if p[0] == b'\n':
            p += 1
        m.first[m.n] = <uint32_t>v[0]
        m.lower[m.n] = <uint32_t>v[1]
        m.count[m.n] = <uint32_t>v[2]
        m.n += 1
    return 0


cdef uint32_t read_overflow(const char *path) noexcept nogil:
    cdef char buf[32]
    cdef int fd = openat(-1, path, O_RDONLY | O_CLOEXEC)
    cdef ssize_t n
    cdef uint32_t v = 0
    cdef int i
    if fd < 0:
        return 65534
    n = read(fd, buf, sizeof(buf) - 1)
    close(fd)
    if n <= 0 or not (48 <= buf[0] <= 57):
        return 65534
    for i in range(n):
        if not (48 <= buf[i] <= 57):
            break
        v = v * 10 + <uint32_t>(buf[i] - 48)
    return v


cdef int fs_set_ids(Fs *fs, int pid) noexcept nogil:
    """Take process ``pid``'s user namespace maps into ``fs``: none when it
    shares ours.  0 or -errno."""
    cdef char proc[64]
    cdef stat mine, its
    cdef int r
    fs.uids.n = 0
    fs.gids.n = 0
    snprintf(proc, sizeof(proc), "/proc/%d/ns/user", pid)
    if fstatat(-1, proc, &its, 0) < 0:
        return -errno
    if fstatat(-1, "/proc/self/ns/user", &mine, 0) < 0:
        return -errno
    if mine.st_ino == its.st_ino and mine.st_dev == its.st_dev:
        return 0
    r = read_id_map(pid, "uid_map", &fs.uids)
    if r == 0:
        r = read_id_map(pid, "gid_map", &fs.gids)
    if r < 0:
        fs.uids.n = 0
        fs.gids.n = 0
        return r
    # a namespace whose maps are not written yet maps nothing: keep it so
    if fs.uids.n == 0:
        fs.uids.n = 1
        fs.uids.count[0] = 0
    if fs.gids.n == 0:
        fs.gids.n = 1
        fs.gids.count[0] = 0
    fs.overflow_uid = read_overflow("/proc/sys/kernel/overflowuid")
    fs.overflow_gid = read_overflow("/proc/sys/kernel/overflowgid")
    return 0


cdef int64_t id_map_down(IdMap *m, uint32_t id) noexcept nogil:
    """Our id for the app's ``id``; -1 when it has no mapping."""
    cdef int i
    if m.n == 0:
        return id
    for i in range(m.n):
        if m.first[i] <= id and id - m.first[i] < m.count[i]:
            return <int64_t>m.lower[i] + (id - m.first[i])
    return -1


cdef int64_t id_map_up(IdMap *m, uint32_t id) noexcept nogil:
    """The app's id for our ``id``; -1 when it has no mapping."""
    cdef int i
    if m.n == 0:
        return id
    for i in range(m.n):
        if m.lower[i] <= id and id - m.lower[i] < m.count[i]:
            return <int64_t>m.first[i] + (id - m.lower[i])
    return -1


cdef inline uint32_t uid_to_app(Fs *fs, uint32_t uid) noexcept nogil:
    cdef int64_t v = id_map_up(&fs.uids, uid)
    return fs.overflow_uid if v < 0 else <uint32_t>v


cdef inline uint32_t gid_to_app(Fs *fs, uint32_t gid) noexcept nogil:
    cdef int64_t v = id_map_up(&fs.gids, gid)
    return fs.overflow_gid if v < 0 else <uint32_t>v


cdef int ids_from_app(Fs *fs, uint32_t *uid, uint32_t *gid) noexcept nogil:
    """Map the app's (uid, gid) of a chown to ours in place; -1 ("leave as
    it is") stays.  0, or -EINVAL for an id with no mapping (chown(2))."""
    cdef int64_t v
    if uid[0] != <uint32_t>-1:
        v = id_map_down(&fs.uids, uid[0])
        if v < 0:
            return -EINVAL
        uid[0] = <uint32_t>v
    if gid[0] != <uint32_t>-1:
        v = id_map_down(&fs.gids, gid[0])
        if v < 0:
            return -EINVAL
        gid[0] = <uint32_t>v
    return 0


cdef inline void stat_to_app(Fs *fs, stat *st) noexcept nogil:
    """A stat(2) result as the app's user namespace shows it."""
    if fs.uids.n:
        st.st_uid = uid_to_app(fs, st.st_uid)
        st.st_gid = gid_to_app(fs, st.st_gid)


cdef void statx_to_app(Fs *fs, char *stx) noexcept nogil:
    """The same for a struct statx (stx_uid at 20, stx_gid at 24)."""
    cdef uint32_t v
    if fs.uids.n == 0:
        return
    memcpy(&v, stx + 20, 4)
    v = uid_to_app(fs, v)
    memcpy(stx + 20, &v, 4)
    memcpy(&v, stx + 24, 4)
    v = gid_to_app(fs, v)
    memcpy(stx + 24, &v, 4)


cdef inline bint privileged_wrt(Fs *fs, uint32_t uid, uint32_t gid) noexcept nogil:
    """The app's capabilities apply to an inode owned by (uid, gid):
    both map into its user namespace (capable_wrt_inode_uidgid)."""
    return fs.uids.n == 0 or (id_map_up(&fs.uids, uid) >= 0 and
                              id_map_up(&fs.gids, gid) >= 0)


cdef int caps_wrt_fd(Call *c, int fd) noexcept nogil:
    """Before acting on the inode of our ``fd``: drop this thread's
    filesystem capabilities for this call when the app's would not apply
    to it (dispatch() restores them).  Returns ``fd``."""
    cdef stat st
    if fd < 0 or c.fs.uids.n == 0 or not (c.cred_caps & FS_CAPS):
        return fd
    if fstat(fd, &st) < 0 or privileged_wrt(c.fs, st.st_uid, st.st_gid):
        return fd
    if set_thread_caps(0, False) == 0:
        c.caps_dropped = 1
    return fd


cdef void caps_wrt_victim(Call *c, int dirfd, const char *name) noexcept nogil:
    """Before removing or replacing ``name`` in our directory ``dirfd``: in
    a sticky directory CAP_FOWNER is judged by the victim's owner, not the
    directory's (the kernel's check_sticky), so drop the capabilities when
    they would not apply to it."""
    cdef stat st
    if c.fs.uids.n == 0 or not (c.cred_caps & FS_CAPS):
        return
    if fstat(dirfd, &st) < 0 or not (st.st_mode & 0o1000):
        return
    if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 or \
            privileged_wrt(c.fs, st.st_uid, st.st_gid):
        return
    if set_thread_caps(0, False) == 0:
        c.caps_dropped = 1


cdef int local_walk_ok(Call *c, int fd, bint self_too) noexcept nogil:
    """The openat2 walk to our ``fd`` ran with the thread's capabilities,
    which apply to every directory: check search permission as the app on
    each directory from the root to its parent (and ``fd`` itself when
    ``self_too``), by the path the kernel prints for it.  0 or -EACCES.
    N.B. directories left through a symlink on the way are not seen."""
    cdef char proc[64]
    cdef char path[PATH_BUF + 1]
    cdef ssize_t n
    cdef int k, i, r
    cdef stat st
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd)
    n = readlink(proc, c.tmp, PATH_BUF)
    if n <= 0 or n >= PATH_BUF:
        return 0
    k = strip_root(c.fs, c.tmp, n, path)
    if k <= 0:
        return 0
    if not self_too and k == 1:
        return 0                # the root itself: nothing walked
    if not self_too:
        while k > 0 and path[k - 1] != b'/':
            k -= 1              # up to the parent: "/a/b/" of "/a/b/c"
    i = 0
    while i < k:
        # the directory path[:i + 1] ("/", "/a", "/a/b" ...)
        if i == 0:
            r = fstat(c.fs.root_fd, &st)
        else:
            path[i] = 0
            r = fstatat(c.fs.root_fd, path + 1, &st, AT_SYMLINK_NOFOLLOW)
            path[i] = b'/'
        if r == 0 and S_ISDIR(st.st_mode) and \
                may_search(c, st.st_uid, st.st_gid, st.st_mode) < 0:
            return -EACCES
        i += 1
        while i < k and path[i] != b'/':
            i += 1
        if i == k and self_too and path[k - 1] != b'/':
            # the last name of a self_too walk: the directory itself
            r = fstat(fd, &st)
            if r == 0 and S_ISDIR(st.st_mode) and \
                    may_search(c, st.st_uid, st.st_gid, st.st_mode) < 0:
                return -EACCES
    return 0


cdef bint acl_xattr(const char *name) noexcept nogil:
    """``name`` is a POSIX ACL xattr, whose entries carry ids."""
    return (strcmp(name, "system.posix_acl_access") == 0 or
            strcmp(name, "system.posix_acl_default") == 0)


cdef int acl_ids(Fs *fs, char *buf, ssize_t n, bint to_app) noexcept nogil:
    """Translate the ACL_USER/ACL_GROUP ids of a POSIX ACL xattr value
    (le32 version 2, then {le16 tag, le16 perm, le32 id} entries) in place:
    to the app's numbers (unmapped: -1, as the kernel prints them), or from
    them (unmapped: -EINVAL, as setxattr(2) answers).  Anything else is
    left for the kernel to judge.  0 or -EINVAL."""
    cdef uint32_t version, uid
    cdef uint16_t tag
    cdef int64_t v
    cdef ssize_t off
    if fs.uids.n == 0 or n < 4 or (n - 4) % 8:
        return 0
    memcpy(&version, buf, 4)
    if version != 2:
        return 0
    off = 4
    while off < n:
        memcpy(&tag, buf + off, 2)
        if tag == 0x02 or tag == 0x08:         # ACL_USER, ACL_GROUP
            memcpy(&uid, buf + off + 4, 4)
            if to_app:
                v = id_map_up(&fs.uids if tag == 0x02 else &fs.gids, uid)
                if v < 0:
                    v = <uint32_t>-1
            else:
                v = id_map_down(&fs.uids if tag == 0x02 else &fs.gids, uid)
                if v < 0:
                    return -EINVAL
            uid = <uint32_t>v
            memcpy(buf + off + 4, &uid, 4)
        off += 8
    return 0


cdef extern from "<errno.h>":
    int ENODATA
    int EOVERFLOW


cdef bint app_admin(Call *c) noexcept nogil:
    """The app holds CAP_SYS_ADMIN in the initial user namespace, which
    trusted.* and security.* xattrs need (never in a namespace of its own);
    the serving thread always holds it."""
    return c.fs.uids.n == 0 and (c.cred_caps & (<uint64_t>1 << 21)) != 0


cdef int xattr_read_ok(Call *c, const char *name) noexcept nogil:
    """trusted.* is ENODATA to an app without CAP_SYS_ADMIN - xattr(7)."""
    if strncmp(name, "trusted.", 8) == 0 and not app_admin(c):
        return -ENODATA
    return 0


cdef ssize_t cap_xattr_to_app(Fs *fs, char *buf, ssize_t n) noexcept nogil:
    """A security.capability value as an app in a user namespace reads it
    (cap_inode_getsecurity): a v3 whose root id is the namespace's root
    reads as v2, one with another mapped root id in the namespace's
    numbers; an unmapped root id other than the host's root is EOVERFLOW.
    The new length or -errno."""
    cdef uint32_t magic, rootid
    cdef int64_t v
    if n != 24:
        return n
    memcpy(&magic, buf, 4)
    if (magic & 0xFF000000U) != 0x03000000U:
        return n
    memcpy(&rootid, buf + 20, 4)
    v = id_map_up(&fs.uids, rootid)
    if v > 0:
        rootid = <uint32_t>v
        memcpy(buf + 20, &rootid, 4)
        return 24
    if v < 0 and rootid != 0:
        return -EOVERFLOW
    magic = (magic & 0x00FFFFFFU) | 0x02000000U
    memcpy(buf, &magic, 4)
    return 20


cdef ssize_t xattr_get_app(Call *c, const char *proc, const char *name,
                           char *buf, size_t size) noexcept nogil:
    """getxattr(2) of our file ``proc`` as the app sees it: trusted.*
    hidden, ACL ids and a security.capability through its user namespace.
    The length or -errno."""
    cdef char cap[64]
    cdef ssize_t n
    n = xattr_read_ok(c, name)
    if n < 0:
        return n
    if c.fs.uids.n and strcmp(name, "security.capability") == 0:
        n = getxattr(proc, name, cap, sizeof(cap))
        if n < 0:
            return -errno
        n = cap_xattr_to_app(c.fs, cap, n)
        if n <= 0 or size == 0:
            return n
        if <size_t>n > size:
            return -ERANGE
        memcpy(buf, cap, n)
        return n
    n = getxattr(proc, name, buf, size)
    if n < 0:
        return -errno
    if n > 0 and size and acl_xattr(name):
        acl_ids(c.fs, buf, n, True)
    return n


cdef ssize_t xattr_list_filter(Call *c, char *buf, ssize_t n) noexcept nogil:
    """Drop the trusted.* names the app may not see from a listxattr
    result; the new length.  (A size query, without a buffer, still counts
    them: a larger size than needed.)"""
    cdef ssize_t i = 0, k = 0, m
    if n <= 0 or app_admin(c):
        return n
    while i < n:
        m = <ssize_t>strlen(buf + i) + 1
        if strncmp(buf + i, "trusted.", 8) != 0:
            memmove(buf + k, buf + i, m)
            k += m
        i += m
    return k


cdef int xattr_write_ok(Call *c, int fd, const char *name, char *buf,
                        size_t *size) noexcept nogil:
    """The kernel's capability checks for setting (``buf``; NULL: removing)
    xattr ``name`` of our ``fd``'s inode, which the serving thread would
    pass with its own capabilities: trusted.* and security.* need
    CAP_SYS_ADMIN in the initial namespace; security.capability needs
    CAP_SETFCAP over the inode, and in a user namespace its value becomes
    a v3 whose root id is the namespace's root in host ids
    (cap_convert_nscap): ``buf`` needs room for 24 bytes.  0 or -errno."""
    cdef stat st
    cdef uint32_t magic, rootid
    cdef int64_t v
    if strncmp(name, "trusted.", 8) == 0:
        return 0 if app_admin(c) else -EPERM
    if strncmp(name, "security.", 9) != 0:
        return 0
    if strcmp(name, "security.capability") != 0:
        return 0 if app_admin(c) else -EPERM
    if not (c.cred_caps & (<uint64_t>1 << 31)) or fstat(fd, &st) < 0 or \
            not privileged_wrt(c.fs, st.st_uid, st.st_gid):
        return -EPERM
    if buf == NULL or c.fs.uids.n == 0:
        return 0
    if size[0] != 20 and size[0] != 24:
        return -EINVAL
    memcpy(&magic, buf, 4)
    if size[0] == 20 and (magic & 0xFF000000U) == 0x02000000U:
        rootid = 0
    elif size[0] == 24 and (magic & 0xFF000000U) == 0x03000000U:
        memcpy(&rootid, buf + 20, 4)
    else:
        return -EINVAL
    v = id_map_down(&c.fs.uids, rootid)
    if v < 0:
        return -EINVAL
    magic = (magic & 0x00FFFFFFU) | 0x03000000U
    rootid = <uint32_t>v
    memcpy(buf, &magic, 4)
    memcpy(buf + 20, &rootid, 4)
    size[0] = 24
    return 0


cdef inline bint ns_caps_held(Call *c) noexcept nogil:
    """This call runs with app capabilities that caps_wrt_fd may drop."""
    return c.fs.uids.n != 0 and (c.cred_caps & FS_CAPS) != 0
