# The container's device rules for devices the sentry opens outside /dev.
# Included into sentry/emulate/_core.pyx (after paths.pxi); the rules are
# sentry.fs.devfs's (docs/architecture.md "The call into the special
# filesystems", "Devices anywhere").


cdef extern from "<sys/stat.h>" nogil:
    bint S_ISBLK(unsigned int m)


cdef int device_verdict(Call *c, int fd, uint64_t flags) noexcept with gil:
    """0 when the container may open the device ``fd`` (O_PATH) names
    with ``flags``, else
    -EPERM (as its device cgroup answers)."""
    try:
        from sentry.fs import devfs
        args = (<object>c.fs.view).ctx_args
        return devfs.check_fd(args.get("devices"), fd, <int>flags,
                              args.get("init_pid"))
    except BaseException:
        return -EIO


cdef int checked_local_open(Call *c, const char *p, uint64_t flags,
                            uint64_t mode, uint64_t resolve) noexcept nogil:
    """``local_open`` of a path that may name a device: the node is
    resolved (O_PATH opens no device), checked against the container's
    device rules, and only then opened - a driver's open may act (a
    watchdog arms, a tape rewinds).  The sentry never takes a controlling
    terminal (O_NOCTTY)."""
    cdef int pfd, r
    cdef stat st
    if flags & O_PATH or c.fs.view == NULL:
        return local_open(c, p, flags, mode, resolve)
    pfd = local_open(c, p, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)), 0,
                     resolve)
    if pfd < 0:
        if pfd == -ENOENT and flags & O_CREAT:
            return local_open(c, p, flags, mode, resolve)
        return pfd
    if fstat(pfd, &st) < 0 or not (S_ISCHR(st.st_mode) or
                                   S_ISBLK(st.st_mode)):
        close(pfd)
        return local_open(c, p, flags, mode, resolve)
    if flags & O_CREAT and flags & O_EXCL:
        close(pfd)
        return -EEXIST
    r = device_verdict(c, pfd, flags)
    if r == 0:
        r = reopen_fd(pfd, flags | O_NOCTTY, mode)
    close(pfd)
    return r
