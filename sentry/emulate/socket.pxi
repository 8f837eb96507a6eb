# connect(2), bind(2) and sendto(2) with an address.  A pathname AF_UNIX
# address is resolved inside the root; every other address (inet, abstract
# unix) is used as the sentry copied it.  The call is made by the sentry on
# its own duplicate of the app's socket (pidfd_getfd(2)), so the kernel
# never re-reads the app's buffer.
#
# N.B. the peer credentials of a connection the sentry made
# (SO_PEERCRED) are the sentry's.  Under ptrace, addresses other than
# AF_UNIX paths are left to the kernel (the app's own network namespace).

from libc.stdlib cimport malloc, free

cdef extern from "<sys/socket.h>" nogil:
    struct sockaddr:
        unsigned short sa_family
    int connect(int fd, const sockaddr *addr, unsigned int len)
    int bind(int fd, const sockaddr *addr, unsigned int len)
    ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                   const sockaddr *addr, unsigned int len)
    int AF_UNIX
    int MSG_DONTWAIT

cdef extern from "<unistd.h>" nogil:
    int fchdir(int fd)

cdef extern from "<errno.h>":
    int EAGAIN, EINPROGRESS, EADDRINUSE

cdef enum:
    SUN_PATH_OFF = 2
    SOCKADDR_MAX = 128
    SEND_MAX = 1 << 20


cdef int app_socket(Call *c, int fd) noexcept nogil:
    """Our duplicate of the app's fd ``fd`` (the same open file)."""
    cdef int pidfd, r
    if fd < 0:
        return -EBADF
    pidfd = thread_pidfd(c, False)
    if pidfd < 0:
        return -ESRCH
    r = <int>syscall(SYS_pidfd_getfd, pidfd, fd, 0)
    if r < 0 and errno == ESRCH:
        pidfd = thread_pidfd(c, True)
        if pidfd < 0:
            return -ESRCH
        r = <int>syscall(SYS_pidfd_getfd, pidfd, fd, 0)
    r = r if r >= 0 else -errno
    if r >= 0:
        fcntl(r, 2, 1)                  # F_SETFD FD_CLOEXEC
    return r


cdef int read_addr(Call *c, uint64_t addr, uint64_t alen) noexcept nogil:
    """Copy the sockaddr into c.tmp; returns 1 for an AF_UNIX pathname
    (its path then in c.path), 0 for any other address, or -errno."""
    cdef int r, n
    cdef unsigned short family
    if alen > SOCKADDR_MAX:
        return -EINVAL
    if alen < 2:
        return -EINVAL
    r = read_mem(c, c.tmp, addr, alen)
    if r < 0:
        return r
    if c.still_valid != NULL and c.still_valid(c) < 0:
        return -ESRCH
    memcpy(&family, c.tmp, 2)
    if family != AF_UNIX or alen == SUN_PATH_OFF or c.tmp[SUN_PATH_OFF] == 0:
        return 0
    n = <int>alen - SUN_PATH_OFF
    memcpy(c.path, c.tmp + SUN_PATH_OFF, n)
    c.path[n] = 0
    return 1


cdef int unix_target(Call *c, int *kind) noexcept nogil:
    """Resolve an existing socket path (c.path) to an O_PATH fd."""
    cdef int n = <int>strlen(c.path)
    if n == 0:
        return -ENOENT
    n = join_path(c, AT_FDCWD, c.path, n, c.rel)
    if n < 0:
        return n
    return caps_wrt_fd(c, root_open(c, c.rel, O_PATH, 0, 0))


cdef int unix_connect_addr(int target, char *sun) noexcept nogil:
    """Fill ``sun`` (a sockaddr_un) with a path naming ``target``."""
    cdef unsigned short fam = AF_UNIX
    memset(sun, 0, 110)
    memcpy(sun, &fam, 2)
    return SUN_PATH_OFF + 1 + snprintf(sun + SUN_PATH_OFF, 108,
                                       "/proc/self/fd/%d", target)


cdef bint privileged_port(Call *c) noexcept nogil:
    """An inet bind below port 1024 by an app without CAP_NET_BIND_SERVICE
    (the sentry binds with its own capabilities: check the app's, from
    CapEff in /proc/<tid>/status - only for this rare case)."""
    cdef unsigned short fam, port
    cdef uint64_t caps = 0
    memcpy(&fam, c.tmp, 2)
    if fam != 2 and fam != 10:          # AF_INET, AF_INET6
        return False
    port = ((<unsigned char>c.tmp[2]) << 8) | (<unsigned char>c.tmp[3])
    if port == 0 or port >= 1024:
        return False
    if read_capeff(c.tid, &caps) < 0:
        return True
    return not (caps & (1 << 10))       # CAP_NET_BIND_SERVICE


cdef void do_connect(Call *c, bint is_bind) noexcept nogil:
    cdef int kind = 0, sock, target, r, len, fl, pfd
    cdef const char *last
    cdef char sun[112]
    cdef unsigned short fam = AF_UNIX
    r = read_addr(c, c.args[1], c.args[2])
    if r < 0:
        ret(c, r)
        return
    if r == 0 and c.rewrite:
        c.action = ACT_CONTINUE
        return
    sock = app_socket(c, <int>c.args[0])
    if sock < 0:
        ret(c, sock)
        return
    if r == 0:
        if is_bind and privileged_port(c):
            close(sock)
            ret(c, -EACCES)
            return
        if is_bind:
            r = bind(sock, <sockaddr *>c.tmp, <unsigned int>c.args[2])
        else:
            fl = fcntl(sock, F_GETFL)
            if fl >= 0 and not (fl & O_NONBLOCK):
                # a blocking connect may take long: not on the loop
                c.fd = sock
                c.open_flags = <int>c.args[2]
                c.slow = SLOW_CONNECT
                c.action = ACT_SLOW
                return
            r = connect(sock, <sockaddr *>c.tmp, <unsigned int>c.args[2])
        r = r if r == 0 else -errno
        close(sock)
        ret(c, r)
        return
    if is_bind:
        # bind creates the name: resolve the parent, bind the last
        # component relative to it (this thread has its own cwd and umask)
        c.path[<int>c.args[2] - SUN_PATH_OFF] = 0
        memcpy(c.path2, c.path, strlen(c.path) + 1)
        r = <int>strlen(c.path2)
        if r == 0:
            close(sock)
            ret(c, -ENOENT)
            return
        r = join_path(c, AT_FDCWD, c.path2, r, c.rel)
        if r < 0:
            close(sock)
            ret(c, r)
            return
        len = split_last(c.rel, r)
        last = c.rel + len
        if len <= 1:
            pfd = root_open(c, "/", O_PATH | O_DIRECTORY, 0, 0)
        else:
            c.rel[len - 1] = 0
            pfd = root_open(c, c.rel, O_PATH | O_DIRECTORY, 0, 0)
        if pfd < 0:
            close(sock)
            ret(c, pfd)
            return
        caps_wrt_fd(c, pfd)
        memset(sun, 0, sizeof(sun))
        memcpy(sun, &fam, 2)
        len = <int>strlen(last)
        if len > 107:
            r = -ENAMETOOLONG
        elif fchdir(pfd) < 0:
            r = -errno
        else:
            memcpy(sun + SUN_PATH_OFF, last, len + 1)
            umask(app_umask(c))
            r = bind(sock, <sockaddr *>sun, SUN_PATH_OFF + len + 1)
            r = r if r == 0 else -errno
            umask(0)
            fchdir(c.fs.root_fd)
        close(pfd)
        close(sock)
        ret(c, r)
        return
    target = unix_target(c, &kind)
    if target < 0:
        close(sock)
        ret(c, target)
        return
    len = unix_connect_addr(target, sun)
    r = connect(sock, <sockaddr *>sun, len)
    r = r if r == 0 else -errno
    close(target)
    close(sock)
    ret(c, r)


cdef void h_connect(Call *c) noexcept nogil:
    """connect implements linux syscall connect(2)."""
    do_connect(c, False)


cdef void h_bind(Call *c) noexcept nogil:
    """bind implements linux syscall bind(2)."""
    do_connect(c, True)


cdef void h_sendto(Call *c) noexcept nogil:
    """sendto implements linux syscall sendto(2) with an address."""
    cdef int r, sock, target, len, kind = 0, fl, is_path
    cdef size_t n = c.args[2]
    cdef char *buf = NULL
    cdef char sun[112]
    cdef const void *addr
    cdef unsigned int alen
    if c.args[4] == 0:
        c.action = ACT_CONTINUE     # no address: the connected peer
        return
    is_path = read_addr(c, c.args[4], c.args[5])
    if is_path < 0:
        ret(c, is_path)
        return
    if is_path == 0 and c.rewrite:
        c.action = ACT_CONTINUE
        return
    if n > SEND_MAX:
        n = SEND_MAX
    sock = app_socket(c, <int>c.args[0])
    if sock < 0:
        ret(c, sock)
        return
    if n:
        buf = <char *>malloc(n)
        if buf == NULL:
            close(sock)
            ret(c, -ENOMEM)
            return
        r = read_mem(c, buf, c.args[1], n)
        if r < 0:
            free(buf)
            close(sock)
            ret(c, r)
            return
    target = -1
    addr = c.tmp
    alen = <unsigned int>c.args[5]
    if is_path:
        target = unix_target(c, &kind)
        if target < 0:
            free(buf)
            close(sock)
            ret(c, target)
            return
        alen = unix_connect_addr(target, sun)
        addr = sun
    # N.B. never block the loop: a full socket buffer gives EAGAIN
    r = <int>sendto(sock, buf, n, <int>c.args[3] | MSG_DONTWAIT, <sockaddr *>addr, alen)
    r = r if r >= 0 else -errno
    if target >= 0:
        close(target)
    free(buf)
    close(sock)
    ret(c, r)


cdef void register_socket() noexcept nogil:
    _register(42, h_connect)
    _register(49, h_bind)
    _register(44, h_sendto)
