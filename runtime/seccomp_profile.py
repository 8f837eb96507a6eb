"""The spec's own seccomp profile (``linux.seccomp``) as BPF bytes.

Owns the translation of config-linux.md "Seccomp" into a libseccomp filter,
with runc's behaviour where the spec leaves room:

* unknown syscall names are skipped with a debug log (a profile written for
  a newer kernel or libseccomp still loads);
* a rule whose action equals the default action is skipped (libseccomp
  refuses it, and it changes nothing);
* several conditions on the SAME argument become one rule per condition
  (OR), conditions on different arguments one rule (AND) -- what runc does,
  and what Docker's profile relies on;
* SCMP_ACT_NOTIFY and ``listenerPath`` are unsupported: the sentry owns the
  only user-notification listener of a sandbox.

The filter is installed in the container's init after the privilege drop
(``sentry._seccomp.install_bpf(bpf, flags)``), before the sentry's own
filter, so both apply and the stricter action wins.
"""

import errno
import logging

from runtime.errors import InvalidSpecError, UnsupportedError
from sentry import _seccomp
from sentry import syscalls

log = logging.getLogger(__name__)

_FIELD = "linux.seccomp"
_U64 = 1 << 64

# "SECCOMP_FILTER_FLAG_*" of the spec -> seccomp(2) flags.
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": 1 << 0,
    "SECCOMP_FILTER_FLAG_LOG": 1 << 1,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 1 << 2,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 1 << 5,
}

_OPS = {
    "SCMP_CMP_NE": _seccomp.CMP_NE,
    "SCMP_CMP_LT": _seccomp.CMP_LT,
    "SCMP_CMP_LE": _seccomp.CMP_LE,
    "SCMP_CMP_EQ": _seccomp.CMP_EQ,
    "SCMP_CMP_GE": _seccomp.CMP_GE,
    "SCMP_CMP_GT": _seccomp.CMP_GT,
    "SCMP_CMP_MASKED_EQ": _seccomp.CMP_MASKED_EQ,
}

_ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",
            "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY")


def _is_uint(value, limit=_U64):
    return (isinstance(value, int) and not isinstance(value, bool)
            and 0 <= value < limit)


def _action(name, errno_ret, field, errno_field):
    """The libseccomp action for spec action ``name``."""
    if not isinstance(name, str) or name not in _ACTIONS:
        raise InvalidSpecError(field, f"unknown action {name!r}")
    if name == "SCMP_ACT_NOTIFY":
        raise UnsupportedError(
            field, "SCMP_ACT_NOTIFY is not supported: the sentry owns the "
            "sandbox's only seccomp listener")
    if errno_ret is not None:
        if not _is_uint(errno_ret, 1 << 16):
            raise InvalidSpecError(errno_field,
                                   f"invalid errno {errno_ret!r}")
        if name not in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
            raise InvalidSpecError(
                errno_field, f"is only valid with SCMP_ACT_ERRNO and "
                f"SCMP_ACT_TRACE, not {name}")
    ret = errno.EPERM if errno_ret is None else errno_ret
    if name == "SCMP_ACT_ERRNO":
        return _seccomp.ERRNO(ret)
    if name == "SCMP_ACT_TRACE":
        return _seccomp.TRACE(ret)
    return {
        "SCMP_ACT_KILL": _seccomp.KILL_THREAD,
        "SCMP_ACT_KILL_THREAD": _seccomp.KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS": _seccomp.KILL_PROCESS,
        "SCMP_ACT_TRAP": _seccomp.TRAP,
        "SCMP_ACT_ALLOW": _seccomp.ALLOW,
        "SCMP_ACT_LOG": _seccomp.LOG,
    }[name]


def _conds(args, field):
    if args is None:
        return []
    if not isinstance(args, list):
        raise InvalidSpecError(field, "must be an array")
    conds = []
    for i, arg in enumerate(args):
        f = f"{field}[{i}]"
        if not isinstance(arg, dict):
            raise InvalidSpecError(f, "must be an object")
        index, op = arg.get("index"), arg.get("op")
        value, value2 = arg.get("value"), arg.get("valueTwo", 0)
        if not _is_uint(index, 6):
            raise InvalidSpecError(f"{f}.index",
                                   f"invalid argument index {index!r}")
        if not isinstance(op, str) or op not in _OPS:
            raise InvalidSpecError(f"{f}.op", f"unknown operator {op!r}")
        if not _is_uint(value):
            raise InvalidSpecError(f"{f}.value", f"invalid value {value!r}")
        if not _is_uint(value2):
            raise InvalidSpecError(f"{f}.valueTwo",
                                   f"invalid value {value2!r}")
        conds.append((index, _OPS[op], value, value2))
    return conds


def _flags(flags):
    field = f"{_FIELD}.flags"
    if flags is None:
        return 0
    if not isinstance(flags, list):
        raise InvalidSpecError(field, "must be an array")
    out = 0
    for i, name in enumerate(flags):
        if not isinstance(name, str) or name not in FLAGS:
            raise InvalidSpecError(f"{field}[{i}]", f"unknown flag {name!r}")
        out |= FLAGS[name]
    return out


def _add_arches(filt, arches):
    field = f"{_FIELD}.architectures"
    if arches is None:
        return
    if not isinstance(arches, list):
        raise InvalidSpecError(field, "must be an array")
    for i, arch in enumerate(arches):
        if not isinstance(arch, str) or not arch.startswith("SCMP_ARCH_"):
            raise InvalidSpecError(f"{field}[{i}]",
                                   f"unknown architecture {arch!r}")
        try:
            filt.add_arch(arch)
        except (ValueError, OSError):
            raise InvalidSpecError(f"{field}[{i}]",
                                   f"unknown architecture {arch!r}") from None


def _add_rule(filt, action, name, conds, field):
    """Add one spec rule for ``name`` (by name when libseccomp knows it, so
    it also reaches the profile's other architectures; by our table's
    number for a syscall newer than libseccomp)."""
    syscall = name
    try:
        _seccomp.resolve_name(name)
    except KeyError:
        entry = syscalls.BY_NAME.get(name)
        if entry is not None:
            syscall = entry.nr
    indices = [c[0] for c in conds]
    groups = [conds] if len(set(indices)) == len(indices) \
        else [[c] for c in conds]
    for group in groups:
        try:
            filt.add_rule(action, syscall, *group)
        except KeyError:
            log.debug("seccomp: skipping unknown syscall %s (%s)", name, field)
            return
        except OSError as e:
            if e.errno == errno.EFAULT:
                # A number newer than libseccomp: it cannot translate it for
                # the profile's other architectures.
                log.debug("seccomp: skipping syscall %s unknown to "
                          "libseccomp on some architecture (%s)", name, field)
                return
            raise InvalidSpecError(field, f"adding rule for {name}: "
                                   f"{e.strerror}") from None


def build_profile(linux_seccomp):
    """``linux.seccomp`` of a spec as ``(bpf, flags)`` for install_bpf.

    Returns ``(None, 0)`` when the spec has no seccomp profile.  Raises
    InvalidSpecError naming the field for a malformed profile, and
    UnsupportedError for SCMP_ACT_NOTIFY and ``listenerPath``.
    """
    if linux_seccomp is None:
        return None, 0
    if not isinstance(linux_seccomp, dict):
        raise InvalidSpecError(_FIELD, "must be an object")
    if linux_seccomp.get("listenerPath"):
        raise UnsupportedError(f"{_FIELD}.listenerPath")
    default_ret = linux_seccomp.get("defaultErrnoRet")
    if "defaultAction" not in linux_seccomp:
        raise InvalidSpecError(f"{_FIELD}.defaultAction", "is required")
    default = _action(linux_seccomp["defaultAction"], default_ret,
                      f"{_FIELD}.defaultAction", f"{_FIELD}.defaultErrnoRet")
    flags = _flags(linux_seccomp.get("flags"))
    filt = _seccomp.Filter(default)
    _add_arches(filt, linux_seccomp.get("architectures"))

    rules = linux_seccomp.get("syscalls")
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        raise InvalidSpecError(f"{_FIELD}.syscalls", "must be an array")
    for i, rule in enumerate(rules):
        field = f"{_FIELD}.syscalls[{i}]"
        if not isinstance(rule, dict):
            raise InvalidSpecError(field, "must be an object")
        names = rule.get("names")
        if not isinstance(names, list) or not names or \
                not all(isinstance(n, str) and n for n in names):
            raise InvalidSpecError(f"{field}.names",
                                   "must be a non-empty array of names")
        action = _action(rule.get("action"), rule.get("errnoRet"),
                         f"{field}.action", f"{field}.errnoRet")
        conds = _conds(rule.get("args"), f"{field}.args")
        if action == default:
            log.debug("seccomp: skipping %s rule equal to the default "
                      "action", field)
            continue
        for name in names:
            _add_rule(filt, action, name, conds, field)
    return filt.export_bpf(), flags
