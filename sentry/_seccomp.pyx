# distutils: libraries = seccomp
# cython: language_level=3
"""A small libseccomp binding: build filters, export BPF, install BPF.

Owns two paths with very different rules:

* the COLD path, ``Filter``: build a filter with libseccomp in the parent
  (sentry or runtime), export it as classic BPF bytes.  Python objects and
  exceptions are fine here; it runs once per platform or per spec profile.
* the CHILD path, ``install_bpf`` / ``install_bpf_nogil``: after fork and
  right before execve, install pre-built BPF with the raw ``seccomp(2)``
  call.  No libseccomp, no allocation, no Python objects.

Installing a filter needs either ``no_new_privs`` or CAP_SYS_ADMIN in the
caller's user namespace: "the caller must have the CAP_SYS_ADMIN capability
in its user namespace, or the thread must already have the no_new_privs bit
set" - seccomp(2).  ``install_bpf`` sets no_new_privs only when asked, since
a container running as root with CAP_SYS_ADMIN may need it left off.
"""

import os

from libc.errno cimport errno, EINVAL
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free

from sentry.includes cimport seccomp as scmp

# Actions (uint32 SECCOMP_RET_* values as libseccomp spells them).
ALLOW = scmp.SCMP_ACT_ALLOW
KILL_PROCESS = scmp.SCMP_ACT_KILL_PROCESS
KILL_THREAD = scmp.SCMP_ACT_KILL_THREAD
KILL = scmp.SCMP_ACT_KILL
TRAP = scmp.SCMP_ACT_TRAP
LOG = scmp.SCMP_ACT_LOG
NOTIFY = scmp.SCMP_ACT_NOTIFY

# Comparison operators for add_rule() conditions.
CMP_NE = scmp.SCMP_CMP_NE
CMP_LT = scmp.SCMP_CMP_LT
CMP_LE = scmp.SCMP_CMP_LE
CMP_EQ = scmp.SCMP_CMP_EQ
CMP_GE = scmp.SCMP_CMP_GE
CMP_GT = scmp.SCMP_CMP_GT
CMP_MASKED_EQ = scmp.SCMP_CMP_MASKED_EQ

_OPS = {
    "NE": CMP_NE, "LT": CMP_LT, "LE": CMP_LE, "EQ": CMP_EQ,
    "GE": CMP_GE, "GT": CMP_GT, "MASKED_EQ": CMP_MASKED_EQ,
}

# Filter attributes for set_attr()/get_attr(), by short name.
_ATTRS = {
    "default": scmp.SCMP_FLTATR_ACT_DEFAULT,
    "badarch": scmp.SCMP_FLTATR_ACT_BADARCH,
    "nnp": scmp.SCMP_FLTATR_CTL_NNP,
    "tsync": scmp.SCMP_FLTATR_CTL_TSYNC,
    "tskip": scmp.SCMP_FLTATR_API_TSKIP,
    "log": scmp.SCMP_FLTATR_CTL_LOG,
    "ssb": scmp.SCMP_FLTATR_CTL_SSB,
    "optimize": scmp.SCMP_FLTATR_CTL_OPTIMIZE,
    "sysrawrc": scmp.SCMP_FLTATR_API_SYSRAWRC,
}

# Flags of seccomp(SECCOMP_SET_MODE_FILTER, flags, prog).
FLAG_TSYNC = SECCOMP_FILTER_FLAG_TSYNC
FLAG_LOG = SECCOMP_FILTER_FLAG_LOG
FLAG_SPEC_ALLOW = SECCOMP_FILTER_FLAG_SPEC_ALLOW
FLAG_NEW_LISTENER = SECCOMP_FILTER_FLAG_NEW_LISTENER
FLAG_TSYNC_ESRCH = SECCOMP_FILTER_FLAG_TSYNC_ESRCH

# Architecture tokens (AUDIT_ARCH_* values).
ARCH_NATIVE = scmp.seccomp_arch_native()
ARCH_X86_64 = scmp.SCMP_ARCH_X86_64
ARCH_X86 = scmp.SCMP_ARCH_X86
ARCH_X32 = scmp.SCMP_ARCH_X32

BPF_MAXINSNS = 4096


def ERRNO(int n):
    """SCMP_ACT_ERRNO(n): fail the call with errno ``n``."""
    return scmp.SCMP_ACT_ERRNO(n)


def TRACE(int n):
    """SCMP_ACT_TRACE(n): stop a ptrace tracer with event message ``n``."""
    return scmp.SCMP_ACT_TRACE(n)


def version():
    """The libseccomp version as a (major, minor, micro) tuple."""
    cdef const scmp.scmp_version *v = scmp.seccomp_version()
    return (v.major, v.minor, v.micro)


def api_level():
    """libseccomp's API level (5 or more: SCMP_ACT_NOTIFY works)."""
    return scmp.seccomp_api_get()


cdef _check(int rc, what):
    if rc < 0:
        raise OSError(-rc, f"{what}: {os.strerror(-rc)}")
    return rc


cpdef uint32_t arch_token(arch) except? 0:
    """Resolve an architecture name to its libseccomp token.

    Accepts ``None``/``"native"``, libseccomp names (``"x86_64"``), OCI
    names (``"SCMP_ARCH_X86_64"``) and integer tokens.
    """
    cdef uint32_t tok
    if arch is None:
        return scmp.seccomp_arch_native()
    if isinstance(arch, int):
        return arch if arch else scmp.seccomp_arch_native()
    name = str(arch)
    if name.startswith("SCMP_ARCH_"):
        name = name[len("SCMP_ARCH_"):].lower()
    if name == "native":
        return scmp.seccomp_arch_native()
    tok = scmp.seccomp_arch_resolve_name(name.encode())
    if tok == 0:
        raise ValueError(f"unknown architecture {arch!r}")
    return tok


def resolve_name(name, arch=None):
    """The syscall number of ``name`` on ``arch`` (default: native).

    Raises KeyError when libseccomp does not know the name, or the syscall
    does not exist on that architecture (libseccomp's negative pseudo
    numbers).
    """
    cdef int nr = scmp.seccomp_syscall_resolve_name_arch(
        arch_token(arch), str(name).encode())
    if nr < 0:
        raise KeyError(name)
    return nr


def resolve_num(int nr, arch=None):
    """The syscall name of number ``nr`` on ``arch``; KeyError if unknown."""
    cdef char *s = scmp.seccomp_syscall_resolve_num_arch(arch_token(arch), nr)
    if s == NULL:
        raise KeyError(nr)
    try:
        return s.decode()
    finally:
        free(s)


def _op(op):
    if isinstance(op, str):
        key = op.upper()
        if key.startswith("SCMP_CMP_"):
            key = key[len("SCMP_CMP_"):]
        try:
            return _OPS[key]
        except KeyError:
            raise ValueError(f"unknown comparison operator {op!r}") from None
    if op not in _OPS.values():
        raise ValueError(f"unknown comparison operator {op!r}")
    return op


cdef class Filter:
    """A libseccomp filter context (the cold path).

    ``default_action`` is the action for any syscall no rule matches.  The
    filter starts with the native architecture only; libseccomp sends any
    other architecture to the BADARCH action (KILL_THREAD by default).

    N.B. libseccomp's NNP attribute only affects ``seccomp_load``, which we
    never call: BPF leaves through export_bpf() and is installed with
    install_bpf(), whose ``nnp`` argument decides no_new_privs.
    """
    cdef scmp.scmp_filter_ctx ctx
    cdef readonly uint32_t default_action

    def __cinit__(self, uint32_t default_action):
        self.ctx = scmp.seccomp_init(default_action)
        if self.ctx == NULL:
            raise ValueError(f"invalid default action {default_action:#x}")
        self.default_action = default_action

    def __dealloc__(self):
        if self.ctx != NULL:
            scmp.seccomp_release(self.ctx)
            self.ctx = NULL

    def add_arch(self, arch):
        """Add an architecture; adding one already present is a no-op."""
        cdef uint32_t tok = arch_token(arch)
        if scmp.seccomp_arch_exist(self.ctx, tok) == 0:
            return
        _check(scmp.seccomp_arch_add(self.ctx, tok), f"adding arch {arch}")

    def remove_arch(self, arch):
        """Remove an architecture; its syscalls then take BADARCH."""
        _check(scmp.seccomp_arch_remove(self.ctx, arch_token(arch)),
               f"removing arch {arch}")

    def has_arch(self, arch):
        return scmp.seccomp_arch_exist(self.ctx, arch_token(arch)) == 0

    def set_attr(self, attr, uint32_t value):
        """Set a filter attribute by short name (``"nnp"``, ``"tsync"``,
        ``"badarch"``, ``"log"``, ``"ssb"``, ``"optimize"``, ...)."""
        _check(scmp.seccomp_attr_set(self.ctx, self._attr(attr), value),
               f"setting filter attribute {attr}")

    def get_attr(self, attr):
        cdef uint32_t value = 0
        _check(scmp.seccomp_attr_get(self.ctx, self._attr(attr), &value),
               f"getting filter attribute {attr}")
        return value

    @staticmethod
    def _attr(attr):
        if isinstance(attr, str):
            try:
                return _ATTRS[attr.lower()]
            except KeyError:
                raise ValueError(
                    f"unknown filter attribute {attr!r}") from None
        return attr

    def add_rule(self, uint32_t action, syscall, *conds, exact=False):
        """Add ``action`` for ``syscall`` when every condition holds.

        ``syscall`` is a native number or a name.  Each condition is a tuple
        ``(arg_index, op, value[, value2])`` with ``op`` one of CMP_* or its
        name (``"EQ"``, ``"SCMP_CMP_MASKED_EQ"``); for MASKED_EQ ``value``
        is the mask and ``value2`` the expected masked value.

        A native number libseccomp does not know (a syscall newer than the
        library) is accepted on the native arch only.
        """
        cdef scmp.scmp_arg_cmp cmps[6]
        cdef unsigned int n = 0
        cdef int nr
        if len(conds) > 6:
            raise ValueError("at most 6 argument conditions")
        if isinstance(syscall, str):
            nr = scmp.seccomp_syscall_resolve_name(syscall.encode())
            if nr == scmp.__NR_SCMP_ERROR:
                raise KeyError(syscall)
        else:
            nr = syscall
        for cond in conds:
            if len(cond) not in (3, 4):
                raise ValueError(f"bad condition {cond!r}")
            if not 0 <= cond[0] <= 5:
                raise ValueError(f"bad argument index {cond[0]!r}")
            cmps[n].arg = cond[0]
            cmps[n].op = _op(cond[1])
            cmps[n].datum_a = cond[2] & 0xFFFFFFFFFFFFFFFF
            cmps[n].datum_b = (cond[3] if len(cond) == 4 else 0) \
                & 0xFFFFFFFFFFFFFFFF
            n += 1
        if exact:
            rc = scmp.seccomp_rule_add_exact_array(self.ctx, action, nr, n,
                                                   cmps)
        else:
            rc = scmp.seccomp_rule_add_array(self.ctx, action, nr, n, cmps)
        _check(rc, f"adding rule for syscall {syscall}")

    def _export(self, int which):
        fd = os.memfd_create("seccomp-export", os.MFD_CLOEXEC)
        try:
            if which == 0:
                rc = scmp.seccomp_export_bpf(self.ctx, fd)
            else:
                rc = scmp.seccomp_export_pfc(self.ctx, fd)
            _check(rc, "exporting filter")
            size = os.lseek(fd, 0, os.SEEK_END)
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)

    def export_bpf(self):
        """The filter as classic BPF: 8-byte ``struct sock_filter``s."""
        bpf = self._export(0)
        if len(bpf) // 8 > BPF_MAXINSNS:
            raise ValueError(f"filter too long: {len(bpf) // 8} instructions")
        return bpf

    def export_pfc(self):
        """The filter in libseccomp's human-readable PFC form (debugging)."""
        return self._export(1).decode()


cdef int install_bpf_nogil(const void *insns, unsigned short count,
                           unsigned int flags, bint set_nnp) noexcept nogil:
    """Install ``count`` BPF instructions as a seccomp filter.

    Returns the listener fd when ``flags`` has NEW_LISTENER, else 0, or
    ``-errno``.  Async-signal-safe: meant for a forked child before execve.
    """
    cdef sock_fprog prog
    cdef long rc
    if count == 0:
        return -EINVAL
    if set_nnp and prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return -errno
    prog.len = count
    prog.filter = <sock_filter *>insns
    rc = syscall(SYS_seccomp, <unsigned long>SECCOMP_SET_MODE_FILTER,
                 <unsigned long>flags, &prog)
    if rc < 0:
        return -errno
    return <int>rc


def install_bpf(const unsigned char[::1] bpf, unsigned int flags=0,
                bint nnp=False):
    """Install BPF bytes on the calling thread (and with TSYNC, process).

    Returns the listener fd when ``flags`` has FLAG_NEW_LISTENER, else 0;
    raises OSError with the errno otherwise.  Sets no_new_privs first only
    when ``nnp`` is true; without it the caller needs CAP_SYS_ADMIN.
    """
    cdef Py_ssize_t size = bpf.shape[0]
    cdef int rc
    if size == 0 or size % 8 or size // 8 > BPF_MAXINSNS:
        raise ValueError(f"bad BPF program of {size} bytes")
    with nogil:
        rc = install_bpf_nogil(&bpf[0], <unsigned short>(size // 8), flags,
                               nnp)
    if rc < 0:
        raise OSError(-rc, os.strerror(-rc))
    return rc
