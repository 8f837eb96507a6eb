# ptrace: the files sentry.fs.special synthesizes reach the app as a memfd
# the app's own thread creates (the ptrace platform cannot install an fd of
# the sentry's): the open becomes memfd_create(2) and the sentry writes
# and seals the content at the call's exit.  Included into
# sentry/emulate/_core.pyx.

cdef enum:
    MFD_CLOEXEC_ = 1
    MFD_ALLOW_SEALING_ = 2
    MEMFD_NAME_MAX = 249        # memfd_create(2): 249 bytes


cdef int special_content(Call *c, int flags) noexcept with gil:
    """For an open of ``c.rel`` (in a special mount) under ptrace: 1 when
    its content is synthesized (staged for ``fill_memfd``; the call is set
    up as SLOW_MEMFD), 0 when it is a kernel file, or -errno."""
    cdef int mi = mount_of(c.fs, c.rel)
    cdef int k = c.fs.mounts[mi].plen
    cdef const char *rest = c.rel + k
    cdef bytes name, rb
    while rest[0] == b'/':
        rest += 1
    rb = rest
    try:
        res = (<object>c.fs.view).special(
            c.tid, c.fs.root_fd, c.fs.mounts[mi].point[:k] or b"/",
            rb, "content", flags & ~O_CLOEXEC, 0)
        if res is None:
            return 0
        if isinstance(res, int):
            return res if res < 0 else -EIO
        from sentry.fs import special
        special.stage_fill(c.tid, res)
        k = rb.rfind(b"/") + 1
        name = rb[k:k + MEMFD_NAME_MAX]
    except BaseException:
        return -EIO
    memcpy(c.rel, <char *>name, len(name))
    c.rel[len(name)] = 0
    c.open_flags = MFD_ALLOW_SEALING_ | (MFD_CLOEXEC_ if flags & O_CLOEXEC
                                         else 0)
    c.slow = SLOW_MEMFD
    c.action = ACT_REWRITE
    return 1
