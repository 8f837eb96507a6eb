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

cdef enum:
    NGROUPS_CACHE = 64

# The credentials this thread last switched to.
cdef int _cred_tid = -1
cdef uint32_t _cred_uid = 0, _cred_gid = 0
cdef int _ngroups = 0
cdef uint32_t _groups[NGROUPS_CACHE]


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
    global _cred_tid, _cred_uid, _cred_gid, _ngroups
    cdef pyrunsc_pidfd_info info
    cdef int pidfd, r
    pidfd = <int>syscall(SYS_pidfd_open, c.tid, PIDFD_THREAD)
    if pidfd < 0:
        return -ESRCH
    memset(&info, 0, sizeof(info))
    info.mask = PYRUNSC_PIDFD_INFO_CREDS
    r = ioctl(pidfd, PYRUNSC_PIDFD_GET_INFO, &info)
    close(pidfd)
    if r < 0:
        return -ESRCH
    if info.fsuid == 0 and info.fsgid == 0:
        return 0
    if c.tid != _cred_tid or info.fsuid != _cred_uid or info.fsgid != _cred_gid:
        r = read_groups(c.tid, _groups, NGROUPS_CACHE)
        if r < 0:
            return r
        _ngroups = r
        _cred_tid = c.tid
        _cred_uid = info.fsuid
        _cred_gid = info.fsgid
    syscall(SYS_setgroups, _ngroups, _groups)
    syscall(SYS_setfsgid, info.fsgid)
    syscall(SYS_setfsuid, info.fsuid)
    return 1


cdef void leave_creds() noexcept nogil:
    syscall(SYS_setfsuid, 0)
    syscall(SYS_setfsgid, 0)
    syscall(SYS_setgroups, 0, NULL)
