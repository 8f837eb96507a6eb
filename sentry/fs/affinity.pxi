# sched_getaffinity(2): the container's CPU quota shows as its online CPUs.
# Included into sentry/emulate/_core.pyx; the answer comes from
# sentry.fs.special.sched_getaffinity through the View (docs/architecture.md
# "The call into the special filesystems").


cdef int64_t affinity_mask(Call *c) noexcept with gil:
    """Ask the special filesystems for the mask and copy it out; the
    syscall's result (bytes copied) or -errno."""
    cdef bytes b
    try:
        res = (<object>c.fs.view).special(
            c.tid, c.fs.root_fd, b"/proc", str(<int>c.args[0]).encode(),
            "sched_getaffinity", <int>(<uint32_t>c.args[1]), 0)
        if isinstance(res, int):
            return res
        b = res
        if write_mem(c, c.args[2], <char *>b, len(b)) < 0:
            return -EFAULT
        return len(b)
    except BaseException:
        return -EIO


cdef void h_sched_getaffinity(Call *c) noexcept nogil:
    """sched_getaffinity implements linux syscall sched_getaffinity(2).

    The mask is the caller's real CPUs among the container's virtual CPUs
    (the first ceil(quota/period) it may run on), so that nproc(1) and
    sysconf(_SC_NPROCESSORS_ONLN) agree with /proc/cpuinfo and
    /sys/devices/system/cpu/online.  Without a container view (a bare
    root, tests) the kernel answers.
    """
    if c.fs.view == NULL:
        c.action = ACT_CONTINUE
        return
    ret(c, affinity_mask(c))


cdef void register_affinity() noexcept nogil:
    _register(204, h_sched_getaffinity)
