# execve(2), execveat(2), chdir(2), fchdir(2), chroot(2): checked here, then
# run by the kernel in the app's own mount namespace and root, so that the
# ELF interpreter, #! scripts, /proc/self/exe and the cwd stay native.

cdef void h_execve(Call *c) noexcept nogil:
    """execve implements linux syscall execve(2): the file must resolve
    inside the root; the kernel then runs the call."""
    cdef int fd = path_fd(c, AT_FDCWD, c.args[0], 0, 0)
    if fd < 0:
        ret(c, fd)
        return
    close(fd)
    c.action = ACT_CONTINUE


cdef void h_execveat(Call *c) noexcept nogil:
    """execveat implements linux syscall execveat(2)."""
    cdef int flags = <int>c.args[4]
    cdef int fd
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        ret(c, -EINVAL)
        return
    fd = path_fd(c, <int>c.args[0], c.args[1], flags, 0)
    if fd < 0:
        ret(c, fd)
        return
    close(fd)
    c.action = ACT_CONTINUE


cdef void h_chdir(Call *c) noexcept nogil:
    """chdir implements linux syscall chdir(2)."""
    cdef int fd = path_fd(c, AT_FDCWD, c.args[0], 0, O_DIRECTORY)
    if fd < 0:
        ret(c, fd)
        return
    close(fd)
    c.action = ACT_CONTINUE


cdef void h_fchdir(Call *c) noexcept nogil:
    """fchdir implements linux syscall fchdir(2): the fd must be a
    directory inside the root."""
    cdef int fd = open_app_fd(c, <int>c.args[0], O_PATH)
    cdef stat st
    if fd < 0:
        ret(c, fd)
        return
    if fstat(fd, &st) == 0 and not S_ISDIR(st.st_mode):
        close(fd)
        ret(c, -ENOTDIR)
        return
    close(fd)
    c.action = ACT_CONTINUE


cdef void h_chroot(Call *c) noexcept nogil:
    """chroot implements linux syscall chroot(2).

    N.B. not supported yet: EPERM, as for an app without CAP_SYS_CHROOT.
    """
    ret(c, -EPERM)


cdef void register_exec() noexcept nogil:
    _register(59, h_execve)
    _register(322, h_execveat)
    _register(80, h_chdir)
    _register(81, h_fchdir)
    _register(161, h_chroot)
