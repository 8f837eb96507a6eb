# The C-level contract of sentry/_seccomp.pyx: what Cython callers cimport.
#
# install_bpf_nogil() is the child-side install path (after fork, before
# execve): no Python objects, no allocation, async-signal-safe calls only.

cdef extern from "linux/filter.h" nogil:
    struct sock_filter:
        unsigned short code
        unsigned char jt
        unsigned char jf
        unsigned int k

    struct sock_fprog:
        unsigned short len
        sock_filter *filter

cdef extern from "linux/seccomp.h" nogil:
    unsigned int SECCOMP_SET_MODE_FILTER
    unsigned long SECCOMP_FILTER_FLAG_TSYNC
    unsigned long SECCOMP_FILTER_FLAG_LOG
    unsigned long SECCOMP_FILTER_FLAG_SPEC_ALLOW
    unsigned long SECCOMP_FILTER_FLAG_NEW_LISTENER
    unsigned long SECCOMP_FILTER_FLAG_TSYNC_ESRCH

cdef extern from "sys/prctl.h" nogil:
    int PR_SET_NO_NEW_PRIVS
    int prctl(int option, unsigned long arg2, unsigned long arg3,
              unsigned long arg4, unsigned long arg5)

cdef extern from "<sys/syscall.h>" nogil:
    long SYS_seccomp

cdef extern from "<unistd.h>" nogil:
    long syscall(long number, ...)


cdef int install_bpf_nogil(const void *insns, unsigned short count,
                           unsigned int flags, bint set_nnp) noexcept nogil
