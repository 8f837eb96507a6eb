# cython: language_level=3, boundscheck=False, wraparound=False
"""The seccomp user-notification loop (platform ``seccomp``).

One loop thread serves every listener of the sandbox (one per process tree
that boot attached): ``poll`` over the listeners and a wake-up eventfd,
``SECCOMP_IOCTL_NOTIF_RECV`` into a preallocated request, dispatch through
the emulation layer's C table, then one response: ``NOTIF_SEND`` (a value,
an errno or ``FLAG_CONTINUE``) or ``NOTIF_ADDFD`` with
``SECCOMP_ADDFD_FLAG_SEND`` (install the fd and answer with its number in
one step).  The GIL is held only to add listeners, for ``--strace`` lines and
for the rare handlers that need Python (a FIFO's blocking open).
"""

from libc.errno cimport errno, EINTR, ENOENT, ESRCH, ENXIO
from libc.stdio cimport snprintf
from libc.string cimport memset, strlen
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint64_t, int64_t, intptr_t

from sentry.includes.notify cimport *
from sentry.emulate._core cimport (Call, Fs, dispatch, fs_init, fs_set_view,
                                   fs_set_ids, call_init, call_release,
                                   enter_creds, leave_creds, settle_creds,
                                   ACT_RETURN,
                                   ACT_CONTINUE, ACT_FD, ACT_SLOW, SLOW_OPEN,
                                   SLOW_CONNECT)

import os
import threading

cdef extern from "<sys/socket.h>" nogil:
    struct sockaddr:
        unsigned short sa_family
    int connect(int fd, const sockaddr *addr, unsigned int len)

cdef enum:
    MAXL = 64


cdef int notif_valid(Call *c) noexcept nogil:
    cdef uint64_t id = c.cookie
    return ioctl(<int><intptr_t>c.plat, SECCOMP_IOCTL_NOTIF_ID_VALID, &id)


cdef int send_resp(int listener, uint64_t id, int64_t val, uint32_t flags) noexcept nogil:
    """Answer ``id``: val >= 0 is the result, < 0 an errno."""
    cdef seccomp_notif_resp resp
    resp.id = id
    resp.flags = flags
    if val < 0:
        resp.val = 0
        resp.error = <int>val
    else:
        resp.val = val
        resp.error = 0
    if ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0:
        return -errno            # ENOENT: the task is gone or interrupted
    return 0


cdef int64_t send_fd(int listener, uint64_t id, int fd, uint32_t fd_flags) noexcept nogil:
    """Install ``fd`` in the app and answer with its number, atomically."""
    cdef seccomp_notif_addfd add
    cdef int r
    add.id = id
    add.flags = SECCOMP_ADDFD_FLAG_SEND
    add.srcfd = fd
    add.newfd = 0
    add.newfd_flags = fd_flags
    r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add)
    if r < 0:
        r = -errno
        if r != -ENOENT:
            send_resp(listener, id, r, 0)   # EMFILE and friends: the app's error
    return r


cdef class NotifyLoop:
    """Serves seccomp notifications for the listeners added to it."""
    cdef int nl
    cdef int lfd[MAXL]
    cdef Fs fs[MAXL]
    cdef pollfd pfd[MAXL + 1]
    cdef int wake
    cdef bint stopping
    cdef seccomp_notif req
    cdef Call call
    cdef object pending
    cdef object views
    cdef object lock
    cdef object slow
    cdef object trace
    cdef public object thread

    def __cinit__(self):
        self.nl = 0
        self.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
        if self.wake < 0:
            raise OSError(errno, "eventfd")
        self.stopping = False
        call_init(&self.call)
        self.call.still_valid = notif_valid
        # keep an app's credentials between its calls (creds.pxi); dropped
        # before any Python runs on this thread (settle_creds)
        self.call.lazy_creds = 1

    def __dealloc__(self):
        if self.wake >= 0:
            close(self.wake)

    def __init__(self, slow, trace=None):
        """``slow(loop, id, tid, nr, rel, flags, mode)`` serves ACT_SLOW;
        ``trace(tid, nr, args, path, result)`` is the strace hook."""
        self.pending = []
        self.views = []
        self.lock = threading.Lock()
        self.slow = slow
        self.trace = trace
        self.thread = None

    def add(self, int listener, int root_fd, int mode, bint app_rooted,
            view=None, int pid=0):
        """Serve ``listener`` (ours now) with paths inside ``root_fd``,
        through the container ``view`` (sentry.emulate._core.View) if any;
        ``pid``: the attached process, whose user namespace the ids shown
        to the app are in."""
        cdef int one = 1
        if ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                 <unsigned long>SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0:
            pass        # before Linux 6.6: answers take a cross-CPU wake-up
        with self.lock:
            self.pending.append((listener, root_fd, mode, app_rooted, view,
                                 pid))
        self._kick()

    def _kick(self):
        cdef uint64_t v = 1
        write(self.wake, &v, 8)

    def start(self):
        self.thread = threading.Thread(target=self.run, name="sentry-notify",
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping = True
        self._kick()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(5)

    cdef int _take_pending(self) except -1:
        cdef int i, r
        cdef uint64_t v
        read(self.wake, &v, 8)
        with self.lock:
            items, self.pending[:] = list(self.pending), []
        for listener, root_fd, mode, app_rooted, view, pid in items:
            if self.nl >= MAXL:
                os.close(listener)
                continue
            i = self.nl
            r = fs_init(&self.fs[i], root_fd, mode)
            if r < 0:
                os.close(listener)
                continue
            self.fs[i].app_rooted = app_rooted
            if pid > 0:
                fs_set_ids(&self.fs[i], pid)
            fs_set_view(&self.fs[i], view)
            if view is not None:
                self.views.append(view)
            self.lfd[i] = listener
            self.nl += 1
        return 0

    cdef void _drop(self, int i) noexcept nogil:
        """Forget listener ``i``: its process tree is gone."""
        close(self.lfd[i])
        close(self.fs[i].root_fd)
        self.nl -= 1
        if i != self.nl:
            self.lfd[i] = self.lfd[self.nl]
            self.fs[i] = self.fs[self.nl]

    def run(self):
        """The loop: returns after stop()."""
        # Own cwd/umask for this thread: creations take the app's umask,
        # applied by the handlers, not boot's.
        unshare(CLONE_FS)
        umask(0)
        cdef int i, r
        cdef int n
        while not self.stopping:
            self._take_pending()
            with nogil:
                self._serve()
        with nogil:
            while self.nl:
                self._drop(self.nl - 1)
            call_release(&self.call)

    cdef void _serve(self) noexcept nogil:
        """Serve until the wake-up eventfd fires (add or stop)."""
        cdef int i, r, n
        cdef Call *c = &self.call
        cdef int64_t res
        while True:
            n = self.nl
            for i in range(n):
                self.pfd[i].fd = self.lfd[i]
                self.pfd[i].events = POLLIN
                self.pfd[i].revents = 0
            self.pfd[n].fd = self.wake
            self.pfd[n].events = POLLIN
            self.pfd[n].revents = 0
            r = poll(self.pfd, n + 1, -1)
            if r < 0:
                if errno == EINTR:
                    continue
                settle_creds(c)
                return
            if self.pfd[n].revents:
                settle_creds(c)
                return
            for i in range(n - 1, -1, -1):
                if self.pfd[i].revents & POLLIN:
                    memset(&self.req, 0, sizeof(self.req))
                    if ioctl(self.lfd[i], SECCOMP_IOCTL_NOTIF_RECV, &self.req) < 0:
                        continue        # EINTR, or the task died (ENOENT)
                    self._one(i)
                elif self.pfd[i].revents & (POLLHUP | POLLERR):
                    self._drop(i)

    cdef void _one(self, int i) noexcept nogil:
        cdef Call *c = &self.call
        cdef int listener = self.lfd[i]
        cdef int64_t res
        c.nr = self.req.data.nr
        c.tid = <int>self.req.pid
        c.args[0] = self.req.data.args[0]
        c.args[1] = self.req.data.args[1]
        c.args[2] = self.req.data.args[2]
        c.args[3] = self.req.data.args[3]
        c.args[4] = self.req.data.args[4]
        c.args[5] = self.req.data.args[5]
        c.cookie = self.req.id
        c.plat = <void *><intptr_t>listener
        c.fs = &self.fs[i]
        c.path[0] = 0
        dispatch(c)
        if c.action == ACT_FD:
            res = send_fd(listener, c.cookie, c.fd, c.fd_flags)
            close(c.fd)
        elif c.action == ACT_CONTINUE:
            res = send_resp(listener, c.cookie, 0,
                            SECCOMP_USER_NOTIF_FLAG_CONTINUE)
        elif c.action == ACT_SLOW:
            settle_creds(c)
            with gil:
                self._slow(listener)
            return
        else:
            res = c.ret
            send_resp(listener, c.cookie, res, 0)
        if self.trace is not None:
            settle_creds(c)
            with gil:
                self._trace(res)

    cdef _slow(self, int listener):
        c = &self.call
        try:
            if c.slow == SLOW_CONNECT:
                self.slow(self, listener, c.cookie, "connect", c.fd,
                          c.tmp[:c.open_flags])
            else:
                self.slow(self, listener, c.cookie, "open", c.fs.root_fd,
                          <bytes>c.rel, c.open_flags, c.args[3], c.tid, c.fd)
        except BaseException:
            send_resp(listener, c.cookie, -5, 0)        # EIO: a sentry bug
            raise

    cdef _trace(self, int64_t res):
        c = &self.call
        try:
            self.trace(c.tid, c.nr, tuple(c.args[k] for k in range(6)),
                       <bytes>c.path, c.action, res)
        except Exception:
            pass

    # -- answers from other threads (the slow path) --------------------------
    def respond(self, int listener, uint64_t id, int64_t val):
        return send_resp(listener, id, val, 0)

    def respond_fd(self, int listener, uint64_t id, int fd, bint cloexec):
        return send_fd(listener, id, fd, O_CLOEXEC if cloexec else 0)


def blocking_connect(int fd, bytes addr):
    """connect(2) on our duplicate of an app socket, without the GIL;
    returns 0 or -errno."""
    cdef const char *a = addr
    cdef unsigned int n = len(addr)
    cdef int r
    with nogil:
        r = connect(fd, <sockaddr *>a, n)
        if r < 0:
            r = -errno
    return r


def blocking_open(int root_fd, bytes rel, int flags, int mode, int tid):
    """openat2 inside ``root_fd`` without the GIL (a FIFO waits for its
    peer), with the credentials of app thread ``tid``; the fd or -errno.

    The name is resolved O_PATH and that very file reopened.  Devices are
    never opened here, without the container's device rules at hand: the
    loop's checked open already answered them (ENXIO is how they get
    here), and one renamed over the FIFO since gets ENXIO too."""
    cdef open_how how
    cdef const char *p = rel
    cdef char proc[64]
    cdef stat st
    cdef int fd, sw, pfd
    cdef Call *c = <Call *>malloc(sizeof(Call))
    if c == NULL:
        raise MemoryError()
    call_init(c)
    c.tid = tid
    how.flags = flags | O_CLOEXEC
    how.mode = mode
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
    with nogil:
        unshare(CLONE_FS)       # this worker's own umask: the app's applies
        umask(0)
        sw = enter_creds(c)
        if sw < 0:
            fd = sw
        else:
            how.flags = O_PATH | O_CLOEXEC | (flags & (O_NOFOLLOW |
                                                       O_DIRECTORY))
            pfd = <int>syscall(SYS_openat2, root_fd, p, &how, sizeof(how))
            if pfd < 0 and errno == ENOENT and flags & O_CREAT:
                # the name went away meanwhile: a new file is no device
                how.flags = flags | O_EXCL | O_CLOEXEC
                fd = <int>syscall(SYS_openat2, root_fd, p, &how, sizeof(how))
                fd = fd if fd >= 0 else -errno
            elif pfd < 0:
                fd = -errno
            elif fstat(pfd, &st) < 0 or S_ISCHR(st.st_mode) or \
                    (st.st_mode & 0o170000) == 0o060000:
                # a device whose checked open said ENXIO (no driver, no
                # controlling tty), or one renamed over the FIFO since
                fd = -ENXIO
                close(pfd)
            else:
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd)
                fd = openat(-1, proc, (flags & ~(O_NOFOLLOW | O_CREAT |
                                                 O_EXCL)) | O_CLOEXEC)
                fd = fd if fd >= 0 else -errno
                close(pfd)
            if sw:
                leave_creds(c)
        call_release(c)
    free(c)
    return fd
