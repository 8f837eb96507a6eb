"""Control groups of pyrunsc containers on cgroup v1, v2 and hybrid hosts.

This module owns everything pyrunsc does with cgroups: finding the
hierarchies the host mounts (from /proc/self/mountinfo, never from fixed
paths), turning ``linux.cgroupsPath`` into one directory per hierarchy,
creating those directories, writing ``linux.resources`` into them (for
``create`` and ``update``), joining processes, freezing and thawing (``pause``
and ``resume``), reading the statistics of ``events --stats`` and removing
the cgroup again.

Three host layouts are handled:

``legacy``  only v1 hierarchies (one per mounted controller set).
``hybrid``  v1 hierarchies carry the controllers and a cgroup2 mount
            (usually /sys/fs/cgroup/unified) carries no or few controllers.
            As runc does, the controllers are used through v1; the v2
            directory is created and joined too, so that the ``unified``
            resources key and v2 process tracking work.  Controllers that only
            the v2 side offers here (e.g. hugetlb) are not enabled, since
            that would mean writing the host root's cgroup.subtree_control.
``unified`` only cgroup2; the controllers that every ancestor offers are
            enabled in the ancestors' cgroup.subtree_control, as runc does.

Paths (``Cgroup.for_spec``):

* an absolute ``linux.cgroupsPath`` names that cgroup below the root of each
  hierarchy;
* a relative one names a cgroup below the caller's own cgroup in each
  hierarchy (as runc's cgroupfs driver does);
* no ``linux.cgroupsPath`` means ``/pyrunsc/<id>``;
* with ``systemd=True`` (the ``--systemd-cgroup`` flag) the path must be
  runc's systemd form ``slice:prefix:name``.  pyrunsc does not talk to
  systemd (no D-Bus); the form is only mapped to the directory systemd would
  use, ``/<expanded slice>/<prefix>-<name>.scope`` (``a-b.slice`` expands to
  ``/a.slice/a-b.slice``; an empty slice means ``system.slice``; a name
  ending in ``.slice`` is itself a slice below the parent slice).  systemd
  does not know about such a scope and may move or clean it up.

Values follow runc: a resource given as 0 is left unset, -1 means unlimited
where the spec says so, knobs the kernel has removed (the file is missing)
are skipped with a debug log for memory.kernel, memory.kernelTCP and
blockIO.leafWeight.  A write that the kernel rejects raises
``InvalidSpecError`` naming the spec field.  Device rules need BPF on pure
cgroup v2; pyrunsc skips them there with a debug log.
"""
import errno
import logging
import os
import re
import signal
import time
from dataclasses import dataclass

from runtime.errors import InvalidSpecError, SandboxError

log = logging.getLogger(__name__)

DEFAULT_PARENT = "/pyrunsc"
MOUNTINFO = "/proc/self/mountinfo"
PROC_CGROUP = "/proc/self/cgroup"
HUGEPAGES_DIR = "/sys/kernel/mm/hugepages"

# Controller names that may appear in the super options of a v1 mount.
V1_CONTROLLERS = frozenset((
    "cpuset", "cpu", "cpuacct", "blkio", "io", "memory", "devices",
    "freezer", "net_cls", "perf_event", "net_prio", "hugetlb", "pids",
    "rdma", "misc"))

# memory.limit_in_bytes reads back as PAGE_COUNTER_MAX pages when unlimited.
_V1_UNLIMITED = 0x7FFFFFFFFFFFF000
_U64_MAX = (1 << 64) - 1
_WAIT_STEP = 0.005


# --------------------------------------------------------------------------
# Discovery of the hierarchies


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy.

    ``mount_root`` is the cgroup that the mount shows at ``mountpoint``
    (field 4 of mountinfo, "/" unless in a cgroup namespace or bind mount);
    ``own_path`` is the caller's cgroup in it (/proc/self/cgroup).
    """
    version: int
    mountpoint: str
    mount_root: str = "/"
    controllers: tuple = ()
    own_path: str = "/"

    @property
    def name(self):
        if self.version == 2:
            return "unified"
        return ",".join(self.controllers)

    def dir_of(self, cgpath):
        """Directory of the cgroup ``cgpath`` (absolute, from the root)."""
        rel = cgpath
        root = self.mount_root.rstrip("/")
        if root and (rel == root or rel.startswith(root + "/")):
            rel = rel[len(root):]
        return os.path.join(self.mountpoint, rel.lstrip("/")).rstrip("/")

    def cgpath_of(self, directory):
        """Inverse of dir_of: the cgroup path that /proc/<pid>/cgroup shows."""
        rel = os.path.relpath(directory, self.mountpoint)
        rel = "" if rel == "." else rel
        return "/" + os.path.join(self.mount_root.strip("/"), rel).strip("/")

    def to_dict(self):
        return {"version": self.version, "mountpoint": self.mountpoint,
                "mount_root": self.mount_root,
                "controllers": list(self.controllers),
                "own_path": self.own_path}

    @classmethod
    def from_dict(cls, d):
        return cls(int(d["version"]), d["mountpoint"], d.get("mount_root", "/"),
                   tuple(d.get("controllers", ())), d.get("own_path", "/"))


@dataclass(frozen=True)
class Layout:
    """The cgroup hierarchies of this host as the caller sees them."""
    v1: tuple = ()
    v2: "Hierarchy | None" = None

    @property
    def mode(self):
        if any(set(h.controllers) & V1_CONTROLLERS for h in self.v1):
            return "hybrid" if self.v2 else "legacy"
        return "unified" if self.v2 else "none"

    @property
    def hierarchies(self):
        return list(self.v1) + ([self.v2] if self.v2 else [])

    def controller(self, name):
        """The hierarchy that carries controller ``name``, or None."""
        if self.mode == "unified":
            return self.v2 if name in self.v2.controllers else None
        for h in self.v1:
            if name in h.controllers:
                return h
        return None


def _unescape(field):
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text):
    """Cgroup mounts in mountinfo ``text``: list of (version, mountpoint,
    root, controllers, device), first mount of each hierarchy only."""
    seen, found = set(), []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup",
                                                                "cgroup2"):
            continue
        dev, root, mnt = fields[2], _unescape(fields[3]), _unescape(fields[4])
        if dev in seen:
            continue
        seen.add(dev)
        if tail[0] == "cgroup2":
            found.append((2, mnt, root, (), dev))
            continue
        ctrls = sorted(o for o in tail[2].split(",")
                       if o in V1_CONTROLLERS or o.startswith("name="))
        if ctrls:
            found.append((1, mnt, root, tuple(ctrls), dev))
    return found


def parse_proc_cgroup(text):
    """/proc/<pid>/cgroup → {hierarchy name: path}; v2 is "unified"."""
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            paths["unified"] = parts[2]
        else:
            paths[",".join(sorted(parts[1].split(",")))] = parts[2]
    return paths


def discover(mountinfo=MOUNTINFO, proc_cgroup=PROC_CGROUP):
    """Read the cgroup layout of the host as seen by the calling process."""
    with open(mountinfo) as f:
        mounts = parse_mountinfo(f.read())
    try:
        with open(proc_cgroup) as f:
            own = parse_proc_cgroup(f.read())
    except FileNotFoundError:
        own = {}
    v1, v2 = [], None
    for version, mnt, root, ctrls, _ in mounts:
        if version == 2:
            if v2 is None:
                v2 = Hierarchy(2, mnt, root, _read_controllers(mnt),
                               own.get("unified", "/"))
        else:
            v1.append(Hierarchy(1, mnt, root, ctrls,
                                own.get(",".join(ctrls), "/")))
    return Layout(tuple(v1), v2)


def _read_controllers(directory):
    try:
        with open(os.path.join(directory, "cgroup.controllers")) as f:
            return tuple(f.read().split())
    except OSError:
        return ()


# --------------------------------------------------------------------------
# linux.cgroupsPath


def expand_slice(slice_name):
    """systemd slice name → cgroup path: "a-b.slice" → "/a.slice/a-b.slice".

    Raises ValueError for a name systemd would not accept.
    """
    suffix = ".slice"
    if not slice_name.endswith(suffix) or "/" in slice_name:
        raise ValueError(f"invalid slice name {slice_name!r}")
    stem = slice_name[:-len(suffix)]
    if stem == "-":
        return "/"
    if not stem:
        raise ValueError(f"invalid slice name {slice_name!r}")
    path, prefix = "", ""
    for part in stem.split("-"):
        if not part:
            raise ValueError(f"invalid slice name {slice_name!r}")
        path += f"/{prefix}{part}{suffix}"
        prefix += part + "-"
    return path


def systemd_path(value):
    """Map runc's systemd form "slice:prefix:name" to a cgroup path."""
    parts = value.split(":")
    if len(parts) != 3:
        raise ValueError('expected "slice:prefix:name" for systemd cgroups, '
                         f'got {value!r}')
    slice_name, prefix, name = parts
    if not name or "/" in name or "/" in prefix:
        raise ValueError(f"invalid systemd unit in {value!r}")
    parent = expand_slice(slice_name or "system.slice")
    if name.endswith(".slice"):
        # The unit is a slice of its own, nested below the parent slice.
        leaf = expand_slice(name).rsplit("/", 1)[1]
        unit = leaf
    else:
        unit = f"{prefix}-{name}.scope" if prefix else f"{name}.scope"
    return parent.rstrip("/") + "/" + unit


def resolve_path(cid, spec, systemd=False):
    """``linux.cgroupsPath`` of ``spec`` → (path, absolute?).

    Raises InvalidSpecError("linux.cgroupsPath", ...) when it is unusable.
    """
    field = "linux.cgroupsPath"
    value = ((spec or {}).get("linux") or {}).get("cgroupsPath")
    if value is None or value == "":
        if systemd:
            value = f"system.slice:pyrunsc:{cid}"
        else:
            return f"{DEFAULT_PARENT}/{cid}", True
    if not isinstance(value, str):
        raise InvalidSpecError(field, "must be a string")
    if "\0" in value or "\n" in value:
        raise InvalidSpecError(field, f"invalid character in {value!r}")
    if systemd:
        try:
            value = systemd_path(value)
        except ValueError as e:
            raise InvalidSpecError(field, str(e)) from None
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidSpecError(field, f"{value!r} must not contain ..")
    if not parts:
        raise InvalidSpecError(field, f"{value!r} names the root cgroup")
    absolute = value.startswith("/")
    return ("/" if absolute else "") + "/".join(parts), absolute


# --------------------------------------------------------------------------
# Small file helpers


def _read(path):
    with open(path) as f:
        return f.read()


def _read_or(path, default=""):
    try:
        return _read(path)
    except OSError:
        return default


def _read_int(path, default=0):
    text = _read_or(path, "").strip()
    if text == "max":
        return _U64_MAX
    try:
        return int(text)
    except ValueError:
        return default


def _read_keyed(path):
    """Read a "key value" per line file into {key: int}."""
    out = {}
    for line in _read_or(path).splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def _write_raw(path, value):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _int_field(section, key, field, lo=None, hi=None):
    """Integer ``section[key]`` or None; type and range errors name field."""
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSpecError(field, f"must be an integer, not {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise InvalidSpecError(field, f"{value} is out of range")
    return value


def _section(resources, key, field, kind=dict):
    value = resources.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise InvalidSpecError(field, f"must be {kind.__name__}")
    return value


def _shares_to_weight(shares):
    # cgroup v1 cpu.shares [2, 262144] → v2 cpu.weight [1, 10000], linearly
    # (runc's original mapping).
    return 1 + ((shares - 2) * 9999) // 262142


def _blkio_to_io_weight(weight):
    # blkio.weight [10, 1000] → io.weight [1, 10000], linearly.
    return 1 + ((weight - 10) * 9999) // 990


def swap_to_v2(swap, memory):
    """OCI memory.swap (memory+swap, v1 meaning) → v2 memory.swap.max.

    Returns None when nothing is to be written, -1 for unlimited.
    """
    memory = memory or 0
    if not swap:
        return -1 if memory == -1 else None
    if swap == -1:
        return -1
    if memory in (0, -1):
        raise ValueError("a swap limit needs a memory limit")
    if swap < memory:
        raise ValueError("memory+swap limit must be >= memory limit")
    return swap - memory


def _max(value):
    return "max" if value is not None and value < 0 else str(value)


def hugepage_sizes(directory=HUGEPAGES_DIR):
    """Huge page sizes of the host in cgroup notation ("2MB", "1GB")."""
    sizes = []
    try:
        names = os.listdir(directory)
    except OSError:
        return sizes
    for n in sorted(names):
        m = re.fullmatch(r"hugepages-(\d+)kB", n)
        if m:
            kb = int(m.group(1))
            for unit, scale in (("GB", 1 << 20), ("MB", 1 << 10), ("KB", 1)):
                if kb % scale == 0:
                    sizes.append(f"{kb // scale}{unit}")
                    break
    return sizes


# --------------------------------------------------------------------------
# The cgroup of one container


class Cgroup:
    """The cgroup of one container: one directory in every hierarchy."""

    def __init__(self, cid, path, layout, dirs):
        self.cid = cid
        self.path = path              # as resolved from the spec
        self.layout = layout
        self.dirs = dict(dirs)        # hierarchy name → directory

    def __repr__(self):
        return f"Cgroup({self.cid!r}, {self.path!r})"

    # -- construction and persistence

    @classmethod
    def for_spec(cls, cid, spec, systemd=False, *, layout=None):
        """The cgroup that ``spec`` asks for, without touching the host."""
        path, absolute = resolve_path(cid, spec, systemd)
        layout = layout or discover()
        if layout.mode == "none":
            raise SandboxError("cgroups: no cgroup hierarchy is mounted")
        dirs = {}
        for h in layout.hierarchies:
            cgpath = path if absolute else (
                h.own_path.rstrip("/") + "/" + path)
            dirs[h.name] = h.dir_of(cgpath)
        return cls(cid, path, layout, dirs)

    def to_dict(self):
        return {"cid": self.cid, "path": self.path,
                "v1": [h.to_dict() for h in self.layout.v1],
                "v2": self.layout.v2.to_dict() if self.layout.v2 else None,
                "dirs": dict(self.dirs)}

    @classmethod
    def from_dict(cls, d):
        v2 = Hierarchy.from_dict(d["v2"]) if d.get("v2") else None
        layout = Layout(tuple(Hierarchy.from_dict(h) for h in d.get("v1", ())),
                        v2)
        return cls(d["cid"], d["path"], layout, d["dirs"])

    # -- where things are

    def _dir(self, controller):
        h = self.layout.controller(controller)
        return self.dirs.get(h.name) if h else None

    def _hier_dirs(self):
        return [(h, self.dirs[h.name]) for h in self.layout.hierarchies
                if h.name in self.dirs]

    def procs_files(self):
        """Every cgroup.procs of this cgroup; a process joins all of them."""
        return [os.path.join(d, "cgroup.procs") for _, d in self._hier_dirs()]

    # -- create / apply

    def create(self, resources=None):
        """Make the directories in every hierarchy, then apply resources."""
        log.debug("cgroup create cid=%s path=%s", self.cid, self.path)
        try:
            for h, d in self._hier_dirs():
                self._mkdir(h, d)
        except OSError as e:
            raise SandboxError(
                f"creating cgroup {self.path}: {e.strerror}: "
                f"{e.filename}") from None
        if resources:
            self.apply(resources)

    def _mkdir(self, h, directory):
        levels = []
        d = directory
        while d != h.mountpoint and len(d) > len(h.mountpoint):
            levels.append(d)
            d = os.path.dirname(d)
        levels.reverse()
        parent = h.mountpoint
        for level in levels:
            if self.layout.mode == "unified":
                self._enable_controllers(parent)
            try:
                os.mkdir(level, 0o755)
            except FileExistsError:
                pass
            if h.version == 1 and "cpuset" in h.controllers:
                # A new v1 cpuset cgroup starts with empty cpus and mems and
                # refuses tasks until they are set - cpuset(7).
                for name in ("cpuset.cpus", "cpuset.mems"):
                    mine = os.path.join(level, name)
                    if not _read_or(mine).strip():
                        _write_raw(mine, _read(os.path.join(parent,
                                                            name)).strip())
            parent = level

    @staticmethod
    def _enable_controllers(directory):
        avail = _read_or(os.path.join(directory, "cgroup.controllers")).split()
        ctl = os.path.join(directory, "cgroup.subtree_control")
        enabled = set(_read_or(ctl).split())
        for c in avail:
            if c in enabled:
                continue
            try:
                _write_raw(ctl, "+" + c)
            except OSError as e:
                log.debug("cgroup: cannot enable %s in %s: %s", c, directory,
                          e.strerror)

    def apply(self, resources):
        """Write ``linux.resources`` into the cgroup (create and update)."""
        if resources is None:
            return
        if not isinstance(resources, dict):
            raise InvalidSpecError("linux.resources", "must be an object")
        _Applier(self, resources).run()

    # -- processes

    def add_pid(self, pid):
        """Move ``pid`` into this cgroup in every hierarchy."""
        for f in self.procs_files():
            try:
                _write_raw(f, pid)
            except OSError as e:
                raise SandboxError(f"adding pid {pid} to {f}: "
                                   f"{e.strerror}") from None

    def pids(self):
        """Every pid in the cgroup or its descendants, in any hierarchy."""
        found = set()
        for _, d in self._hier_dirs():
            for top, _, _ in os.walk(d):
                for line in _read_or(os.path.join(top, "cgroup.procs")).split():
                    found.add(int(line))
        return sorted(found)

    # -- freezer

    def _freezer(self):
        d = self._dir("freezer")
        if d and self.layout.mode != "unified":
            return 1, d
        if self.layout.v2 and self.layout.v2.name in self.dirs:
            d = self.dirs[self.layout.v2.name]
            if os.path.exists(os.path.join(d, "cgroup.freeze")):
                return 2, d
        raise SandboxError(f"cgroup {self.path}: no freezer available")

    def freeze(self, timeout=10.0):
        """Freeze every task of the cgroup; return when they are frozen."""
        version, d = self._freezer()
        log.debug("cgroup freeze cid=%s", self.cid)
        deadline = time.monotonic() + timeout
        n = 0
        while True:
            if version == 1:
                if n % 20 == 0:
                    # Writing again kicks tasks that were busy (e.g. in
                    # vfork) when the previous attempt ran.
                    _write_raw(os.path.join(d, "freezer.state"), "FROZEN")
                if _read(os.path.join(d, "freezer.state")).strip() == "FROZEN":
                    return
            else:
                if n == 0:
                    _write_raw(os.path.join(d, "cgroup.freeze"), "1")
                if _read_keyed(os.path.join(d, "cgroup.events")).get(
                        "frozen") == 1:
                    return
            if time.monotonic() > deadline:
                self.thaw()
                raise SandboxError(f"freezing cgroup {self.path}: timed out")
            n += 1
            time.sleep(_WAIT_STEP)

    def thaw(self, timeout=10.0):
        """Thaw the cgroup; return when it is thawed."""
        version, d = self._freezer()
        log.debug("cgroup thaw cid=%s", self.cid)
        if version == 1:
            _write_raw(os.path.join(d, "freezer.state"), "THAWED")
        else:
            _write_raw(os.path.join(d, "cgroup.freeze"), "0")
        deadline = time.monotonic() + timeout
        while self.state() != "THAWED":
            if time.monotonic() > deadline:
                raise SandboxError(f"thawing cgroup {self.path}: timed out")
            time.sleep(_WAIT_STEP)

    def state(self, timeout=10.0):
        """"FROZEN" or "THAWED", once the freezer is not in transition."""
        version, d = self._freezer()
        deadline = time.monotonic() + timeout
        while True:
            if version == 1:
                s = _read(os.path.join(d, "freezer.state")).strip()
                if s in ("FROZEN", "THAWED"):
                    return s
            else:
                want = _read_or(os.path.join(d, "cgroup.freeze")).strip()
                frozen = _read_keyed(os.path.join(d, "cgroup.events")).get(
                    "frozen")
                if want == "0" and frozen != 1:
                    return "THAWED"
                if frozen == 1:
                    return "FROZEN"
            if time.monotonic() > deadline:
                return "FREEZING"
            time.sleep(_WAIT_STEP)

    # -- limits seen from inside

    def memory_limit(self):
        """Effective memory limit in bytes (this cgroup and its ancestors),
        or None when unlimited."""
        h = self.layout.controller("memory")
        if not h or h.name not in self.dirs:
            return None
        name = "memory.limit_in_bytes" if h.version == 1 else "memory.max"
        best = None
        for d in self._ancestry(h):
            v = _read_int(os.path.join(d, name), _U64_MAX)
            if v >= _V1_UNLIMITED:
                continue
            best = v if best is None else min(best, v)
        return best

    def cpu_quota(self):
        """Effective CPU quota in CPUs (quota / period, the smallest along
        the ancestry), or None when unlimited."""
        h = self.layout.controller("cpu")
        if not h or h.name not in self.dirs:
            return None
        best = None
        for d in self._ancestry(h):
            if h.version == 1:
                quota = _read_int(os.path.join(d, "cpu.cfs_quota_us"), -1)
                period = _read_int(os.path.join(d, "cpu.cfs_period_us"), 0)
            else:
                parts = _read_or(os.path.join(d, "cpu.max")).split()
                if len(parts) != 2 or parts[0] == "max":
                    continue
                quota, period = int(parts[0]), int(parts[1])
            if quota <= 0 or period <= 0:
                continue
            v = quota / period
            best = v if best is None else min(best, v)
        return best

    def _ancestry(self, h):
        d = self.dirs[h.name]
        out = []
        while True:
            out.append(d)
            if len(d) <= len(h.mountpoint):
                return out
            d = os.path.dirname(d)

    # -- stats

    def stats(self):
        """The "data" of ``runc events --stats``: cpu, memory, pids, blkio,
        hugetlb (runc's types/events.go field names)."""
        return _Stats(self).collect()

    # -- destroy

    def destroy(self, timeout=10.0):
        """Kill what is left in the cgroup and remove it everywhere.

        Idempotent.  Only processes that are in this cgroup (checked through
        a pidfd, so a recycled pid is never hit) get SIGKILL; the rmdir is
        retried until the cgroup is empty or ``timeout`` passes.
        """
        log.debug("cgroup destroy cid=%s path=%s", self.cid, self.path)
        try:
            if any(os.path.isdir(d) for _, d in self._hier_dirs()) and \
                    self.state(timeout=1.0) != "THAWED":
                self.thaw()
        except (SandboxError, OSError):
            pass
        deadline = time.monotonic() + timeout
        while True:
            for pid in self.pids():
                self._kill_member(pid)
            left = self._rmdir_all()
            if not left:
                return
            if time.monotonic() > deadline:
                raise SandboxError(f"removing cgroup {self.path}: "
                                   f"{', '.join(left)} still busy")
            time.sleep(_WAIT_STEP * 2)

    def _is_member(self, pid):
        try:
            own = parse_proc_cgroup(_read(f"/proc/{pid}/cgroup"))
        except OSError:
            return False
        for h, d in self._hier_dirs():
            mine = h.cgpath_of(d)
            theirs = own.get(h.name)
            if theirs and (theirs == mine or theirs.startswith(mine + "/")):
                return True
        return False

    def _kill_member(self, pid):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return
        try:
            if self._is_member(pid):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(pidfd)

    def _rmdir_all(self):
        left = []
        for _, d in self._hier_dirs():
            # Children first: a container may have made sub-cgroups.
            for top, subdirs, _ in os.walk(d, topdown=False):
                try:
                    os.rmdir(top)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                        raise SandboxError(f"removing cgroup {top}: "
                                           f"{e.strerror}") from None
                    left.append(top)
        return left
