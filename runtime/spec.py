"""Loading and validating the OCI spec (config.json) of a bundle.

The spec stays a plain dict (as parsed from JSON); this module checks the
shape of every field pyrunsc reads and reports the first problem with its
field path (``process.args[0]: must be a string``).  Fields pyrunsc cannot
honour fail with "... is not supported" rather than being ignored.
"""
import json
import logging
import os

from runtime.errors import InvalidSpecError, UnsupportedError

log = logging.getLogger(__name__)

CONFIG = "config.json"
NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup",
                   "time")
HOOK_NAMES = ("prestart", "createRuntime", "createContainer", "startContainer",
              "poststart", "poststop")
# Fields that would change security or semantics if silently ignored.
UNSUPPORTED = (
    ("process", "selinuxLabel"),
    ("linux", "mountLabel"),
    ("linux", "intelRdt"),
    ("linux", "personality"),
    ("linux", "timeOffsets"),
    ("process", "ioPriority"),
    ("process", "scheduler"),
    ("process", "execCPUAffinity"),
    ("linux", "memoryPolicy"),
    ("linux", "netDevices"),
)


def load(bundle):
    """Read ``<bundle>/config.json``; return the validated spec dict."""
    if not os.path.isdir(bundle):
        raise InvalidSpecError("", f"bundle {bundle}: not a directory")
    path = os.path.join(bundle, CONFIG)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise InvalidSpecError("", f"loading spec {path}: no such file") from None
    except OSError as e:
        raise InvalidSpecError("", f"loading spec {path}: {e.strerror}") from None
    try:
        spec = json.loads(raw)
    except ValueError as e:
        raise InvalidSpecError("", f"loading spec {path}: malformed JSON: {e}") \
            from None
    validate(spec, bundle)
    return spec


def _fail(path, msg):
    raise InvalidSpecError(path, msg)


def _type(obj, path, typ, name):
    if not isinstance(obj, typ) or (typ is int and isinstance(obj, bool)):
        _fail(path, f"must be {name}")
    return obj


def _opt(d, key, path, typ, name):
    if key not in d or d[key] is None:
        return None
    return _type(d[key], f"{path}.{key}" if path else key, typ, name)


def _str_list(obj, path):
    _type(obj, path, list, "an array of strings")
    for i, v in enumerate(obj):
        _type(v, f"{path}[{i}]", str, "a string")
    return obj


def _uint(obj, path):
    _type(obj, path, int, "an integer")
    if obj < 0:
        _fail(path, "must not be negative")
    return obj


def validate(spec, bundle=None):
    """Check every field pyrunsc reads.  Raises InvalidSpecError."""
    _type(spec, "", dict, "a JSON object")
    ver = spec.get("ociVersion")
    if not isinstance(ver, str) or not ver:
        _fail("ociVersion", "must be a non-empty string")
    if not ver.startswith("1."):
        _fail("ociVersion", f"unsupported version {ver!r}")
    for sect, field in UNSUPPORTED:
        s = spec.get(sect)
        if isinstance(s, dict) and s.get(field) not in (None, "", [], {}):
            raise UnsupportedError(f"{sect}.{field}")
    _validate_root(spec, bundle)
    if spec.get("process") is not None:
        validate_process(spec["process"], "process")
    hostname = _opt(spec, "hostname", "", str, "a string")
    _opt(spec, "domainname", "", str, "a string")
    _validate_mounts(spec)
    _validate_hooks(spec)
    ann = _opt(spec, "annotations", "", dict, "an object")
    for k, v in (ann or {}).items():
        _type(v, f"annotations.{k}", str, "a string")
    linux = _opt(spec, "linux", "", dict, "an object")
    if linux is not None:
        _validate_linux(linux)
        if hostname and not _has_ns(linux, "uts"):
            _fail("hostname", "setting the hostname needs a new uts namespace")
    return spec


def _validate_root(spec, bundle):
    root = _opt(spec, "root", "", dict, "an object")
    if root is None:
        _fail("root", "is required")
    path = root.get("path")
    if not isinstance(path, str) or not path:
        _fail("root.path", "must be a non-empty string")
    _opt(root, "readonly", "root", bool, "a boolean")
    if bundle is not None:
        full = path if os.path.isabs(path) else os.path.join(bundle, path)
        if not os.path.isdir(full):
            _fail("root.path", f"{full}: no such directory")


def validate_process(proc, path):
    _type(proc, path, dict, "an object")
    args = proc.get("args")
    if args is None or args == []:
        _fail(f"{path}.args", "must name the program to run")
    _str_list(args, f"{path}.args")
    if not args[0]:
        _fail(f"{path}.args[0]", "must not be empty")
    _opt(proc, "terminal", path, bool, "a boolean")
    cwd = proc.get("cwd")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        _fail(f"{path}.cwd", "must be an absolute path")
    if proc.get("env") is not None:
        _str_list(proc["env"], f"{path}.env")
        for i, e in enumerate(proc["env"]):
            if "=" not in e:
                _fail(f"{path}.env[{i}]", f"{e!r} is not NAME=value")
    user = _opt(proc, "user", path, dict, "an object")
    if user is None:
        _fail(f"{path}.user", "is required")
    for k in ("uid", "gid"):
        if k not in user:
            _fail(f"{path}.user.{k}", "is required")
        _uint(user[k], f"{path}.user.{k}")
    if user.get("umask") is not None:
        _uint(user["umask"], f"{path}.user.umask")
    for i, g in enumerate(user.get("additionalGids") or []):
        _uint(g, f"{path}.user.additionalGids[{i}]")
    if user.get("username"):
        raise UnsupportedError(f"{path}.user.username",
                               "is not supported (Windows only)")
    caps = _opt(proc, "capabilities", path, dict, "an object")
    for k, v in (caps or {}).items():
        if k not in ("bounding", "effective", "inheritable", "permitted",
                     "ambient"):
            _fail(f"{path}.capabilities.{k}", "unknown capability set")
        _str_list(v or [], f"{path}.capabilities.{k}")
    for i, rl in enumerate(_opt(proc, "rlimits", path, list, "an array") or []):
        p = f"{path}.rlimits[{i}]"
        _type(rl, p, dict, "an object")
        t = rl.get("type")
        if not isinstance(t, str) or not t.startswith("RLIMIT_"):
            _fail(f"{p}.type", f"unknown rlimit {t!r}")
        for k in ("hard", "soft"):
            _uint(rl.get(k), f"{p}.{k}")
        if rl["soft"] > rl["hard"]:
            _fail(p, "soft limit exceeds hard limit")
    _opt(proc, "noNewPrivileges", path, bool, "a boolean")
    if proc.get("oomScoreAdj") is not None:
        v = _type(proc["oomScoreAdj"], f"{path}.oomScoreAdj", int,
                  "an integer")
        if not -1000 <= v <= 1000:
            _fail(f"{path}.oomScoreAdj", "must be between -1000 and 1000")
    cs = _opt(proc, "consoleSize", path, dict, "an object")
    if cs is not None:
        for k in ("height", "width"):
            _uint(cs.get(k, 0), f"{path}.consoleSize.{k}")
    if proc.get("apparmorProfile"):
        log.warning("%s.apparmorProfile %r is accepted but not applied: "
                    "the sentry is the boundary", path, proc["apparmorProfile"])


def _validate_mounts(spec):
    mounts = _opt(spec, "mounts", "", list, "an array")
    for i, m in enumerate(mounts or []):
        p = f"mounts[{i}]"
        _type(m, p, dict, "an object")
        dst = m.get("destination")
        if not isinstance(dst, str) or not dst.startswith("/"):
            _fail(f"{p}.destination", "must be an absolute path")
        _opt(m, "type", p, str, "a string")
        _opt(m, "source", p, str, "a string")
        if m.get("options") is not None:
            _str_list(m["options"], f"{p}.options")
        for k in ("uidMappings", "gidMappings"):
            if m.get(k):
                raise UnsupportedError(f"{p}.{k}")


def _validate_hooks(spec):
    hooks = _opt(spec, "hooks", "", dict, "an object")
    for name, lst in (hooks or {}).items():
        if name not in HOOK_NAMES:
            _fail(f"hooks.{name}", "unknown hook")
        _type(lst, f"hooks.{name}", list, "an array")
        for i, h in enumerate(lst):
            p = f"hooks.{name}[{i}]"
            _type(h, p, dict, "an object")
            hp = h.get("path")
            if not isinstance(hp, str) or not hp.startswith("/"):
                _fail(f"{p}.path", "must be an absolute path")
            if h.get("args") is not None:
                _str_list(h["args"], f"{p}.args")
            if h.get("env") is not None:
                _str_list(h["env"], f"{p}.env")
            t = h.get("timeout")
            if t is not None:
                _type(t, f"{p}.timeout", int, "an integer")
                if t <= 0:
                    _fail(f"{p}.timeout", "must be greater than zero")


def _has_ns(linux, typ):
    return any(isinstance(n, dict) and n.get("type") == typ
               for n in linux.get("namespaces") or [])


def _validate_linux(linux):
    seen = set()
    for i, ns in enumerate(_opt(linux, "namespaces", "linux", list,
                                "an array") or []):
        p = f"linux.namespaces[{i}]"
        _type(ns, p, dict, "an object")
        t = ns.get("type")
        if t not in NAMESPACE_TYPES:
            _fail(f"{p}.type", f"unknown namespace type {t!r}")
        if t in seen:
            _fail(f"{p}.type", f"duplicate namespace {t}")
        seen.add(t)
        if ns.get("path") is not None:
            _type(ns["path"], f"{p}.path", str, "a string")
            if not ns["path"].startswith("/"):
                _fail(f"{p}.path", "must be an absolute path")
        if t == "time":
            raise UnsupportedError(f"{p}", "time namespace is not supported")
    for k in ("uidMappings", "gidMappings"):
        for i, mp in enumerate(_opt(linux, k, "linux", list, "an array") or []):
            p = f"linux.{k}[{i}]"
            _type(mp, p, dict, "an object")
            for f in ("containerID", "hostID", "size"):
                _uint(mp.get(f), f"{p}.{f}")
    for i, d in enumerate(_opt(linux, "devices", "linux", list,
                               "an array") or []):
        p = f"linux.devices[{i}]"
        _type(d, p, dict, "an object")
        if not isinstance(d.get("path"), str) or not d["path"].startswith("/"):
            _fail(f"{p}.path", "must be an absolute path")
        if d.get("type") not in ("c", "b", "u", "p"):
            _fail(f"{p}.type", f"unknown device type {d.get('type')!r}")
        if d["type"] != "p":
            for f in ("major", "minor"):
                _type(d.get(f), f"{p}.{f}", int, "an integer")
    sysctl = _opt(linux, "sysctl", "linux", dict, "an object")
    for k, v in (sysctl or {}).items():
        _type(v, f"linux.sysctl.{k}", str, "a string")
    _opt(linux, "resources", "linux", dict, "an object")
    cg = _opt(linux, "cgroupsPath", "linux", str, "a string")
    _opt(linux, "seccomp", "linux", dict, "an object")
    for k in ("maskedPaths", "readonlyPaths"):
        if linux.get(k) is not None:
            _str_list(linux[k], f"linux.{k}")
            for i, v in enumerate(linux[k]):
                if not v.startswith("/"):
                    _fail(f"linux.{k}[{i}]", "must be an absolute path")
    prop = linux.get("rootfsPropagation")
    if prop not in (None, "", "shared", "slave", "private", "rshared",
                    "rslave", "rprivate", "unbindable", "runbindable"):
        _fail("linux.rootfsPropagation", f"unknown propagation {prop!r}")
    return cg


def rootfs(spec, bundle):
    """The absolute host path of the container's root."""
    p = spec["root"]["path"]
    return os.path.normpath(p if os.path.isabs(p) else os.path.join(bundle, p))


def namespaces(spec):
    """``{type: path_or_None}`` of the namespaces the spec asks for."""
    return {ns["type"]: ns.get("path") or None
            for ns in (spec.get("linux") or {}).get("namespaces") or []}


def hooks(spec, name):
    return list((spec.get("hooks") or {}).get(name) or [])


def annotations(spec):
    return dict(spec.get("annotations") or {})
