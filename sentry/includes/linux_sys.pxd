# Verbatim declarations of the host headers that sentry/_sys.pyx uses.
# No logic here (uvloop style): the .pyx is the body.

cdef extern from "<errno.h>" nogil:
    int errno

cdef extern from "<unistd.h>" nogil:
    long syscall(long number, ...)
    int execve(const char *path, char *const argv[], char *const envp[])
    ssize_t write(int fd, const void *buf, size_t count)
    int sethostname(const char *name, size_t len)
    int setdomainname(const char *name, size_t len)

cdef extern from "<sys/syscall.h>" nogil:
    long SYS_setgroups
    long SYS_setresuid
    long SYS_setresgid
    long SYS_capget
    long SYS_capset
    long SYS_openat2
    long SYS_pivot_root
    long SYS_mount_setattr

cdef extern from "<sys/mount.h>" nogil:
    int mount(const char *source, const char *target, const char *fstype,
              unsigned long flags, const void *data)
    int umount2(const char *target, int flags)
    unsigned long MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS
    unsigned long MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC, MS_NOATIME
    unsigned long MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC, MS_SILENT
    unsigned long MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED
    unsigned long MS_RELATIME, MS_STRICTATIME, MS_LAZYTIME
    int MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW

cdef extern from "<sched.h>" nogil:
    int unshare(int flags)
    int setns(int fd, int nstype)
    int CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC
    int CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME

cdef extern from "<sys/personality.h>" nogil:
    int personality(unsigned long persona)

cdef extern from "<sys/prctl.h>" nogil:
    int prctl(int option, unsigned long arg2, unsigned long arg3,
              unsigned long arg4, unsigned long arg5)
    int PR_SET_NO_NEW_PRIVS
    int PR_GET_NO_NEW_PRIVS
    int PR_SET_KEEPCAPS
    int PR_SET_CHILD_SUBREAPER
    int PR_GET_CHILD_SUBREAPER
    int PR_SET_PDEATHSIG
    int PR_SET_DUMPABLE
    int PR_CAPBSET_READ
    int PR_CAPBSET_DROP
    int PR_CAP_AMBIENT
    int PR_CAP_AMBIENT_RAISE
    int PR_CAP_AMBIENT_LOWER
    int PR_CAP_AMBIENT_IS_SET
    int PR_CAP_AMBIENT_CLEAR_ALL

cdef extern from "<linux/capability.h>" nogil:
    ctypedef struct cap_header "struct __user_cap_header_struct":
        unsigned int version
        int pid
    ctypedef struct cap_data "struct __user_cap_data_struct":
        unsigned int effective
        unsigned int permitted
        unsigned int inheritable
    unsigned int _LINUX_CAPABILITY_VERSION_3

cdef extern from *:
    """
    #include <stdint.h>
    struct pyrunsc_mount_attr {
        uint64_t attr_set, attr_clr, propagation, userns_fd;
    };
    #define PYRUNSC_SYS_mount_setattr 442
    #define PYRUNSC_SYS_rt_sigaction 13
    struct pyrunsc_ksigaction {
        unsigned long handler, flags, restorer, mask;
    };
    """
    struct pyrunsc_mount_attr:
        unsigned long long attr_set
        unsigned long long attr_clr
        unsigned long long propagation
        unsigned long long userns_fd
    long PYRUNSC_SYS_mount_setattr
    long PYRUNSC_SYS_rt_sigaction
    struct pyrunsc_ksigaction:
        unsigned long handler
        unsigned long flags
        unsigned long restorer
        unsigned long mask


cdef extern from "<linux/openat2.h>" nogil:
    struct open_how:
        unsigned long long flags
        unsigned long long mode
        unsigned long long resolve
    unsigned long long RESOLVE_NO_XDEV
    unsigned long long RESOLVE_NO_MAGICLINKS
    unsigned long long RESOLVE_NO_SYMLINKS
    unsigned long long RESOLVE_BENEATH
    unsigned long long RESOLVE_IN_ROOT
