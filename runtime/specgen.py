"""Generated OCI specs: ``pyrunsc spec``, ``pyrunsc do`` and exec processes.

``default_spec`` follows the defaults of ``runc spec`` (runtime-spec 1.0.2):
``sh`` on a terminal as root, the three default capabilities, the standard
mounts, masked and read-only paths, and new pid/network/ipc/uts/mount
namespaces.  ``do_spec`` builds the spec of ``pyrunsc do``: the host root
read-only as the container's root (as ``runsc do`` does) with a writable
tmpfs on /tmp.  ``exec_process`` builds the ``process`` object of
``pyrunsc exec`` from the container's spec and the command line, as
``runc exec`` does.

Everything returned is a fresh plain dict, safe to mutate.
"""
import copy
import os

from runtime.errors import InvalidSpecError

OCI_VERSION = "1.0.2"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DO_HOSTNAME = "pyrunsc"

# The capabilities of ``runc spec``.
DEFAULT_CAPS = ("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE")
# Docker's default set: what a command run with ``do`` expects to have.
DO_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
           "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
           "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
           "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")
_CAP_SETS = ("bounding", "effective", "permitted", "ambient")

MASKED_PATHS = ("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi")
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                  "/proc/sysrq-trigger")


def _caps(names):
    return {s: list(names) for s in _CAP_SETS}


def _mounts(rootless=False):
    sysfs = {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
    devpts = ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
              "mode=0620", "gid=5"]
    if rootless:
        # A user namespace cannot mount sysfs without its own netns, and
        # gid 5 need not be mapped: as ``runc spec --rootless``.
        sysfs = {"destination": "/sys", "type": "none", "source": "/sys",
                 "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
        devpts.remove("gid=5")
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": devpts},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777",
                     "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        sysfs,
        {"destination": "/sys/fs/cgroup", "type": "cgroup",
         "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]


def default_spec(rootless=False):
    """The spec that ``pyrunsc spec`` writes, with runc's defaults.

    ``rootless`` gives the variant of ``runc spec --rootless``: a user
    namespace mapping root to uid/gid 0 of the caller, no network namespace,
    sysfs bind-mounted, no device cgroup rules.
    """
    spec = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [f"PATH={DEFAULT_PATH}", "TERM=xterm"],
            "cwd": "/",
            "capabilities": _caps(DEFAULT_CAPS),
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024,
                         "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "pyrunsc",
        "mounts": _mounts(rootless),
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }
    if rootless:
        linux = spec["linux"]
        del linux["resources"]
        linux["namespaces"] = [{"type": t} for t in
                               ("pid", "ipc", "uts", "mount", "user")]
        linux["uidMappings"] = [{"containerID": 0, "hostID": os.getuid(),
                                 "size": 1}]
        linux["gidMappings"] = [{"containerID": 0, "hostID": os.getgid(),
                                 "size": 1}]
    return spec


def do_spec(argv, *, cwd, env, root="/", readonly=True, network="none",
            hostname=DO_HOSTNAME, terminal=False):
    """The spec of ``pyrunsc do``: run ``argv`` with ``root`` as rootfs.

    The root (the host's ``/`` by default) is read-only unless ``readonly``
    is false; /tmp is a fresh writable tmpfs.  ``env`` is a mapping or a
    list of ``K=V`` strings; ``network`` is ``none`` (a new network
    namespace with only loopback) or ``host`` (the host's network).
    """
    if not argv:
        raise InvalidSpecError("process.args", "a command is required")
    if network not in ("none", "host", "sandbox"):
        raise InvalidSpecError("", f"network {network!r}: must be none or "
                               "host")
    if isinstance(env, dict):
        env = [f"{k}={v}" for k, v in env.items()]
    env = list(env)
    if not any(e.startswith("PATH=") for e in env):
        env.append(f"PATH={DEFAULT_PATH}")
    namespaces = ["pid", "ipc", "uts", "mount"]
    if network != "host":
        namespaces.append("network")
    mounts = [m for m in _mounts() if m["destination"] != "/sys/fs/cgroup"]
    mounts.append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                   "options": ["nosuid", "nodev", "mode=1777"]})
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": bool(terminal),
            "user": {"uid": 0, "gid": 0},
            "args": list(argv),
            "env": env,
            "cwd": cwd or "/",
            "capabilities": _caps(DO_CAPS),
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024,
                         "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": os.path.abspath(root), "readonly": bool(readonly)},
        "hostname": hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": t} for t in namespaces],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def parse_user(user):
    """``uid[:gid]`` as ``runc exec --user`` takes it; numeric ids only."""
    uid, sep, gid = str(user).partition(":")
    try:
        out = {"uid": int(uid)}
        if sep:
            out["gid"] = int(gid)
    except ValueError:
        raise InvalidSpecError("process.user", f"user {user!r}: must be "
                               "uid[:gid] with numeric ids") from None
    if out["uid"] < 0 or out.get("gid", 0) < 0:
        raise InvalidSpecError("process.user", f"user {user!r}: ids must "
                               "not be negative")
    return out


def normalize_cap(name):
    """``chown``, ``CHOWN`` and ``CAP_CHOWN`` all name CAP_CHOWN."""
    name = name.strip().upper()
    return name if name.startswith("CAP_") else "CAP_" + name


def exec_process(spec, argv, *, env=(), cwd=None, user=None, caps=(),
                 tty=False, additional_gids=(), no_new_privs=False,
                 apparmor=None):
    """The ``process`` of ``pyrunsc exec``, as ``runc exec`` builds it.

    Starts from the container's ``spec["process"]`` (env, cwd, user,
    capabilities, rlimits, noNewPrivileges, apparmor) and applies the
    flags: ``env`` entries ``K=V`` replace same-named ones, ``user`` is
    ``uid[:gid]`` (gid 0 when only a uid is given, as runc), ``caps`` are
    added to every capability set (inheritable included),
    ``additional_gids`` replace the spec's.
    """
    if not argv:
        raise InvalidSpecError("process.args", "a command is required")
    base = copy.deepcopy((spec or {}).get("process") or {})
    proc = {
        "terminal": bool(tty),
        "args": list(argv),
        "env": list(base.get("env") or []),
        "cwd": cwd or base.get("cwd") or "/",
        "user": base.get("user") or {"uid": 0, "gid": 0},
    }
    for key in ("capabilities", "rlimits", "noNewPrivileges",
                "apparmorProfile", "oomScoreAdj"):
        if key in base:
            proc[key] = base[key]
    for entry in env:
        if "=" not in entry:
            raise InvalidSpecError("process.env", f"env {entry!r}: must be "
                                   "KEY=VALUE")
        key = entry.split("=", 1)[0]
        proc["env"] = [e for e in proc["env"]
                       if e.split("=", 1)[0] != key] + [entry]
    if user is not None:
        u = parse_user(user)
        proc["user"] = {"uid": u["uid"], "gid": u.get("gid", 0)}
    if additional_gids:
        proc["user"] = dict(proc["user"],
                            additionalGids=[int(g) for g in additional_gids])
    if caps:
        # Inheritable too: an ambient capability must also be inheritable
        # to survive execve as a non-root user - capabilities(7).
        sets = _CAP_SETS + ("inheritable",)
        have = proc.get("capabilities") or {}
        proc["capabilities"] = {s: list(have.get(s) or []) for s in sets}
        for name in map(normalize_cap, caps):
            for s in sets:
                if name not in proc["capabilities"][s]:
                    proc["capabilities"][s].append(name)
    if no_new_privs:
        proc["noNewPrivileges"] = True
    if apparmor:
        proc["apparmorProfile"] = apparmor
    return proc
