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
  ending in ``.slice`` is itself a slice directory below the parent).  systemd
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
from typing import NamedTuple

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


class Hierarchy(NamedTuple):
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
        return cls(int(d["version"]), d["mountpoint"],
                   d.get("mount_root", "/"), tuple(d.get("controllers", ())),
                   d.get("own_path", "/"))


class Layout(NamedTuple):
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
    """Slice name → cgroup path: "a-b.slice" → "/a.slice/a-b.slice".

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
        # The unit is a slice of its own, placed below the parent slice.
        expand_slice(name)
        unit = name
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
    # (runc's original mapping); v1 itself raises shares below 2 to 2.
    return 1 + ((max(shares, 2) - 2) * 9999) // 262142


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
        for h in layout.hierarchies:
            # Stored metadata never names a hierarchy root or a directory
            # outside it: destroy() would kill and remove there.
            got = d["dirs"].get(h.name)
            if got is not None and not os.path.normpath(got).startswith(
                    h.mountpoint.rstrip("/") + "/"):
                raise SandboxError(f"cgroup of {d['cid']}: {got} is not "
                                   f"below {h.mountpoint}")
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
        fresh = not any(os.path.isdir(d) for _, d in self._hier_dirs())
        try:
            try:
                for h, d in self._hier_dirs():
                    self._mkdir(h, d)
            except OSError as e:
                raise SandboxError(
                    f"creating cgroup {self.path}: {e.strerror}: "
                    f"{e.filename}") from None
            if resources:
                self.apply(resources)
        except BaseException:
            # All or nothing: a cgroup made here is gone again.
            if fresh:
                try:
                    self.destroy(timeout=1.0)
                except SandboxError as e:
                    log.warning("cid=%s %s", self.cid, e)
            raise

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
                procs = _read_or(os.path.join(top, "cgroup.procs"))
                found.update(int(x) for x in procs.split())
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
        """The "data" of ``runc events --stats``: cpu, cpuset, memory, pids,
        blkio, hugetlb (runc's types/events.go field names)."""
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


# --------------------------------------------------------------------------
# linux.resources → cgroup files

_F = "linux.resources"


class _Applier:
    """Writes one ``linux.resources`` object into a Cgroup."""

    def __init__(self, cg, resources):
        self.cg = cg
        self.r = resources
        self.v2 = cg.layout.mode == "unified"

    def run(self):
        for _, d in self.cg._hier_dirs():
            if not os.path.isdir(d):
                raise SandboxError(f"cgroup {self.cg.path}: {d} does not "
                                   "exist")
        self.memory()
        self.cpu()
        self.pids()
        self.blkio()
        self.hugetlb()
        self.devices()
        self.network()
        self.unified()

    # helpers

    def dir(self, controller, field):
        d = self.cg._dir(controller)
        if d is None:
            log.warning("cgroup: controller %s is not available; ignoring %s",
                        controller, field)
        return d

    @staticmethod
    def write(d, name, value, field, optional=False):
        """Write ``value`` to ``d/name``; kernel errors name ``field``.

        A missing file is skipped when ``optional`` (a knob the kernel has
        removed) and an error otherwise.
        """
        try:
            _write_raw(os.path.join(d, name), value)
        except FileNotFoundError:
            if optional:
                log.debug("cgroup: %s does not exist; ignoring %s", name,
                          field)
                return False
            raise InvalidSpecError(
                field, f"writing {value} to {name}: no such file (not "
                "supported by the kernel or controller not enabled)") from None
        except OSError as e:
            raise InvalidSpecError(
                field, f"writing {value} to {name}: "
                f"{os.strerror(e.errno)}") from None
        return True

    # memory

    def memory(self):
        f = f"{_F}.memory"
        m = _section(self.r, "memory", f)
        if not m:
            return
        limit = _int_field(m, "limit", f"{f}.limit", lo=-1)
        swap = _int_field(m, "swap", f"{f}.swap", lo=-1)
        reservation = _int_field(m, "reservation", f"{f}.reservation", lo=-1)
        kernel = _int_field(m, "kernel", f"{f}.kernel", lo=-1)
        ktcp = _int_field(m, "kernelTCP", f"{f}.kernelTCP", lo=-1)
        swappiness = _int_field(m, "swappiness", f"{f}.swappiness",
                                lo=-1, hi=100)
        for key in ("disableOOMKiller", "useHierarchy", "checkBeforeUpdate"):
            if m.get(key) is not None and not isinstance(m[key], bool):
                raise InvalidSpecError(f"{f}.{key}", "must be a boolean")
        d = self.dir("memory", f)
        if d is None:
            return
        if m.get("checkBeforeUpdate") and limit and limit > 0:
            usage = _read_int(os.path.join(
                d, "memory.current" if self.v2 else "memory.usage_in_bytes"))
            if limit < usage:
                raise InvalidSpecError(f"{f}.limit", f"{limit} is below the "
                                       f"current usage of {usage} bytes")
        if self.v2:
            self._memory_v2(d, f, m, limit, swap, reservation)
            for key, val in (("kernel", kernel), ("kernelTCP", ktcp),
                             ("swappiness", swappiness),
                             ("disableOOMKiller", m.get("disableOOMKiller")),
                             ("useHierarchy", m.get("useHierarchy"))):
                if val not in (None, -1, False):
                    log.debug("cgroup v2 has no equivalent of %s.%s; "
                              "ignoring it", f, key)
            return
        self._memory_v1(d, f, limit, swap)
        if reservation:
            self.write(d, "memory.soft_limit_in_bytes", reservation,
                       f"{f}.reservation")
        if kernel:
            self.write(d, "memory.kmem.limit_in_bytes", kernel,
                       f"{f}.kernel", optional=True)
        if ktcp:
            self.write(d, "memory.kmem.tcp.limit_in_bytes", ktcp,
                       f"{f}.kernelTCP", optional=True)
        if swappiness is not None and swappiness != -1:
            self.write(d, "memory.swappiness", swappiness, f"{f}.swappiness")
        if m.get("disableOOMKiller"):
            self.write(d, "memory.oom_control", 1, f"{f}.disableOOMKiller")
        if m.get("useHierarchy") is not None:
            self.write(d, "memory.use_hierarchy",
                       int(m["useHierarchy"]), f"{f}.useHierarchy")

    def _memory_v1(self, d, f, limit, swap):
        if limit == -1 and not swap:
            # Unlimited memory with no word on swap: both unlimited.
            swap = -1
        memsw = "memory.memsw.limit_in_bytes"
        has_memsw = os.path.exists(os.path.join(d, memsw))
        if swap and not has_memsw:
            if swap == -1:
                swap = None
            else:
                raise InvalidSpecError(f"{f}.swap", "the kernel has no swap "
                                       "accounting (no " + memsw + ")")
        order = [("memory.limit_in_bytes", limit, f"{f}.limit"),
                 (memsw, swap, f"{f}.swap")]
        if limit and swap:
            # The kernel insists on limit <= memsw at every moment, so raise
            # memsw first when it grows and lower it last when it shrinks.
            cur = _read_int(os.path.join(d, "memory.limit_in_bytes"))
            if swap == -1 or cur < swap:
                order.reverse()
        for name, value, field in order:
            if value:
                self.write(d, name, value, field)

    def _memory_v2(self, d, f, m, limit, swap, reservation):
        try:
            v2swap = swap_to_v2(swap, limit)
        except ValueError as e:
            raise InvalidSpecError(f"{f}.swap", str(e)) from None
        if v2swap is not None:
            has = os.path.exists(os.path.join(d, "memory.swap.max"))
            if has:
                self.write(d, "memory.swap.max", _max(v2swap), f"{f}.swap")
            elif v2swap != -1:
                raise InvalidSpecError(f"{f}.swap", "the kernel has no swap "
                                       "accounting (no memory.swap.max)")
        if limit:
            self.write(d, "memory.max", _max(limit), f"{f}.limit")
        if reservation:
            self.write(d, "memory.low", _max(reservation), f"{f}.reservation")

    # cpu and cpuset

    def cpu(self):
        f = f"{_F}.cpu"
        c = _section(self.r, "cpu", f)
        if not c:
            return
        shares = _int_field(c, "shares", f"{f}.shares", lo=0)
        quota = _int_field(c, "quota", f"{f}.quota", lo=-1)
        period = _int_field(c, "period", f"{f}.period", lo=0)
        burst = _int_field(c, "burst", f"{f}.burst", lo=0)
        rt_runtime = _int_field(c, "realtimeRuntime", f"{f}.realtimeRuntime",
                                lo=-1)
        rt_period = _int_field(c, "realtimePeriod", f"{f}.realtimePeriod",
                               lo=0)
        idle = _int_field(c, "idle", f"{f}.idle", lo=0, hi=1)
        for key in ("cpus", "mems"):
            if c.get(key) is not None and not isinstance(c[key], str):
                raise InvalidSpecError(f"{f}.{key}", "must be a string")
        if any(v for v in (shares, quota, period, burst, rt_runtime,
                           rt_period, idle is not None)):
            d = self.dir("cpu", f)
            if d is not None:
                if self.v2:
                    self._cpu_v2(d, f, shares, quota, period, burst,
                                 rt_runtime, rt_period)
                else:
                    self._cpu_v1(d, f, shares, quota, period, burst,
                                 rt_runtime, rt_period)
                if idle is not None:
                    self.write(d, "cpu.idle", idle, f"{f}.idle")
        for key in ("cpus", "mems"):
            if c.get(key):
                d = self.dir("cpuset", f"{f}.{key}")
                if d is not None:
                    self.write(d, f"cpuset.{key}", c[key], f"{f}.{key}")

    def _cpu_v1(self, d, f, shares, quota, period, burst, rt_runtime,
                rt_period):
        if shares:
            self.write(d, "cpu.shares", shares, f"{f}.shares")
            got = _read_int(os.path.join(d, "cpu.shares"))
            if got != shares:
                raise InvalidSpecError(f"{f}.shares", f"{shares} is out of "
                                       f"range (the kernel set {got})")
        retry_period = False
        if period:
            try:
                self.write(d, "cpu.cfs_period_us", period, f"{f}.period")
            except InvalidSpecError:
                # A shorter period can push the old quota/period ratio over
                # the parent's; it fits once the new quota is written.
                if not quota:
                    raise
                retry_period = True
        if quota:
            self.write(d, "cpu.cfs_quota_us", quota, f"{f}.quota")
        if retry_period:
            self.write(d, "cpu.cfs_period_us", period, f"{f}.period")
        if burst:
            self.write(d, "cpu.cfs_burst_us", burst, f"{f}.burst")
        if rt_period:
            self.write(d, "cpu.rt_period_us", rt_period, f"{f}.realtimePeriod")
        if rt_runtime:
            self.write(d, "cpu.rt_runtime_us", rt_runtime,
                       f"{f}.realtimeRuntime")

    def _cpu_v2(self, d, f, shares, quota, period, burst, rt_runtime,
                rt_period):
        if rt_runtime or rt_period:
            field = f"{f}.realtimeRuntime" if rt_runtime else \
                f"{f}.realtimePeriod"
            raise InvalidSpecError(field, "real-time group scheduling is not "
                                   "available on cgroup v2")
        if shares:
            self.write(d, "cpu.weight", _shares_to_weight(shares),
                       f"{f}.shares")
        if quota or period:
            if quota:
                q = "max" if quota < 0 else str(quota)
            else:
                q = (_read_or(os.path.join(d, "cpu.max")).split() or
                     ["max"])[0]
            value = f"{q} {period}" if period else q
            self.write(d, "cpu.max", value, f"{f}.quota" if quota else
                       f"{f}.period")
        if burst:
            self.write(d, "cpu.max.burst", burst, f"{f}.burst")

    # pids

    def pids(self):
        f = f"{_F}.pids"
        p = _section(self.r, "pids", f)
        limit = _int_field(p, "limit", f"{f}.limit")
        if limit is None:
            return
        d = self.dir("pids", f)
        if d is not None:
            self.write(d, "pids.max", limit if limit > 0 else "max",
                       f"{f}.limit")

    # block I/O

    def blkio(self):
        f = f"{_F}.blockIO"
        b = _section(self.r, "blockIO", f)
        if not b:
            return
        weight = _int_field(b, "weight", f"{f}.weight", lo=0, hi=1000)
        leaf = _int_field(b, "leafWeight", f"{f}.leafWeight", lo=0, hi=1000)
        ctl = "io" if self.v2 else "blkio"
        d = self.dir(ctl, f)
        devices = {}
        for key in ("weightDevice", "throttleReadBpsDevice",
                    "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                    "throttleWriteIOPSDevice"):
            devices[key] = self._device_list(b, key, f"{f}.{key}")
        if d is None:
            return
        if self.v2:
            self._blkio_v2(d, f, weight, leaf, devices)
        else:
            self._blkio_v1(d, f, weight, leaf, devices)

    @staticmethod
    def _device_list(b, key, field):
        items = _section(b, key, field, list)
        out = []
        for i, item in enumerate(items):
            fi = f"{field}[{i}]"
            if not isinstance(item, dict):
                raise InvalidSpecError(fi, "must be an object")
            major = _int_field(item, "major", f"{fi}.major", lo=0)
            minor = _int_field(item, "minor", f"{fi}.minor", lo=0)
            if major is None or minor is None:
                raise InvalidSpecError(fi, "major and minor are required")
            entry = {"dev": f"{major}:{minor}", "field": fi}
            for k in ("weight", "leafWeight", "rate"):
                entry[k] = _int_field(item, k, f"{fi}.{k}", lo=0)
            out.append(entry)
        return out

    def _blkio_v1(self, d, f, weight, leaf, devices):
        bfq = os.path.exists(os.path.join(d, "blkio.bfq.weight"))
        wfile = "blkio.bfq.weight" if bfq else "blkio.weight"
        if weight:
            self.write(d, wfile, weight, f"{f}.weight")
        if leaf:
            self.write(d, "blkio.leaf_weight", leaf, f"{f}.leafWeight",
                       optional=True)
        for e in devices["weightDevice"]:
            if e["weight"]:
                self.write(d, wfile + "_device", f"{e['dev']} {e['weight']}",
                           f"{e['field']}.weight")
            if e["leafWeight"]:
                self.write(d, "blkio.leaf_weight_device",
                           f"{e['dev']} {e['leafWeight']}",
                           f"{e['field']}.leafWeight", optional=True)
        for key, name in (("throttleReadBpsDevice", "read_bps_device"),
                          ("throttleWriteBpsDevice", "write_bps_device"),
                          ("throttleReadIOPSDevice", "read_iops_device"),
                          ("throttleWriteIOPSDevice", "write_iops_device")):
            for e in devices[key]:
                self.write(d, f"blkio.throttle.{name}",
                           f"{e['dev']} {e['rate'] or 0}",
                           f"{e['field']}.rate")

    def _blkio_v2(self, d, f, weight, leaf, devices):
        bfq = os.path.exists(os.path.join(d, "io.bfq.weight"))
        if weight:
            if bfq:
                self.write(d, "io.bfq.weight", weight, f"{f}.weight")
            else:
                self.write(d, "io.weight",
                           f"default {_blkio_to_io_weight(weight)}",
                           f"{f}.weight")
        if leaf:
            log.debug("cgroup v2 has no leaf weight; ignoring %s.leafWeight",
                      f)
        for e in devices["weightDevice"]:
            if e["weight"]:
                if bfq:
                    self.write(d, "io.bfq.weight", f"{e['dev']} {e['weight']}",
                               f"{e['field']}.weight")
                else:
                    self.write(d, "io.weight", f"{e['dev']} "
                               f"{_blkio_to_io_weight(e['weight'])}",
                               f"{e['field']}.weight")
        for key, name in (("throttleReadBpsDevice", "rbps"),
                          ("throttleWriteBpsDevice", "wbps"),
                          ("throttleReadIOPSDevice", "riops"),
                          ("throttleWriteIOPSDevice", "wiops")):
            for e in devices[key]:
                rate = e["rate"] or "max"
                self.write(d, "io.max", f"{e['dev']} {name}={rate}",
                           f"{e['field']}.rate")

    # huge pages

    def hugetlb(self):
        f = f"{_F}.hugepageLimits"
        items = _section(self.r, "hugepageLimits", f, list)
        if not items:
            return
        checked = []
        for i, item in enumerate(items):
            fi = f"{f}[{i}]"
            if not isinstance(item, dict):
                raise InvalidSpecError(fi, "must be an object")
            size = item.get("pageSize")
            if not isinstance(size, str) or not re.fullmatch(r"\d+[KMG]B",
                                                             size):
                raise InvalidSpecError(f"{fi}.pageSize",
                                       f"invalid page size {size!r}")
            limit = _int_field(item, "limit", f"{fi}.limit", lo=0)
            if limit is None:
                raise InvalidSpecError(f"{fi}.limit", "is required")
            checked.append((fi, size, limit))
        d = self.dir("hugetlb", f)
        if d is None:
            return
        for fi, size, limit in checked:
            name = f"hugetlb.{size}." + ("max" if self.v2 else
                                         "limit_in_bytes")
            if not os.path.exists(os.path.join(d, name)):
                raise InvalidSpecError(f"{fi}.pageSize", f"{size} is not a "
                                       "huge page size of this host")
            self.write(d, name, limit, f"{fi}.limit")

    # devices

    def devices(self):
        f = f"{_F}.devices"
        rules = _section(self.r, "devices", f, list)
        lines = []
        for i, rule in enumerate(rules):
            lines.append(self._device_rule(rule, f"{f}[{i}]"))
        if not lines:
            return
        if self.v2:
            # N.B. cgroup v2 controls devices with a BPF_CGROUP_DEVICE
            # program, which pyrunsc does not load; the sentry's /dev is the
            # boundary there.
            log.debug("cgroup v2: device rules need BPF; ignoring %s", f)
            return
        d = self.dir("devices", f)
        if d is None:
            return
        for field, allow, line in lines:
            self.write(d, "devices.allow" if allow else "devices.deny", line,
                       field)

    @staticmethod
    def _device_rule(rule, field):
        if not isinstance(rule, dict):
            raise InvalidSpecError(field, "must be an object")
        allow = rule.get("allow")
        if not isinstance(allow, bool):
            raise InvalidSpecError(f"{field}.allow", "must be a boolean")
        kind = rule.get("type") or "a"
        if kind not in ("a", "b", "c"):
            raise InvalidSpecError(f"{field}.type", f"invalid type {kind!r}")
        nums = []
        for key in ("major", "minor"):
            v = _int_field(rule, key, f"{field}.{key}", lo=-1)
            nums.append("*" if v is None or v == -1 else str(v))
        access = rule.get("access") or "rwm"
        if not isinstance(access, str) or not access or \
                set(access) - set("rwm"):
            raise InvalidSpecError(f"{field}.access",
                                   f"invalid access {access!r}")
        if kind == "a":
            # "a" always means every device with every access - cgroups(7)
            return field, allow, "a"
        return field, allow, f"{kind} {nums[0]}:{nums[1]} {access}"

    # network

    def network(self):
        f = f"{_F}.network"
        n = _section(self.r, "network", f)
        if not n:
            return
        classid = _int_field(n, "classID", f"{f}.classID", lo=0,
                             hi=0xFFFFFFFF)
        prios = _section(n, "priorities", f"{f}.priorities", list)
        if classid is not None:
            d = self.cg._dir("net_cls")
            if d is None:
                log.debug("cgroup: net_cls is not available; ignoring %s",
                          f"{f}.classID")
            else:
                self.write(d, "net_cls.classid", classid, f"{f}.classID")
        if prios:
            d = self.cg._dir("net_prio")
            if d is None:
                log.debug("cgroup: net_prio is not available; ignoring %s",
                          f"{f}.priorities")
                return
            for i, p in enumerate(prios):
                fi = f"{f}.priorities[{i}]"
                if not isinstance(p, dict) or not isinstance(p.get("name"),
                                                             str):
                    raise InvalidSpecError(fi, "needs a name")
                prio = _int_field(p, "priority", f"{fi}.priority", lo=0)
                self.write(d, "net_prio.ifpriomap", f"{p['name']} {prio or 0}",
                           fi)

    # unified

    def unified(self):
        f = f"{_F}.unified"
        u = _section(self.r, "unified", f)
        if not u:
            return
        v2 = self.cg.layout.v2
        if v2 is None or v2.name not in self.cg.dirs:
            raise InvalidSpecError(f, "needs cgroup v2, which this host does "
                                   "not mount")
        d = self.cg.dirs[v2.name]
        for key, value in u.items():
            fk = f'{f}["{key}"]'
            if not re.fullmatch(r"[A-Za-z0-9_]+\.[A-Za-z0-9_.]+", key):
                raise InvalidSpecError(fk, "invalid cgroup file name")
            if not isinstance(value, str):
                raise InvalidSpecError(fk, "must be a string")
            if not os.path.exists(os.path.join(d, key)):
                raise InvalidSpecError(fk, f"{key} does not exist in "
                                       f"{d} (controller not enabled?)")
            self.write(d, key, value, fk)


# --------------------------------------------------------------------------
# Statistics (runc's types/events.go)

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _ints(path):
    return [int(x) for x in _read_or(path).split() if x.lstrip("-").isdigit()]


def parse_list(text):
    """A kernel cpu/node list ("0-2,5") → [0, 1, 2, 5]."""
    out = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def _blkio_entries(path):
    """v1 "maj:min Op value" lines → BlkioEntry dicts ("Total" dropped)."""
    out = []
    for line in _read_or(path).splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue
        major, minor = parts[0].split(":")
        out.append({"major": int(major), "minor": int(minor), "op": parts[1],
                    "value": int(parts[2])})
    return out


class _Stats:
    """Reads the statistics of a Cgroup."""

    def __init__(self, cg):
        self.cg = cg
        self.v2 = cg.layout.mode == "unified"

    def collect(self):
        return {"cpu": self.cpu(), "cpuset": self.cpuset(),
                "memory": self.memory(), "pids": self.pids(),
                "blkio": self.blkio(), "hugetlb": self.hugetlb()}

    def cpuset(self):
        out = {"cpus": [], "mems": []}
        d = self.cg._dir("cpuset")
        if not d:
            return out
        suffix = ".effective" if self.v2 else ""
        for key in ("cpus", "mems"):
            out[key] = parse_list(_read_or(os.path.join(
                d, f"cpuset.{key}{suffix}")))
        if not self.v2:
            for key in ("cpu_exclusive", "mem_hardwall", "mem_exclusive",
                        "memory_migrate", "memory_spread_page",
                        "memory_spread_slab", "memory_pressure",
                        "sched_load_balance", "sched_relax_domain_level"):
                out[key] = _read_int(os.path.join(d, f"cpuset.{key}"))
        return out

    def cpu(self):
        usage = {"total": 0, "percpu": [], "percpu_kernel": [],
                 "percpu_user": [], "kernel": 0, "user": 0}
        thr = {"periods": 0, "throttledPeriods": 0, "throttledTime": 0}
        out = {"usage": usage, "throttling": thr}
        if self.v2:
            d = self.cg._dir("cpu") or self.cg.dirs.get("unified")
            if not d:
                return out
            st = _read_keyed(os.path.join(d, "cpu.stat"))
            usage["total"] = st.get("usage_usec", 0) * 1000
            usage["user"] = st.get("user_usec", 0) * 1000
            usage["kernel"] = st.get("system_usec", 0) * 1000
            thr["periods"] = st.get("nr_periods", 0)
            thr["throttledPeriods"] = st.get("nr_throttled", 0)
            thr["throttledTime"] = st.get("throttled_usec", 0) * 1000
            return out
        d = self.cg._dir("cpuacct")
        if d:
            j = lambda n: os.path.join(d, n)  # noqa: E731
            usage["total"] = _read_int(j("cpuacct.usage"))
            usage["percpu"] = _ints(j("cpuacct.usage_percpu"))
            usage["percpu_kernel"] = _ints(j("cpuacct.usage_percpu_sys"))
            usage["percpu_user"] = _ints(j("cpuacct.usage_percpu_user"))
            if os.path.exists(j("cpuacct.usage_sys")):
                usage["kernel"] = _read_int(j("cpuacct.usage_sys"))
                usage["user"] = _read_int(j("cpuacct.usage_user"))
            else:
                st = _read_keyed(j("cpuacct.stat"))
                usage["kernel"] = st.get("system", 0) * 10**9 // _CLK_TCK
                usage["user"] = st.get("user", 0) * 10**9 // _CLK_TCK
        d = self.cg._dir("cpu")
        if d:
            st = _read_keyed(os.path.join(d, "cpu.stat"))
            thr["periods"] = st.get("nr_periods", 0)
            thr["throttledPeriods"] = st.get("nr_throttled", 0)
            thr["throttledTime"] = st.get("throttled_time", 0)
        return out

    @staticmethod
    def _entry(d, prefix, v2=False):
        j = lambda n: os.path.join(d, prefix + n)  # noqa: E731
        if v2:
            events = _read_keyed(j("events"))
            return {"limit": _read_int(j("max")), "usage": _read_int(
                j("current")), "max": _read_int(j("peak")),
                "failcnt": events.get("max", 0)}
        return {"limit": _read_int(j("limit_in_bytes")),
                "usage": _read_int(j("usage_in_bytes")),
                "max": _read_int(j("max_usage_in_bytes")),
                "failcnt": _read_int(j("failcnt"))}

    def memory(self):
        zero = {"limit": 0, "usage": 0, "max": 0, "failcnt": 0}
        out = {"cache": 0, "usage": dict(zero), "swap": dict(zero),
               "kernel": dict(zero), "kernelTCP": dict(zero), "raw": {}}
        d = self.cg._dir("memory")
        if not d:
            return out
        raw = _read_keyed(os.path.join(d, "memory.stat"))
        out["raw"] = raw
        if self.v2:
            out["cache"] = raw.get("file", 0)
            out["usage"] = self._entry(d, "memory.", v2=True)
            swap = self._entry(d, "memory.swap.", v2=True)
            # As for v1, swap means memory+swap.
            swap["usage"] += out["usage"]["usage"]
            if swap["limit"] != _U64_MAX and out["usage"]["limit"] != _U64_MAX:
                swap["limit"] += out["usage"]["limit"]
            else:
                swap["limit"] = _U64_MAX
            out["swap"] = swap
            return out
        out["cache"] = raw.get("total_cache", raw.get("cache", 0))
        out["usage"] = self._entry(d, "memory.")
        out["swap"] = self._entry(d, "memory.memsw.")
        out["kernel"] = self._entry(d, "memory.kmem.")
        out["kernelTCP"] = self._entry(d, "memory.kmem.tcp.")
        return out

    def pids(self):
        d = self.cg._dir("pids")
        if not d:
            return {"current": len(self.cg.pids()), "limit": 0}
        limit = _read_int(os.path.join(d, "pids.max"))
        return {"current": _read_int(os.path.join(d, "pids.current")),
                "limit": 0 if limit == _U64_MAX else limit}

    def blkio(self):
        keys = ("ioServiceBytesRecursive", "ioServicedRecursive",
                "ioQueueRecursive", "ioServiceTimeRecursive",
                "ioWaitTimeRecursive", "ioMergedRecursive", "ioTimeRecursive",
                "sectorsRecursive")
        out = {k: [] for k in keys}
        if self.v2:
            d = self.cg._dir("io")
            if d:
                self._io_stat(os.path.join(d, "io.stat"), out)
            return out
        d = self.cg._dir("blkio")
        if not d:
            return out
        j = lambda n: os.path.join(d, n)  # noqa: E731
        # CFQ's files when present, else BFQ's, else the throttle layer's.
        for prefix in ("blkio.", "blkio.bfq.", "blkio.throttle."):
            if _blkio_entries(j(prefix + "io_serviced_recursive")) or \
                    prefix == "blkio.throttle.":
                break
        out["ioServiceBytesRecursive"] = _blkio_entries(
            j(prefix + "io_service_bytes_recursive"))
        out["ioServicedRecursive"] = _blkio_entries(
            j(prefix + "io_serviced_recursive"))
        if prefix != "blkio.throttle.":
            for key, name in (("ioQueueRecursive", "io_queued_recursive"),
                              ("ioServiceTimeRecursive",
                               "io_service_time_recursive"),
                              ("ioWaitTimeRecursive",
                               "io_wait_time_recursive"),
                              ("ioMergedRecursive", "io_merged_recursive")):
                out[key] = _blkio_entries(j(prefix + name))
        return out

    @staticmethod
    def _io_stat(path, out):
        for line in _read_or(path).splitlines():
            parts = line.split()
            if not parts or ":" not in parts[0]:
                continue
            major, minor = (int(x) for x in parts[0].split(":"))
            kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            for key, name, op in (("ioServiceBytesRecursive", "rbytes",
                                   "Read"),
                                  ("ioServiceBytesRecursive", "wbytes",
                                   "Write"),
                                  ("ioServicedRecursive", "rios", "Read"),
                                  ("ioServicedRecursive", "wios", "Write")):
                if name in kv:
                    out[key].append({"major": major, "minor": minor,
                                     "op": op, "value": int(kv[name])})

    def hugetlb(self):
        d = self.cg._dir("hugetlb")
        out = {}
        if not d:
            return out
        for size in hugepage_sizes():
            p = f"hugetlb.{size}."
            if self.v2:
                events = _read_keyed(os.path.join(d, p + "events"))
                out[size] = {
                    "usage": _read_int(os.path.join(d, p + "current")),
                    "max": 0, "failcnt": events.get("max", 0)}
            else:
                out[size] = {
                    "usage": _read_int(os.path.join(d, p + "usage_in_bytes")),
                    "max": _read_int(os.path.join(d, p +
                                                  "max_usage_in_bytes")),
                    "failcnt": _read_int(os.path.join(d, p + "failcnt"))}
        return out
