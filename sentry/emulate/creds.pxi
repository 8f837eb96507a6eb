# Acting with the app's credentials.  The sentry runs as root; before a
# handler runs, the serving thread takes the calling thread's fsuid and fsgid
# (PIDFD_GET_INFO on a thread pidfd, Linux 6.13) and its supplementary groups
# (/proc/<tid>/status, re-read only when the fsuid/fsgid pair changes), with
# per-thread raw syscalls so that boot's other threads keep theirs.  A
# non-zero fsuid drops CAP_DAC_OVERRIDE, CAP_FOWNER & co. from the thread's
# effective set, as for the app itself - capabilities(7) "Effect of user ID
# changes on capabilities".
#
# The thread also takes the app thread's effective capabilities (capget(2)
# of that thread, re-read with the groups): a root app whose spec dropped CAP_DAC_OVERRIDE
# or CAP_CHOWN must not be served with the sentry's, and a non-root app that
# holds CAP_DAC_OVERRIDE keeps it although setfsuid cleared it here.
# N.B. capabilities an app thread changes itself with capset(2), without a
# change of its fs ids, are seen at its next change of ids.

cdef extern from *:
    """
    #include <sys/ioctl.h>
    #define PYRUNSC_PIDFD_GET_INFO _IOWR(0xFF, 11, struct pyrunsc_pidfd_info)
    #define PYRUNSC_PIDFD_INFO_CREDS (1UL << 1)
    struct pyrunsc_pidfd_info {
        __u64 mask, cgroupid;
        __u32 pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
        __u32 spare0;
    };
    """
    struct pyrunsc_pidfd_info:
        uint64_t mask
        uint32_t fsuid
        uint32_t fsgid
    unsigned long PYRUNSC_PIDFD_GET_INFO
    uint64_t PYRUNSC_PIDFD_INFO_CREDS

cdef extern from "<sys/syscall.h>" nogil:
    long SYS_setfsuid, SYS_setfsgid, SYS_setgroups, SYS_capget, SYS_capset

cdef extern from "<linux/capability.h>" nogil:
    ctypedef struct cred_cap_header "struct __user_cap_header_struct":
        unsigned int version
        int pid
    ctypedef struct cred_cap_data "struct __user_cap_data_struct":
        unsigned int effective
        unsigned int permitted
        unsigned int inheritable
    unsigned int _LINUX_CAPABILITY_VERSION_3


cdef int read_capeff(int tid, uint64_t *caps) noexcept nogil:
    """The effective capabilities of thread ``tid`` (capget(2) answers for
    any thread; /proc/<tid>/status would cost the kernel a page of text
    for each new process): 0 or -ESRCH."""
    cdef cred_cap_header hdr
    cdef cred_cap_data data[2]
    hdr.version = _LINUX_CAPABILITY_VERSION_3
    hdr.pid = tid
    if syscall(SYS_capget, &hdr, data) < 0:
        return -ESRCH
    caps[0] = (<uint64_t>data[1].effective << 32) | data[0].effective
    return 0


cdef int set_thread_caps(uint64_t eff, bint restore) noexcept nogil:
    """Give this thread the filesystem capabilities of ``eff`` (FS_CAPS,
    within its permitted set), or all it permits when ``restore``.  The
    others stay: the sentry needs CAP_SYS_PTRACE to read app memory.
    Capabilities are per thread."""
    cdef cred_cap_header hdr
    cdef cred_cap_data data[2]
    hdr.version = _LINUX_CAPABILITY_VERSION_3
    hdr.pid = 0
    if syscall(SYS_capget, &hdr, data) < 0:
        return -1
    cdef uint64_t cur = (<uint64_t>data[1].effective << 32) | data[0].effective
    cdef uint64_t perm = (<uint64_t>data[1].permitted << 32) | data[0].permitted
    if restore:
        cur = perm
    else:
        cur = (cur & ~FS_CAPS) | (eff & FS_CAPS & perm)
    data[0].effective = <unsigned int>(cur & <uint64_t>0xffffffffU)
    data[1].effective = <unsigned int>(cur >> 32)
    hdr.version = _LINUX_CAPABILITY_VERSION_3
    hdr.pid = 0
    return syscall(SYS_capset, &hdr, data)


cdef void call_init(Call *c) noexcept nogil:
    """Prepare a platform's preallocated Call (once per loop)."""
    memset(c, 0, sizeof(Call))
    c.cred_tid = -1


cdef void call_release(Call *c) noexcept nogil:
    """Close what the Call caches (the loop is done, or its fds are
    needed back)."""
    cdef int i
    for i in range(PIDFD_CACHE):
        if c.pidfd_tid[i]:
            close(c.pidfd_fd[i])
            c.pidfd_tid[i] = 0


cdef int thread_pidfd(Call *c, bint fresh) noexcept nogil:
    """A pidfd of thread c.tid, cached: a cached pidfd names one task, so a
    reused tid shows up as ESRCH on use and ``fresh`` reopens it."""
    cdef int slot = c.tid & (PIDFD_CACHE - 1)
    cdef int fd
    if c.pidfd_tid[slot] == c.tid and not fresh:
        return c.pidfd_fd[slot]
    if c.pidfd_tid[slot]:
        close(c.pidfd_fd[slot])
        c.pidfd_tid[slot] = 0
    fd = <int>syscall(SYS_pidfd_open, c.tid, PIDFD_THREAD)
    if fd < 0 and (errno == EMFILE or errno == ENFILE):
        # the cache keeps pidfds of threads long gone until their slot is
        # reused: give them back rather than fail the call
        call_release(c)
        fd = <int>syscall(SYS_pidfd_open, c.tid, PIDFD_THREAD)
    if fd < 0:
        return -ESRCH
    if fd >= fd_budget():
        # pidfds of gone threads crowd boot's fd table (an fd received
        # from the gofer would be dropped): let the others go
        call_release(c)
    fcntl(fd, 2, 1)                     # F_SETFD FD_CLOEXEC
    c.pidfd_tid[slot] = c.tid
    c.pidfd_fd[slot] = fd
    return fd


cdef int _fd_budget = 0

cdef extern from "<sys/resource.h>" nogil:
    struct rlimit:
        unsigned long rlim_cur
        unsigned long rlim_max
    int getrlimit(int resource, rlimit *rlim)
    int RLIMIT_NOFILE


cdef int fd_budget() noexcept nogil:
    """The fd numbers the emulation layer's caches (pidfds, the dentry
    cache) may hold: three quarters of RLIMIT_NOFILE (read once), the rest
    is boot's own (control connections, fds in flight from the gofer)."""
    global _fd_budget
    cdef rlimit rl
    if _fd_budget == 0:
        _fd_budget = 1 << 30
        if getrlimit(RLIMIT_NOFILE, &rl) == 0 and rl.rlim_cur < (1 << 30):
            _fd_budget = <int>(rl.rlim_cur * 3 // 4)
    return _fd_budget


cdef int read_groups(int tid, uint32_t *groups, int max) noexcept nogil:
    cdef char proc[64]
    cdef char buf[4096]
    cdef int fd, n = 0
    cdef ssize_t len
    cdef char *p
    cdef uint32_t v
    snprintf(proc, sizeof(proc), "/proc/%d/status", tid)
    fd = openat(-1, proc, O_RDONLY | O_CLOEXEC)
    if fd < 0:
        return -ESRCH
    len = read(fd, buf, sizeof(buf) - 1)
    close(fd)
    if len <= 0:
        return -ESRCH
    buf[len] = 0
    p = strstr(buf, "Groups:")
    if p == NULL:
        return 0
    p += 7
    while p[0] != 0 and p[0] != b'\n' and n < max:
        if 48 <= p[0] <= 57:
            v = 0
            while 48 <= p[0] <= 57:
                v = v * 10 + (p[0] - 48)
                p += 1
            groups[n] = v
            n += 1
        else:
            p += 1
    return n


cdef int enter_creds(Call *c) noexcept nogil:
    """Take the caller's fs credentials: 1 switched, 0 root (nothing to
    do), -errno when the caller is gone."""
    cdef pyrunsc_pidfd_info info
    cdef int pidfd, r
    cdef uint64_t fs_app
    pidfd = thread_pidfd(c, False)
    if pidfd < 0:
        return pidfd
    memset(&info, 0, sizeof(info))
    info.mask = PYRUNSC_PIDFD_INFO_CREDS
    r = ioctl(pidfd, PYRUNSC_PIDFD_GET_INFO, &info)
    if r < 0:                           # a dead task: the tid may be reused
        pidfd = thread_pidfd(c, True)
        if pidfd < 0:
            return pidfd
        memset(&info, 0, sizeof(info))
        info.mask = PYRUNSC_PIDFD_INFO_CREDS
        if ioctl(pidfd, PYRUNSC_PIDFD_GET_INFO, &info) < 0:
            return -ESRCH
    if (c.tid != c.cred_tid or info.fsuid != c.cred_uid
            or info.fsgid != c.cred_gid):
        r = read_capeff(c.tid, &c.cred_caps)
        if r < 0:
            return r
        if c.fs != NULL and c.fs.uids.n:
            c.cred_caps &= ~INIT_NS_CAPS    # (ids.pxi)
        if info.fsuid != 0 or info.fsgid != 0:
            r = read_groups(c.tid, c.groups, NGROUPS_CACHE)
            if r < 0:
                return r
            c.ngroups = r
        c.cred_tid = c.tid
        c.cred_uid = info.fsuid
        c.cred_gid = info.fsgid
    # Adjust the thread's filesystem capabilities when they would differ
    # from the app's: setfsuid(nonzero) clears them, fsuid 0 keeps ours.
    fs_app = c.cred_caps & FS_CAPS & sentry_caps()
    if info.fsuid == 0 and info.fsgid == 0:
        c.caps_set = fs_app != (sentry_caps() & FS_CAPS)
    else:
        c.caps_set = fs_app != 0
    if info.fsuid == 0 and info.fsgid == 0 and not c.caps_set:
        settle_creds(c)
        return 0
    if c.applied:
        if (c.ap_uid == info.fsuid and c.ap_gid == info.fsgid
                and c.ap_caps_set == c.caps_set
                and c.ap_caps == (c.cred_caps & FS_CAPS)
                and (c.ngroups if info.fsuid or info.fsgid else 0)
                == c.ap_ngroups
                and memcmp(c.ap_groups, c.groups,
                           c.ap_ngroups * sizeof(uint32_t)) == 0):
            return 1            # the thread holds these already
        leave_creds(c)          # from the sentry's own, never across
    if info.fsuid != 0 or info.fsgid != 0:
        syscall(SYS_setgroups, c.ngroups, c.groups)
        syscall(SYS_setfsgid, info.fsgid)
        syscall(SYS_setfsuid, info.fsuid)
    c.applied = 1
    c.ap_uid = info.fsuid
    c.ap_gid = info.fsgid
    c.ap_caps_set = c.caps_set
    c.ap_caps = c.cred_caps & FS_CAPS
    c.ap_ngroups = c.ngroups if info.fsuid or info.fsgid else 0
    memcpy(c.ap_groups, c.groups, c.ap_ngroups * sizeof(uint32_t))
    if c.caps_set and set_thread_caps(c.cred_caps, False) < 0:
        leave_creds(c)
        return -EPERM
    return 1


cdef uint64_t _sentry_caps = 0
# The capabilities a change of fsuid clears and restores - capabilities(7):
# CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE,
# MKNOD, MAC_OVERRIDE.
cdef uint64_t FS_CAPS = ((1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4)
                         | (1 << 9) | (1 << 27) | (<uint64_t>1 << 32))


cdef uint64_t sentry_caps() noexcept nogil:
    """The sentry's own effective set, read once (every loop thread has
    the same outside a served call)."""
    global _sentry_caps
    cdef cred_cap_header hdr
    cdef cred_cap_data data[2]
    if _sentry_caps == 0:
        hdr.version = _LINUX_CAPABILITY_VERSION_3
        hdr.pid = 0
        if syscall(SYS_capget, &hdr, data) == 0:
            _sentry_caps = (<uint64_t>data[1].effective << 32) | data[0].effective
    return _sentry_caps


cdef void leave_creds(Call *c) noexcept nogil:
    """Back to the sentry's own credentials."""
    if c.ap_caps_set or c.caps_dropped:
        set_thread_caps(0, True)
    c.ap_caps_set = 0
    c.caps_dropped = 0
    syscall(SYS_setfsuid, 0)
    syscall(SYS_setfsgid, 0)
    syscall(SYS_setgroups, 0, NULL)
    c.applied = 0


cdef void settle_creds(Call *c) noexcept nogil:
    """Drop the app credentials a lazy loop thread kept (before Python,
    before it takes new work or ends)."""
    if c.applied:
        leave_creds(c)
