# Acting with the app's credentials.  The sentry runs as root; before a
# handler runs, the serving thread takes the calling thread's fsuid and fsgid
# (PIDFD_GET_INFO on a thread pidfd, Linux 6.13) and its supplementary groups
# (/proc/<tid>/status, re-read only when the fsuid/fsgid pair changes), with
# per-thread raw syscalls so that boot's other threads keep theirs.  A
# non-zero fsuid drops CAP_DAC_OVERRIDE, CAP_FOWNER & co. from the thread's
# effective set, as for the app itself - capabilities(7) "Effect of user ID
# changes on capabilities".
#
# N.B. a root app whose capabilities the spec dropped is still served with
# the sentry's (full) capabilities.

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
    long SYS_setfsuid, SYS_setfsgid, SYS_setgroups


cdef void call_init(Call *c) noexcept nogil:
    """Prepare a platform's preallocated Call (once per loop)."""
    memset(c, 0, sizeof(Call))
    c.cred_tid = -1


cdef void call_release(Call *c) noexcept nogil:
    """Close what the Call caches (the loop is done)."""
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
    if fd < 0:
        return -ESRCH
    fcntl(fd, 2, 1)                     # F_SETFD FD_CLOEXEC
    c.pidfd_tid[slot] = c.tid
    c.pidfd_fd[slot] = fd
    return fd


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
    if info.fsuid == 0 and info.fsgid == 0:
        return 0
    if c.tid != c.cred_tid or info.fsuid != c.cred_uid or info.fsgid != c.cred_gid:
        r = read_groups(c.tid, c.groups, NGROUPS_CACHE)
        if r < 0:
            return r
        c.ngroups = r
        c.cred_tid = c.tid
        c.cred_uid = info.fsuid
        c.cred_gid = info.fsgid
    syscall(SYS_setgroups, c.ngroups, c.groups)
    syscall(SYS_setfsgid, info.fsgid)
    syscall(SYS_setfsuid, info.fsuid)
    return 1


cdef void leave_creds() noexcept nogil:
    syscall(SYS_setfsuid, 0)
    syscall(SYS_setfsgid, 0)
    syscall(SYS_setgroups, 0, NULL)
