# cython: language_level=3, boundscheck=False, wraparound=False
"""The ptrace loop (platform ``ptrace``).

One thread is the tracer of every app thread and boot's only waitpid
caller.  The app's filter returns SECCOMP_RET_TRACE for trapped calls; at
the PTRACE_EVENT_SECCOMP stop the loop reads the registers, dispatches
through the emulation layer's C table and either skips the call with a
result (orig_rax = -1, rax = value), lets it run, or rewrites an open onto
the path the sentry resolved inside the root (docs/sentry.md says why).
fork/vfork/clone children are traced automatically (PTRACE_O_TRACE*), and
PTRACE_O_EXITKILL kills every tracee if boot dies.  Exits that are not a
tracee thread's are handed to ``on_exit(pid, status)`` with the GIL.
"""

from libc.errno cimport errno, EINTR, ECHILD, ESRCH
from libc.string cimport memset, strlen, strstr
from libc.stdio cimport snprintf
from libc.stdlib cimport calloc, free
from libc.stdint cimport uint64_t, int64_t, uint8_t

from sentry.includes.notify cimport *
from sentry.emulate._core cimport (Call, Fs, dispatch, fs_init, fs_set_view, fs_set_ids, call_init,
                                   call_release, SLOW_RESTART, SLOW_MEMFD,
                                   write_mem,
                                   ACT_RETURN, ACT_CONTINUE, ACT_FD, ACT_SLOW,
                                   ACT_REWRITE)

import os
import threading

cdef extern from *:
    """
    #include <signal.h>
    #include <string.h>
    static void pyrunsc_wake_handler(int sig) { (void)sig; }
    static int pyrunsc_install_wake(int sig) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = pyrunsc_wake_handler;   /* no SA_RESTART: EINTR */
        sigemptyset(&sa.sa_mask);
        return sigaction(sig, &sa, NULL);
    }
    static int pyrunsc_sigrtmax(void) { return SIGRTMAX; }
    """
    int pyrunsc_install_wake(int sig) nogil
    int pyrunsc_sigrtmax() nogil

cdef extern from *:
    """
    #define PYRUNSC_PTRACE_GET_SYSCALL_INFO 0x420e
    struct pyrunsc_syscall_info {
        __u8 op;
        __u8 pad[3];
        __u32 arch;
        __u64 instruction_pointer;
        __u64 stack_pointer;
        __u64 nr;
        __u64 args[6];
        __u32 ret_data;
        __u32 pad2;
    };
    """
    struct pyrunsc_syscall_info:
        uint8_t op
        uint64_t nr
        uint64_t args[6]
    int PYRUNSC_PTRACE_GET_SYSCALL_INFO

cdef enum:
    MAXFS = 64
    ST_SEEN = 1         # its first stop was handled
    ST_THREAD = 2       # a thread, not a process: its exit is not forwarded
    ST_TRACED = 4

cdef int SIGWAKE = pyrunsc_sigrtmax() - 3


def wake_signal():
    return SIGWAKE


cdef class PtraceLoop:
    cdef Fs fs[MAXFS]
    cdef int nfs
    cdef uint8_t *state
    cdef uint8_t *fsidx
    cdef int pid_max
    cdef Call call
    cdef user_regs_struct regs
    cdef int wake
    cdef public int tid
    cdef bint stopping
    cdef object pending
    cdef object views
    cdef object lock
    cdef object on_exit
    cdef object trace
    cdef dict traced
    cdef dict restore
    cdef dict entries
    cdef int resume
    cdef bint trace_all
    cdef int nrestore
    cdef public object thread
    cdef public int ntraced

    def __cinit__(self):
        with open("/proc/sys/kernel/pid_max") as f:
            self.pid_max = int(f.read()) + 1
        self.state = <uint8_t *>calloc(self.pid_max, 1)
        self.fsidx = <uint8_t *>calloc(self.pid_max, 1)
        if self.state == NULL or self.fsidx == NULL:
            raise MemoryError()
        self.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
        call_init(&self.call)
        self.call.rewrite = True
        self.call.still_valid = NULL
        self.nfs = 0
        self.tid = 0
        self.ntraced = 0

    def __dealloc__(self):
        free(self.state)
        free(self.fsidx)
        if self.wake >= 0:
            close(self.wake)

    def __init__(self, on_exit=None, trace=None, bint trace_all=False):
        """``trace(tid, nr, args, path, action, result)`` logs served calls;
        with ``trace_all`` every call is stopped at entry and exit too
        (PTRACE_SYSCALL) and logged, not only the trapped ones."""
        self.pending = []
        self.views = []
        self.lock = threading.Lock()
        self.on_exit = on_exit
        self.trace = trace
        self.traced = {}
        self.entries = {}
        self.trace_all = trace_all and trace is not None
        self.resume = PTRACE_SYSCALL if self.trace_all else PTRACE_CONT
        self.restore = {}
        self.nrestore = 0
        self.stopping = False
        self.thread = None
        if pyrunsc_install_wake(SIGWAKE) < 0:
            raise OSError(errno, "sigaction")

    def start(self):
        ready = threading.Event()
        self.thread = threading.Thread(target=self.run, args=(ready,),
                                       name="sentry-ptrace", daemon=True)
        self.thread.start()
        ready.wait()

    def _kick(self):
        cdef uint64_t v = 1
        write(self.wake, &v, 8)
        if self.tid:
            syscall(SYS_tgkill, getpid(), self.tid, SIGWAKE)

    def seize(self, int pid, int root_fd, int mode, bint app_rooted, timeout=10,
              view=None):
        """Trace ``pid`` (and its future children) from the loop thread;
        returns once seized, or raises OSError."""
        done = threading.Event()
        box = []
        with self.lock:
            self.pending.append((pid, root_fd, mode, app_rooted, done, box, view))
        for _ in range(int(timeout / 0.02)):
            self._kick()
            if done.wait(0.02):
                break
        if not box:
            raise OSError(ESRCH, f"ptrace platform: attaching {pid} timed out")
        if box[0]:
            raise OSError(box[0], f"PTRACE_SEIZE {pid}: {os.strerror(box[0])}")

    def stop(self):
        self.stopping = True
        self._kick()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(5)

    cdef int _take_pending(self) except -1:
        cdef uint64_t v
        cdef int pid, r, i
        cdef long opts = (PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK |
                          PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                          PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL |
                          PTRACE_O_TRACESYSGOOD)
        read(self.wake, &v, 8)
        with self.lock:
            items, self.pending[:] = list(self.pending), []
        for pid, root_fd, mode, app_rooted, done, box, view in items:
            err = 0
            if self.nfs >= MAXFS or pid >= self.pid_max:
                err = 24
            else:
                i = self.nfs
                r = fs_init(&self.fs[i], root_fd, mode)
                if r < 0:
                    err = -r
                else:
                    self.fs[i].app_rooted = app_rooted
                    fs_set_ids(&self.fs[i], pid)
                    fs_set_view(&self.fs[i], view)
                    if view is not None:
                        self.views.append(view)
                    if ptrace(PTRACE_SEIZE, pid, NULL, <void *>opts) < 0:
                        err = errno
                    else:
                        self.nfs += 1
                        self.fsidx[pid] = i
                        self.state[pid] = ST_SEEN | ST_TRACED
                        self.ntraced += 1
            if err:
                os.close(root_fd)
            box.append(err)
            done.set()
        return 0

    def run(self, ready=None):
        unshare(CLONE_FS)
        umask(0)
        self.tid = <int>syscall(SYS_gettid)
        if ready is not None:
            ready.set()
        cdef int pid, status, r
        cdef pollfd pfd
        while not self.stopping:
            self._take_pending()
            with nogil:
                r = self._serve(&pid, &status)
            if r == 1:
                self._exited(pid, status)
            elif r == 2:
                # no children right now: boot may fork one at any time (and
                # it must still be reaped here), so look again soon
                pfd.fd = self.wake
                pfd.events = POLLIN
                with nogil:
                    poll(&pfd, 1, 50)
        cdef int i
        with nogil:
            call_release(&self.call)
            for i in range(self.nfs):
                close(self.fs[i].root_fd)
            self.nfs = 0

    cdef _exited(self, int pid, int status):
        if self.on_exit is not None:
            try:
                self.on_exit(pid, status)
            except Exception:
                import logging
                logging.getLogger("sentry").exception("on_exit(%d) failed", pid)

    cdef int _serve(self, int *opid, int *ostatus) noexcept nogil:
        """Handle stops until an exit to forward (1), no children (2) or a
        wake-up (0)."""
        cdef int pid, status, ev, sig
        cdef uint8_t st
        while True:
            pid = waitpid(-1, &status, __WALL)
            if pid < 0:
                if errno == EINTR:
                    return 0
                if errno == ECHILD:
                    return 2
                return 0
            if pid >= self.pid_max:
                continue
            st = self.state[pid]
            if WIFEXITED(status) or WIFSIGNALED(status):
                self.state[pid] = 0
                if st & ST_TRACED:
                    self.ntraced -= 1
                if not (st & ST_THREAD):
                    opid[0] = pid
                    ostatus[0] = status
                    return 1
                continue
            if not WIFSTOPPED(status):
                continue
            ev = status >> 16
            sig = WSTOPSIG(status)
            if ev == PTRACE_EVENT_SECCOMP:
                if self._syscall(pid):
                    # strace: see the result at the syscall-exit stop
                    ptrace(PTRACE_SYSCALL, pid, NULL, NULL)
                else:
                    ptrace(self.resume, pid, NULL, NULL)
            elif ev == 0 and sig == (SIGTRAP | 0x80):
                if self.trace_all and self._syscall_entry(pid):
                    ptrace(PTRACE_SYSCALL, pid, NULL, NULL)
                    continue
                if self.nrestore:
                    self._restart_exit(pid)
                if self.trace is not None:
                    self._trace_exit(pid)
                ptrace(self.resume, pid, NULL, NULL)
            elif ev == PTRACE_EVENT_FORK or ev == PTRACE_EVENT_VFORK or ev == PTRACE_EVENT_CLONE:
                self._child(pid, ev)
                ptrace(self.resume, pid, NULL, NULL)
            elif ev == PTRACE_EVENT_EXEC:
                ptrace(self.resume, pid, NULL, NULL)
            elif ev == PTRACE_EVENT_STOP:
                if not (st & ST_SEEN):
                    # a new tracee's first stop (may come before the event)
                    self.state[pid] = st | ST_SEEN | ST_TRACED
                    if not (st & ST_TRACED):
                        self.ntraced += 1
                    ptrace(self.resume, pid, NULL, NULL)
                elif sig == SIGSTOP or sig == 20 or sig == 21 or sig == 22:
                    ptrace(PTRACE_LISTEN, pid, NULL, NULL)   # group-stop
                else:
                    ptrace(self.resume, pid, NULL, NULL)
            else:
                # signal-delivery stop: deliver it
                if sig == SIGTRAP and not (st & ST_SEEN):
                    sig = 0
                ptrace(self.resume, pid, NULL, <void *><long>sig)

    cdef void _child(self, int pid, int ev) noexcept nogil:
        cdef unsigned long msg = 0
        cdef int child
        if ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg) < 0:
            return
        child = <int>msg
        if child <= 0 or child >= self.pid_max:
            return
        self.fsidx[child] = self.fsidx[pid]
        if not (self.state[child] & ST_TRACED):
            self.ntraced += 1
        self.state[child] |= ST_TRACED
        if ev == PTRACE_EVENT_CLONE and _is_thread(child):
            self.state[child] |= ST_THREAD

    cdef void _restart_exit(self, int pid) noexcept nogil:
        """At the exit of a rewritten call that may block: if a signal is
        about to restart it, restart the app's own call instead (the
        rewritten path below the stack pointer is gone under the signal
        frame) - it is trapped and served afresh."""
        cdef user_regs_struct *r = &self.regs
        cdef int64_t rax
        if ptrace(PTRACE_GETREGS, pid, NULL, r) < 0:
            return
        with gil:
            saved = self.restore.pop(pid, None)
            self.nrestore = len(self.restore)
            if saved is None:
                return
            rax = <int64_t>r.rax
            if saved[0] == -1:
                # the memfd of a synthesized file: write and seal it
                if rax >= 0:
                    try:
                        from sentry.fs import special
                        r.rax = <uint64_t>(<int64_t>special.fill_memfd(pid, rax))
                    except Exception:
                        r.rax = <uint64_t>-5
            elif -516 <= rax <= -512:   # -ERESTARTSYS .. -ERESTART_RESTARTBLOCK
                r.orig_rax = saved[0]
                r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 = saved[1]
        ptrace(PTRACE_SETREGS, pid, NULL, r)

    cdef bint _syscall_entry(self, int pid) noexcept nogil:
        """strace of every call: at a syscall-entry stop, remember the call
        (its exit stop logs it); False when this stop is an exit stop."""
        cdef pyrunsc_syscall_info info
        if ptrace(PYRUNSC_PTRACE_GET_SYSCALL_INFO, pid,
                  <void *>sizeof(info), &info) < 0 or info.op != 1:
            return False
        with gil:
            self.entries[pid] = (<int>info.nr, (info.args[0], info.args[1],
                                 info.args[2], info.args[3], info.args[4],
                                 info.args[5]))
        return True

    cdef void _trace_exit(self, int pid) noexcept nogil:
        if ptrace(PTRACE_GETREGS, pid, NULL, &self.regs) < 0:
            return
        with gil:
            item = self.traced.pop(pid, None)
            entry = self.entries.pop(pid, None)
            if item is None and entry is not None and entry[0] >= 0:
                item = (entry[0], entry[1], None)
            if item is not None:
                try:
                    self.trace(pid, item[0], item[1], item[2], 0,
                               <int64_t>self.regs.rax)
                except Exception:
                    pass

    cdef int _syscall(self, int pid) noexcept nogil:
        """Serve the stopped call; 1 when strace wants its exit stop."""
        cdef Call *c = &self.call
        cdef user_regs_struct *r = &self.regs
        cdef uint64_t addr
        cdef size_t n
        cdef int64_t res
        if ptrace(PTRACE_GETREGS, pid, NULL, r) < 0:
            return 0
        c.nr = <int>r.orig_rax
        c.tid = pid
        c.args[0] = r.rdi
        c.args[1] = r.rsi
        c.args[2] = r.rdx
        c.args[3] = r.r10
        c.args[4] = r.r8
        c.args[5] = r.r9
        c.fs = &self.fs[self.fsidx[pid]]
        c.path[0] = 0
        cdef uint64_t orig_nr = r.orig_rax
        dispatch(c)
        if c.action == ACT_REWRITE and c.slow == SLOW_RESTART:
            with gil:
                self.restore[pid] = (orig_nr, (r.rdi, r.rsi, r.rdx, r.r10,
                                               r.r8, r.r9))
                self.nrestore = len(self.restore)
        elif c.action == ACT_REWRITE and c.slow == SLOW_MEMFD:
            with gil:
                self.restore[pid] = (-1, None)      # fill at the exit
                self.nrestore = len(self.restore)
        if c.action == ACT_CONTINUE:
            res = 0
        elif c.action == ACT_REWRITE:
            # The resolved path goes below the red zone of the stopped
            # thread's stack; the kernel reads it before the thread runs.
            n = strlen(c.rel) + 1
            addr = (r.rsp - 128 - n) & ~(<uint64_t>15)
            if write_mem(c, addr, c.rel, n) < 0:
                r.orig_rax = <uint64_t>-1
                r.rax = <uint64_t>-14
            elif c.slow == SLOW_MEMFD:
                # a synthesized file: memfd_create(name, flags), filled at
                # the exit (sentry/fs/synth.pxi)
                r.orig_rax = 319
                r.rdi = addr
                r.rsi = <uint64_t>c.open_flags
            else:
                r.orig_rax = 257
                r.rdi = <uint64_t>(<int64_t>AT_FDCWD)
                r.rsi = addr
                r.rdx = <uint64_t>c.open_flags
                r.r10 = c.args[3]
            ptrace(PTRACE_SETREGS, pid, NULL, r)
            res = 0
        else:
            if c.action == ACT_FD:      # not produced in rewrite mode
                close(c.fd)
                c.ret = -38
            res = c.ret
            r.orig_rax = <uint64_t>-1
            r.rax = <uint64_t>res
            ptrace(PTRACE_SETREGS, pid, NULL, r)
        if c.action == ACT_REWRITE and (c.slow == SLOW_RESTART or
                                        c.slow == SLOW_MEMFD):
            if self.trace is not None:
                with gil:
                    self.traced[pid] = (c.nr, tuple(c.args[k] for k in range(6)),
                                        <bytes>c.path)
            return 1
        if self.trace is not None:
            with gil:
                args = tuple(c.args[k] for k in range(6))
                if self.trace_all or c.action == ACT_REWRITE or (c.action == ACT_CONTINUE
                                               and c.nr != 59 and c.nr != 322):
                    self.traced[pid] = (c.nr, args, <bytes>c.path)
                    return 1
                try:
                    self.trace(pid, c.nr, args, <bytes>c.path, c.action, res)
                except Exception:
                    pass
        return 0


cdef bint _is_thread(int tid) noexcept nogil:
    """Whether ``tid`` is a thread of another thread group (Tgid != tid)."""
    cdef char path[64]
    cdef char buf[512]
    cdef int fd, tgid = 0
    cdef ssize_t n
    cdef char *p
    snprintf(path, sizeof(path), "/proc/%d/status", tid)
    fd = openat(-1, path, O_RDONLY | O_CLOEXEC)
    if fd < 0:
        return False
    n = read(fd, buf, sizeof(buf) - 1)
    close(fd)
    if n <= 0:
        return False
    buf[n] = 0
    p = strstr(buf, "Tgid:\t")
    if p == NULL:
        return False
    p += 6
    while 48 <= p[0] <= 57:
        tgid = tgid * 10 + (p[0] - 48)
        p += 1
    return tgid != tid
