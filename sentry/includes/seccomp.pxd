# Declarations of libseccomp's <seccomp.h> (libseccomp 2.5), verbatim names.
# No logic here: the body lives in sentry/_seccomp.pyx.

from libc.stdint cimport uint32_t, uint64_t


cdef extern from "seccomp.h" nogil:
    struct scmp_version:
        unsigned int major
        unsigned int minor
        unsigned int micro

    ctypedef void *scmp_filter_ctx

    enum scmp_filter_attr:
        SCMP_FLTATR_ACT_DEFAULT
        SCMP_FLTATR_ACT_BADARCH
        SCMP_FLTATR_CTL_NNP
        SCMP_FLTATR_CTL_TSYNC
        SCMP_FLTATR_API_TSKIP
        SCMP_FLTATR_CTL_LOG
        SCMP_FLTATR_CTL_SSB
        SCMP_FLTATR_CTL_OPTIMIZE
        SCMP_FLTATR_API_SYSRAWRC

    enum scmp_compare:
        SCMP_CMP_NE
        SCMP_CMP_LT
        SCMP_CMP_LE
        SCMP_CMP_EQ
        SCMP_CMP_GE
        SCMP_CMP_GT
        SCMP_CMP_MASKED_EQ

    ctypedef uint64_t scmp_datum_t

    struct scmp_arg_cmp:
        unsigned int arg
        scmp_compare op
        scmp_datum_t datum_a
        scmp_datum_t datum_b

    uint32_t SCMP_ARCH_NATIVE
    uint32_t SCMP_ARCH_X86
    uint32_t SCMP_ARCH_X86_64
    uint32_t SCMP_ARCH_X32

    uint32_t SCMP_ACT_KILL_PROCESS
    uint32_t SCMP_ACT_KILL_THREAD
    uint32_t SCMP_ACT_KILL
    uint32_t SCMP_ACT_TRAP
    uint32_t SCMP_ACT_NOTIFY
    uint32_t SCMP_ACT_ERRNO(uint32_t x)
    uint32_t SCMP_ACT_TRACE(uint32_t x)
    uint32_t SCMP_ACT_LOG
    uint32_t SCMP_ACT_ALLOW

    int __NR_SCMP_ERROR
    int __NR_SCMP_UNDEF

    const scmp_version *seccomp_version()
    unsigned int seccomp_api_get()
    int seccomp_api_set(unsigned int level)

    scmp_filter_ctx seccomp_init(uint32_t def_action)
    int seccomp_reset(scmp_filter_ctx ctx, uint32_t def_action)
    void seccomp_release(scmp_filter_ctx ctx)
    int seccomp_merge(scmp_filter_ctx ctx_dst, scmp_filter_ctx ctx_src)

    uint32_t seccomp_arch_resolve_name(const char *arch_name)
    uint32_t seccomp_arch_native()
    int seccomp_arch_exist(const scmp_filter_ctx ctx, uint32_t arch_token)
    int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token)
    int seccomp_arch_remove(scmp_filter_ctx ctx, uint32_t arch_token)

    int seccomp_load(const scmp_filter_ctx ctx)
    int seccomp_attr_get(const scmp_filter_ctx ctx, scmp_filter_attr attr,
                         uint32_t *value)
    int seccomp_attr_set(scmp_filter_ctx ctx, scmp_filter_attr attr,
                         uint32_t value)

    char *seccomp_syscall_resolve_num_arch(uint32_t arch_token, int num)
    int seccomp_syscall_resolve_name_arch(uint32_t arch_token,
                                          const char *name)
    int seccomp_syscall_resolve_name_rewrite(uint32_t arch_token,
                                             const char *name)
    int seccomp_syscall_resolve_name(const char *name)
    int seccomp_syscall_priority(scmp_filter_ctx ctx, int syscall,
                                 unsigned char priority)

    int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action,
                               int syscall, unsigned int arg_cnt,
                               const scmp_arg_cmp *arg_array)
    int seccomp_rule_add_exact_array(scmp_filter_ctx ctx, uint32_t action,
                                     int syscall, unsigned int arg_cnt,
                                     const scmp_arg_cmp *arg_array)

    int seccomp_notify_fd(const scmp_filter_ctx ctx)
    int seccomp_export_pfc(const scmp_filter_ctx ctx, int fd)
    int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd)
