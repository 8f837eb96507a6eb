"""Linux capability names and the five capability sets of a process.

Owns the mapping between the OCI spec's capability names (``CAP_SYS_ADMIN``)
and their numbers - <linux/capability.h> - and applying
``process.capabilities`` in the child (bounding, effective, permitted,
inheritable, ambient).
"""
from runtime import errors
from sentry import _sys

# "The capabilities are listed in <linux/capability.h>" - capabilities(7)
CAP_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
CAP_NUMBERS = {name: i for i, name in enumerate(CAP_NAMES)}
SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def last_cap():
    """The highest capability number the running kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(CAP_NAMES) - 1


def cap_number(name, field_path="process.capabilities"):
    """``CAP_SYS_ADMIN`` (or ``sys_admin``) → 21; else InvalidSpecError."""
    key = name.upper()
    if not key.startswith("CAP_"):
        key = "CAP_" + key
    try:
        return CAP_NUMBERS[key]
    except KeyError:
        raise errors.InvalidSpecError(
            field_path, f"unknown capability {name!r}") from None


def plan(caps, kernel_last=None):
    """Turn ``process.capabilities`` into five 64-bit masks.

    Returns ``{"bounding": mask, ..., "ambient": mask}``.  A missing set is
    empty (runc does the same).  Capabilities the running kernel does not
    know are ignored, as runc does, so that one spec runs on older kernels.
    """
    caps = caps or {}
    top = last_cap() if kernel_last is None else kernel_last
    out = {}
    for s in SETS:
        mask = 0
        names = caps.get(s) or []
        if not isinstance(names, list):
            raise errors.InvalidSpecError(f"process.capabilities.{s}",
                                          "must be a list of names")
        for i, name in enumerate(names):
            n = cap_number(name, f"process.capabilities.{s}[{i}]")
            if n <= top:
                mask |= 1 << n
        out[s] = mask
    return out


def names(mask):
    """The names of the capabilities in ``mask``, in number order."""
    return [CAP_NAMES[i] if i < len(CAP_NAMES) else f"CAP_{i}"
            for i in range(64) if mask >> i & 1]


def drop_bounding(masks, top=None):
    """Drop every capability not in ``masks["bounding"]`` from the bounding
    set.  Needs CAP_SETPCAP, so it runs before the user switch."""
    top = last_cap() if top is None else top
    for n in range(top + 1):
        if not masks["bounding"] >> n & 1 and _sys.cap_bset_read(n):
            _sys.cap_bset_drop(n)


def apply_sets(masks):
    """Set effective/permitted/inheritable, then raise the ambient ones.

    "PR_CAP_AMBIENT_RAISE: The capability is added to the set of ambient
    capabilities.  The capability must already be present in both the
    permitted and the inheritable sets" - prctl(2).  N.B. an ambient
    capability missing from either set is skipped, as runc only warns when
    raising fails (the default ``runc spec`` asks for ambient capabilities
    without inheritable ones).
    """
    _sys.capset(masks["effective"], masks["permitted"], masks["inheritable"])
    _sys.cap_ambient_clear_all()
    for n in range(64):
        if raisable_ambient(masks) >> n & 1:
            _sys.cap_ambient_raise(n)


def raisable_ambient(masks):
    """The ambient capabilities the kernel will accept."""
    return masks["ambient"] & masks["permitted"] & masks["inheritable"]
