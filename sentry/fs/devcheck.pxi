# The container's device rules for every device the sentry opens or makes
# for the app outside what sentry.fs.special serves (directfs, tmpfs and
# other local mounts, devices the gofer refuses, reopened fds, mknod).
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


cdef int device_may_mknod(Call *c, unsigned int mode,
                          unsigned long dev) noexcept with gil:
    """0 when the container's device rules let it make (``m``) the
    character or block device ``dev`` of ``mode``, else -EPERM (the device
    cgroup's answer to mknod(2)); 0 for every other file type."""
    try:
        import os
        from sentry.fs import devfs
        if c.fs.view == NULL:
            return 0
        if S_ISCHR(mode):
            kind = "c"
        elif S_ISBLK(mode):
            kind = "b"
        else:
            return 0
        args = (<object>c.fs.view).ctx_args
        if devfs.allowed(args.get("devices"), kind, os.major(dev),
                         os.minor(dev), "m", args.get("init_pid")):
            return 0
        return -EPERM
    except BaseException:
        return -EIO


cdef int checked_reopen(Call *c, int pfd, uint64_t flags,
                        uint64_t mode) noexcept nogil:
    """Open the file ``pfd`` (O_PATH, closed here) names with the app's
    ``flags``, after the container's device rules when it is a character
    or block device.  The file checked is the file opened: no rename in
    the container can slip a device in between.  The sentry never takes a
    controlling terminal (O_NOCTTY)."""
    cdef int r
    cdef stat st
    if fstat(pfd, &st) < 0:
        r = -errno
        close(pfd)
        return r
    if flags & O_CREAT and flags & O_EXCL:
        close(pfd)
        return -EEXIST
    if S_ISLNK(st.st_mode):
        close(pfd)
        return -ELOOP               # O_NOFOLLOW on a symlink - open(2)
    if flags & O_CREAT and S_ISDIR(st.st_mode):
        close(pfd)
        return -EISDIR              # open(2): "O_CREAT ... a directory"
    if S_ISCHR(st.st_mode) or S_ISBLK(st.st_mode):
        r = device_verdict(c, pfd, flags)
        if r < 0:
            close(pfd)
            return r
        flags |= O_NOCTTY
    r = reopen_fd(caps_wrt_fd(c, pfd), flags, mode)
    close(pfd)
    return r


cdef int raw_openat2(int dirfd, const char *p, uint64_t flags, uint64_t mode,
                     uint64_t resolve) noexcept nogil:
    cdef open_how how
    cdef int fd
    how.flags = flags | O_CLOEXEC
    how.mode = mode
    how.resolve = resolve
    fd = <int>syscall(SYS_openat2, dirfd, p, &how, sizeof(how))
    return fd if fd >= 0 else -errno


cdef int checked_openat2(Call *c, int dirfd, const char *p, uint64_t flags,
                         uint64_t mode, uint64_t resolve) noexcept nogil:
    """openat2(``dirfd``, ``p``) for the app, with every character or
    block device it may name checked against the container's device rules
    before it is opened - a driver's open may act (a watchdog arms, a tape
    rewinds).  The one way the sentry opens a path outside the gofer
    (directfs, tmpfs and other local mounts, what /proc, /sys and /dev do
    not serve themselves, the devices the gofer refuses): the name is
    resolved to an O_PATH fd, then that very file is checked and reopened
    (``checked_reopen``).  A missing name with O_CREAT is created with
    O_EXCL, so a node made meanwhile is looked at again, not opened.
    Through the app's root fd in a user namespace, the walk is also
    checked as the app (``local_open``, ``local_create``: ids.pxi)."""
    cdef int pfd, r, tries
    cdef stat st
    cdef bint walk = dirfd == c.fs.root_fd and ns_caps_held(c)
    if flags & O_PATH or (flags & O_TMPFILE) == O_TMPFILE or \
            c.fs.view == NULL:
        # nothing is opened (O_PATH), a new unnamed file, or no container
        if walk:
            return local_open(c, p, flags, mode, resolve)
        return raw_openat2(dirfd, p, flags, mode, resolve)
    for tries in range(2):
        if walk:
            pfd = local_open(c, p, O_PATH | (flags & (O_NOFOLLOW |
                                                      O_DIRECTORY)),
                             0, resolve)
        else:
            pfd = raw_openat2(dirfd, p,
                              O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)),
                              0, resolve)
        if pfd >= 0:
            return checked_reopen(c, pfd, flags, mode)
        if pfd != -ENOENT or not (flags & O_CREAT):
            return pfd
        if walk:
            r = local_create(c, p, flags | O_EXCL, mode, resolve)
        else:
            r = raw_openat2(dirfd, p, flags | O_EXCL, mode, resolve)
        if r != -EEXIST or flags & O_EXCL:
            return r
    # O_CREAT through a dangling symlink (O_EXCL refuses it): create its
    # target as open(2) does, and look at what was opened
    r = raw_openat2(dirfd, p, flags, mode, resolve)
    if r >= 0 and fstat(r, &st) == 0 and (S_ISCHR(st.st_mode) or
                                          S_ISBLK(st.st_mode)):
        pfd = device_verdict(c, r, flags)
        if pfd < 0:
            close(r)
            return pfd
    return r


cdef int checked_local_open(Call *c, const char *p, uint64_t flags,
                            uint64_t mode, uint64_t resolve) noexcept nogil:
    """``local_open`` (the app's root fd) through ``checked_openat2``."""
    return checked_openat2(c, c.fs.root_fd, p, flags, mode,
                           resolve | RESOLVE_SAFE)
