# Verbatim declarations for the sentry's platforms: seccomp user
# notification, ptrace, process_vm_*, openat2 and the *at calls the emulation
# layer makes.  Constants missing from this host's (Linux 6.1) uapi headers
# are defined in the verbatim C block, with the values of the kernel uapi.
# No logic here (uvloop style).

from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, int64_t, uint64_t

cdef extern from *:
    """
    #include <linux/seccomp.h>
    #include <linux/openat2.h>
    #ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS  /* Linux 6.6 */
    #define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
    #endif
    #ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
    #define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
    #endif
    #ifndef SECCOMP_ADDFD_FLAG_SEND
    #define SECCOMP_ADDFD_FLAG_SEND (1UL << 1)
    #endif
    #ifndef SYS_fchmodat2
    #define SYS_fchmodat2 452
    #endif
    #ifndef SYS_getxattrat
    #define SYS_setxattrat 463
    #define SYS_getxattrat 464
    #define SYS_listxattrat 465
    #define SYS_removexattrat 466
    #endif
    #ifndef PIDFD_THREAD
    #define PIDFD_THREAD O_EXCL
    #endif
    struct pyrunsc_xattr_args {
        __u64 value;
        __u32 size;
        __u32 flags;
    };
    """
    long SYS_fchmodat2, SYS_setxattrat, SYS_getxattrat, SYS_listxattrat
    long SYS_removexattrat
    int PIDFD_THREAD
    struct pyrunsc_xattr_args:
        uint64_t value
        uint32_t size
        uint32_t flags

cdef extern from "linux/seccomp.h" nogil:
    struct seccomp_data:
        int nr
        uint32_t arch
        uint64_t instruction_pointer
        uint64_t args[6]

    struct seccomp_notif:
        uint64_t id
        uint32_t pid
        uint32_t flags
        seccomp_data data

    struct seccomp_notif_resp:
        uint64_t id
        int64_t val
        int32_t error
        uint32_t flags

    struct seccomp_notif_addfd:
        uint64_t id
        uint32_t flags
        uint32_t srcfd
        uint32_t newfd
        uint32_t newfd_flags

    struct seccomp_notif_sizes:
        uint16_t seccomp_notif
        uint16_t seccomp_notif_resp
        uint16_t seccomp_data

    unsigned long SECCOMP_IOCTL_NOTIF_RECV
    unsigned long SECCOMP_IOCTL_NOTIF_SEND
    unsigned long SECCOMP_IOCTL_NOTIF_ID_VALID
    unsigned long SECCOMP_IOCTL_NOTIF_ADDFD
    unsigned long SECCOMP_IOCTL_NOTIF_SET_FLAGS
    unsigned long SECCOMP_USER_NOTIF_FLAG_CONTINUE
    unsigned long SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
    unsigned long SECCOMP_ADDFD_FLAG_SEND
    unsigned long SECCOMP_ADDFD_FLAG_SETFD
    unsigned int SECCOMP_GET_NOTIF_SIZES
    unsigned int SECCOMP_RET_USER_NOTIF
    unsigned int SECCOMP_RET_TRACE
    unsigned int SECCOMP_RET_ALLOW
    unsigned int SECCOMP_RET_KILL_PROCESS

cdef extern from "linux/openat2.h" nogil:
    struct open_how:
        uint64_t flags
        uint64_t mode
        uint64_t resolve
    uint64_t RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_BENEATH
    uint64_t RESOLVE_NO_XDEV, RESOLVE_NO_SYMLINKS

cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void *iov_base
        size_t iov_len
    ssize_t process_vm_readv(int pid, const iovec *local, unsigned long liovcnt,
                             const iovec *remote, unsigned long riovcnt,
                             unsigned long flags)
    ssize_t process_vm_writev(int pid, const iovec *local, unsigned long liovcnt,
                              const iovec *remote, unsigned long riovcnt,
                              unsigned long flags)

cdef extern from "<sys/ioctl.h>" nogil:
    int ioctl(int fd, unsigned long request, ...)

cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents
    int poll(pollfd *fds, unsigned long nfds, int timeout)
    short POLLIN, POLLHUP, POLLERR

cdef extern from "<sys/user.h>" nogil:
    struct user_regs_struct:
        unsigned long long r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8
        unsigned long long rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs
        unsigned long long eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs

cdef extern from "<sys/ptrace.h>" nogil:
    long ptrace(int request, int pid, void *addr, void *data)
    int PTRACE_SEIZE, PTRACE_CONT, PTRACE_SYSCALL, PTRACE_GETREGS
    int PTRACE_SETREGS, PTRACE_SETOPTIONS, PTRACE_GETEVENTMSG, PTRACE_INTERRUPT
    int PTRACE_LISTEN, PTRACE_DETACH
    int PTRACE_O_TRACESECCOMP, PTRACE_O_TRACEFORK, PTRACE_O_TRACEVFORK
    int PTRACE_O_TRACECLONE, PTRACE_O_TRACEEXEC, PTRACE_O_EXITKILL
    int PTRACE_O_TRACESYSGOOD
    int PTRACE_EVENT_SECCOMP, PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK
    int PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC, PTRACE_EVENT_STOP

cdef extern from "<sys/wait.h>" nogil:
    int waitpid(int pid, int *status, int options)
    int WNOHANG, __WALL
    bint WIFEXITED(int s)
    bint WIFSIGNALED(int s)
    bint WIFSTOPPED(int s)
    int WEXITSTATUS(int s)
    int WTERMSIG(int s)
    int WSTOPSIG(int s)

cdef extern from "<sys/stat.h>" nogil:
    struct stat:
        uint64_t st_dev
        uint64_t st_ino
        unsigned int st_mode
        unsigned int st_uid
        unsigned int st_gid
    int fstat(int fd, stat *st)
    int fstatat(int dirfd, const char *path, stat *st, int flags)
    int mkdirat(int dirfd, const char *path, unsigned int mode)
    int mknodat(int dirfd, const char *path, unsigned int mode, unsigned long dev)
    int fchmodat(int dirfd, const char *path, unsigned int mode, int flags)
    unsigned int umask(unsigned int mask)
    bint S_ISFIFO(unsigned int m)
    bint S_ISCHR(unsigned int m)
    bint S_ISDIR(unsigned int m)
    bint S_ISREG(unsigned int m)
    bint S_ISSOCK(unsigned int m)
    bint S_ISLNK(unsigned int m)

cdef extern from "<fcntl.h>" nogil:
    int openat(int dirfd, const char *path, int flags, ...)
    int fcntl(int fd, int cmd, ...)
    int O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC
    int O_APPEND, O_NONBLOCK, O_DSYNC, O_DIRECT, O_LARGEFILE, O_DIRECTORY
    int O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_SYNC, O_PATH, O_TMPFILE, O_ASYNC
    int O_ACCMODE
    int AT_FDCWD, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_NO_AUTOMOUNT
    int AT_REMOVEDIR, AT_EACCESS, AT_SYMLINK_FOLLOW, AT_STATX_SYNC_TYPE
    int F_GETFL, F_SETFL, F_GETFD
    int renameat2(int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath, unsigned int flags)

cdef extern from "<unistd.h>" nogil:
    long syscall(long number, ...)
    int close(int fd)
    ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
    ssize_t readlink(const char *path, char *buf, size_t size)
    ssize_t read(int fd, void *buf, size_t n)
    ssize_t write(int fd, const void *buf, size_t n)
    ssize_t pread(int fd, void *buf, size_t n, long off)
    int unlinkat(int dirfd, const char *path, int flags)
    int symlinkat(const char *target, int dirfd, const char *path)
    int linkat(int olddirfd, const char *oldpath, int newdirfd,
               const char *newpath, int flags)
    int fchownat(int dirfd, const char *path, unsigned int uid,
                 unsigned int gid, int flags)
    int ftruncate(int fd, long length)
    int faccessat(int dirfd, const char *path, int mode, int flags)
    int gettid()
    int getpid()

cdef extern from "<sys/syscall.h>" nogil:
    long SYS_openat2, SYS_faccessat2, SYS_pidfd_open, SYS_pidfd_getfd
    long SYS_statx, SYS_tgkill, SYS_gettid

cdef extern from "<signal.h>" nogil:
    ctypedef struct sigset_t:
        pass
    int SIGSTOP, SIGTRAP, SIGKILL, SIGCHLD

cdef extern from "<sys/eventfd.h>" nogil:
    int eventfd(unsigned int initval, int flags)
    int EFD_CLOEXEC, EFD_NONBLOCK

cdef extern from "<sched.h>" nogil:
    int unshare(int flags)
    int CLONE_FS
