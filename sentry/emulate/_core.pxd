# The contract between a platform and the emulation layer.
#
# A platform fills a Call (number, args, tid, the hooks below), calls
# dispatch() without the GIL, and then acts on c.action:
#   ACT_RETURN    answer c.ret (a value, or -errno)
#   ACT_CONTINUE  let the kernel run the syscall as the app made it
#   ACT_FD        install c.fd (owned by the platform now; close it after)
#                 in the app with c.fd_flags (O_CLOEXEC), answer its number
#   ACT_SLOW      the handler needs Python: call emulate.slow.handle()
#   ACT_REWRITE   (ptrace only, c.rewrite set) let the kernel run
#                 openat(AT_FDCWD, c.rel, c.open_flags, c.args[3]) instead,
#                 c.rel being the resolved file's path as the app sees it

from libc.stdint cimport uint32_t, int64_t, uint64_t

cdef enum:
    ACT_RETURN = 0
    ACT_CONTINUE = 1
    ACT_FD = 2
    ACT_SLOW = 3
    ACT_REWRITE = 4
    SLOW_OPEN = 0
    SLOW_CONNECT = 1    # c.fd: our dup of the app socket; c.tmp[:open_flags]
                        # the address
    SLOW_RESTART = 2    # ptrace, ACT_REWRITE of a call that may block: if a
                        # signal restarts it, restore the original call
    SLOW_MEMFD = 3      # ptrace, ACT_REWRITE of an open of a synthesized
                        # file: the call becomes memfd_create(c.rel,
                        # c.open_flags), filled at its exit by
                        # sentry.fs.special.fill_memfd (sentry/fs)
    NSYSCALLS = 512
    NGROUPS_CACHE = 64
    PIDFD_CACHE = 256
    PATH_BUF = 4096
    # Fs.mode: how a path that the kernel prints for an app fd relates to
    # the root: prefixed by the root's own path (same mount namespace,
    # chroot or a plain directory) or already relative to it (the app is
    # pivot_root'ed in its own mount namespace).
    FS_PREFIXED = 0
    FS_OWN_NS = 1
    # the mount table (sentry/fs/mounts.py): which backend serves a mount
    MK_GOFER = 0
    MK_LOCAL = 1
    MK_SPECIAL = 2
    MOUNT_POINT_MAX = 512
    # UID_GID_MAP_MAX_EXTENTS: the most lines a uid_map may have
    ID_EXTENTS = 340

# One of the app's id maps as the sentry's user namespace sees it
# (/proc/<pid>/uid_map): ``count`` ids from ``first`` inside are ``lower``
# onwards here.  n == 0: the app shares the sentry's user namespace.
ctypedef struct IdMap:
    int n
    uint32_t first[ID_EXTENTS]
    uint32_t lower[ID_EXTENTS]
    uint32_t count[ID_EXTENTS]

ctypedef struct MountC:
    char point[MOUNT_POINT_MAX]
    int plen
    int kind
    int ro

ctypedef struct Fs:
    int root_fd
    int mode
    int prefix_len
    # the app's own root is this root (chroot/pivot_root): a resolved path
    # given back to the kernel must be root-relative; else the host's
    int app_rooted
    char prefix[PATH_BUF]
    # the container view (View in _core.pyx), or none of it (nmounts 0):
    # the mount table, the gofer's fast connection (NULL: directfs), and
    # the View object itself for the slow path (borrowed; the platform
    # keeps it alive)
    int nmounts
    MountC *mounts
    void *gofer
    void *view
    bint special
    # the view's dentry cache of gofer directories (dcache.pxi), or NULL
    void *dcache
    # the app's user namespace (ids.pxi): its maps and overflow ids
    IdMap uids
    IdMap gids
    uint32_t overflow_uid
    uint32_t overflow_gid

ctypedef struct Call:
    int nr
    int tid
    uint64_t args[6]
    int action
    int64_t ret
    int fd
    uint32_t fd_flags
    # N.B. for ACT_FD under ptrace: the kernel redoes the open on the
    # resolved path with these flags (docs/sentry.md)
    int open_flags
    # ACT_SLOW: which slow handler (SLOW_OPEN, SLOW_CONNECT)
    int slow
    bint rewrite
    # set by the handlers of write-type calls: a read-only mount answers
    # EROFS once the path resolved
    int want_write
    # this call is served with the app's (non-root) fs credentials
    int as_app
    # what the last root_open() resolved into: a read-only mount; a file
    # the gofer walked to (its path as the app sees it is then c.canon)
    int last_ro
    int last_gofer
    Fs *fs
    # platform hooks
    int (*still_valid)(Call *c) noexcept nogil
    void *plat
    uint64_t cookie
    # credentials this loop thread last switched to (creds.pxi), and a
    # direct-mapped cache tid -> thread pidfd (0 = empty slot)
    int cred_tid
    uint32_t cred_uid
    uint32_t cred_gid
    uint64_t cred_caps          # the app thread's CapEff
    int caps_set                # this call lowered the thread's caps
    # the loop thread keeps an app's credentials between calls until they
    # differ (lazy_creds, set by the platform: then it calls settle_creds()
    # before running Python or anything else that needs the sentry's own):
    # what it holds now
    int lazy_creds
    int applied
    # a handler dropped the thread's filesystem capabilities for this call
    # (ids.pxi): dispatch() restores them
    int caps_dropped
    uint32_t ap_uid
    uint32_t ap_gid
    uint64_t ap_caps
    int ap_caps_set
    int ap_ngroups
    uint32_t ap_groups[NGROUPS_CACHE]
    int ngroups
    uint32_t groups[NGROUPS_CACHE]
    int pidfd_tid[PIDFD_CACHE]
    int pidfd_fd[PIDFD_CACHE]
    # scratch, preallocated with the call
    char path[PATH_BUF + 1]
    char path2[PATH_BUF + 1]
    char rel[2 * PATH_BUF + 2]
    char rel2[2 * PATH_BUF + 2]
    char tmp[PATH_BUF + 1]
    char canon[PATH_BUF + 1]

ctypedef void (*handler_t)(Call *c) noexcept nogil

cdef void dispatch(Call *c) noexcept nogil
cdef void call_init(Call *c) noexcept nogil
cdef void call_release(Call *c) noexcept nogil
cdef int enter_creds(Call *c) noexcept nogil
cdef void leave_creds(Call *c) noexcept nogil
cdef void settle_creds(Call *c) noexcept nogil
cdef bint is_trapped(int nr) noexcept nogil
cdef int fs_init(Fs *fs, int root_fd, int mode) noexcept nogil
cdef int strip_root(Fs *fs, const char *link, ssize_t n, char *out) noexcept nogil
cdef int read_mem(Call *c, void *dst, uint64_t addr, size_t n) noexcept nogil
cdef int write_mem(Call *c, uint64_t addr, const void *src, size_t n) noexcept nogil
cdef int fs_set_view(Fs *fs, object view) except -1
cdef int fs_set_ids(Fs *fs, int pid) noexcept nogil
