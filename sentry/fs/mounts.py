"""The container's mount table in the sentry, and the slow path of path
resolution across mounts (docs/architecture.md "The mount table and special
filesystems").

The table is built from ``/proc/<init pid>/mountinfo`` of the container's
init after it set up its mounts: that file is the truth, the spec only asks
for them.  Each mount is served by one backend: ``gofer`` (the rootfs and
bind mounts), ``local`` (kernel mounts of the app's mount namespace: tmpfs,
devpts, mqueue, cgroup...) or ``special`` (proc, sysfs, the ``/dev`` mount).

``Resolver.canonical`` is the slow path the emulation layer takes (with the
GIL) when a path has ``.``/``..`` or a symlink on the way: it walks one name
at a time as Linux does - path_resolution(7) - with ``..`` at a mount root
going to the mount point's parent and ``..`` at ``/`` staying at ``/``,
symlinks followed from the mount that holds them, 40 at most (ELOOP).
"""

import errno
import os
import stat
from dataclasses import dataclass, field

GOFER, LOCAL, SPECIAL = "gofer", "local", "special"
KINDS = {GOFER: 0, LOCAL: 1, SPECIAL: 2}
MAXSYMLINKS = 40
# fstypes that only exist in the app's mount namespace
_LOCAL_TYPES = {"tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "shm",
                "ramfs", "hugetlbfs", "bpf", "securityfs", "debugfs",
                "tracefs", "fusectl", "configfs", "binfmt_misc", "pstore",
                "nsfs", "devtmpfs", "overlay"}


def _unescape(s):
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) + 0 and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


@dataclass
class Mount:
    point: str                  # absolute path inside the container
    fstype: str
    source: str = ""
    options: tuple = ()
    readonly: bool = False
    kind: str = GOFER
    special: str = ""           # "proc", "sys", "dev" when kind is special

    def to_dict(self):
        return {"point": self.point, "fstype": self.fstype,
                "source": self.source, "options": list(self.options),
                "readonly": self.readonly, "kind": self.kind,
                "special": self.special}


@dataclass
class MountTable:
    entries: list = field(default_factory=list)

    @classmethod
    def from_mountinfo(cls, text, gofer_points=None):
        """Parse mountinfo(5) text of a process whose root is the
        container's root.  Later mounts on the same point hide earlier
        ones; mounts outside the root (shown with an unreachable path) are
        skipped.

        ``gofer_points``: the spec's bind mount destinations (what the gofer
        serves).  A bind of a host tmpfs is a gofer mount although its
        fstype says tmpfs; a mount below a gofer mount that the spec does
        not name (carried along by rbind) is the gofer's too.  Without it
        the fstype decides (tests)."""
        points = None
        if gofer_points is not None:
            points = {os.path.normpath(p) for p in gofer_points}
        by_point = {}
        for line in text.splitlines():
            parts = line.split()
            if " - " not in line or len(parts) < 10:
                continue
            sep = parts.index("-")
            point = _unescape(parts[4])
            if not point.startswith("/"):
                continue
            opts = tuple(parts[5].split(","))
            fstype = parts[sep + 1]
            source = _unescape(parts[sep + 2]) if len(parts) > sep + 2 else ""
            m = Mount(point=os.path.normpath(point), fstype=fstype,
                      source=source, options=opts, readonly="ro" in opts)
            if point == "/":
                m.kind = GOFER
            elif fstype == "proc":
                m.kind, m.special = SPECIAL, "proc"
            elif fstype == "sysfs":
                m.kind, m.special = SPECIAL, "sys"
            elif point == "/dev":
                m.kind, m.special = SPECIAL, "dev"
            elif points is not None and m.point in points:
                m.kind = GOFER
            elif fstype in _LOCAL_TYPES or point.startswith("/proc/") or \
                    point.startswith("/sys/"):
                # masked /proc paths (/dev/null binds, tmpfs), cgroupfs
                m.kind = LOCAL
            else:
                m.kind = GOFER          # bind mounts of host directories
            if points is not None and m.kind != GOFER and \
                    m.point not in points and not m.point.startswith(
                        ("/proc/", "/sys/", "/dev/")):
                parent = cls(list(by_point.values())).lookup(m.point)
                if parent is not None and parent.kind == GOFER and \
                        parent.point != "/":
                    m.kind = GOFER      # a host submount of a bind mount
            by_point[m.point] = m       # the last one on a point wins
        if "/" not in by_point:
            by_point["/"] = Mount(point="/", fstype="rootfs")
        entries = sorted(by_point.values(), key=lambda m: m.point)
        _nest_specials(entries)
        return cls(entries)

    @classmethod
    def from_dicts(cls, dicts):
        return cls([Mount(**{**d, "options": tuple(d.get("options", ()))})
                    for d in dicts])

    def to_dicts(self):
        return [m.to_dict() for m in self.entries]

    def lookup(self, path):
        """The mount whose point is the longest prefix of ``path`` (an
        absolute, symlink-free path)."""
        best = None
        for m in self.entries:
            p = m.point
            if p == "/" or path == p or path.startswith(p + "/"):
                if best is None or len(p) > len(best.point):
                    best = m
        return best

    def is_mount_point(self, path):
        return any(m.point == path for m in self.entries)


def _nest_specials(entries):
    """A special mount inside another of its kind (runc's readonlyPaths
    bind /proc/sys, /proc/bus... read-only over themselves) names the outer
    one and the path below it, ``special = "proc/sys"``: sentry.fs.special
    sees every path below the outermost mount of a kind
    (docs/architecture.md).  ``entries`` are sorted by point."""
    for m in entries:
        if m.kind != SPECIAL:
            continue
        for o in entries:
            if o is m or o.kind != SPECIAL or o.special != m.special:
                continue
            if m.point.startswith(o.point.rstrip("/") + "/"):
                m.special = o.special + m.point[len(o.point.rstrip("/")):]
                break


@dataclass
class SpecialCtx:
    """What ``sentry.fs.special.serve`` gets to know about the caller."""
    tid: int
    pid: int
    init_pid: int
    root_fd: int
    mounts: MountTable
    memory_limit: object = None
    cpu_quota: object = None
    devices: list = field(default_factory=list)
    cid: str = ""


def _tgid(tid):
    try:
        with open(f"/proc/{tid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return tid


class Resolver:
    """The slow path of resolution for one container view.

    ``gofs`` is a ``sentry.gofer.client.GoferFs`` (None in directfs mode:
    every mount is then looked at through the app's root fd)."""

    def __init__(self, table, gofs=None):
        self.table = table
        self.gofs = gofs

    def _lstat(self, root_fd, path):
        m = self.table.lookup(path)
        if m.kind == GOFER and self.gofs is not None:
            a = self.gofs.lstat(path)
            return a.mode
        return os.lstat(f"/proc/self/fd/{root_fd}{path}").st_mode

    def _readlink(self, root_fd, path):
        m = self.table.lookup(path)
        if m.kind == GOFER and self.gofs is not None:
            t = self.gofs.readlink(path)
        else:
            t = os.readlink(f"/proc/self/fd/{root_fd}{path}")
        return os.fsdecode(t) if isinstance(t, bytes) else t

    def canonical(self, root_fd, path, follow=True):
        """The symlink-free absolute path that ``path`` names, or -errno.

        The last name may be missing (a create); a trailing slash requires a
        directory.  Special mounts are not looked into: a path that enters
        one keeps its rest as written (lexically cleaned), for
        ``sentry.fs.special`` or the kernel to resolve.
        """
        try:
            return self._canonical(root_fd, path, follow)
        except OSError as e:
            return -(e.errno or errno.EIO)

    def _canonical(self, root_fd, path, follow):
        trailing = path.endswith("/") and path.strip("/") != ""
        todo = [p for p in path.split("/") if p not in ("", ".")]
        todo.reverse()
        cur = []
        links = 0
        while todo:
            name = todo.pop()
            if name == "..":
                if cur:
                    cur.pop()
                continue
            cur.append(name)
            p = "/" + "/".join(cur)
            m = self.table.lookup(p)
            if m.kind == SPECIAL and p != m.point:
                # the rest is the special filesystem's (or the kernel's)
                rest = [n for n in reversed(todo)]
                out = []
                for n in cur + rest:
                    if n == "..":
                        if out:
                            out.pop()
                    else:
                        out.append(n)
                return "/" + "/".join(out)
            last = not todo
            try:
                mode = self._lstat(root_fd, p)
            except OSError as e:
                if e.errno == errno.ENOENT and last:
                    return p
                raise
            if stat.S_ISLNK(mode) and (not last or follow or trailing):
                links += 1
                if links > MAXSYMLINKS:
                    raise OSError(errno.ELOOP, "too many links")
                target = self._readlink(root_fd, p)
                cur.pop()
                if target.startswith("/"):
                    cur = []
                parts = [n for n in target.split("/") if n not in ("", ".")]
                todo.extend(reversed(parts))
                continue
            if not last and not stat.S_ISDIR(mode):
                raise OSError(errno.ENOTDIR, "not a directory")
            if last and trailing and not stat.S_ISDIR(mode):
                raise OSError(errno.ENOTDIR, "not a directory")
        return "/" + "/".join(cur)


def read_table(pid, gofer_points=None):
    """The mount table of process ``pid`` (its mountinfo)."""
    with open(f"/proc/{pid}/mountinfo", encoding="utf-8",
              errors="surrogateescape") as f:
        return MountTable.from_mountinfo(f.read(), gofer_points)


def new_view(init_pid, gofer_socks=None, *, table=None, ctx_args=None,
             log=None, gofer_points=None, dcache=None):
    """The emulation layer's view of a container (``_core.View``).

    ``gofer_points``: the spec's bind mount destinations (see
    ``MountTable.from_mountinfo``).
    ``gofer_socks``: ``(fast, slow)`` connected SOCK_SEQPACKET sockets to
    the container's gofer (the nogil fast path's and the Python client's),
    or None for directfs.  ``table`` defaults to ``read_table(init_pid)``.
    ``dcache``: slots of the gofer directory cache (None: the default, 0:
    none; sentry/emulate/dcache.pxi).
    """
    from sentry.emulate._core import View, DCACHE_DEFAULT
    if table is None:
        table = read_table(init_pid, gofer_points)
    fast = gofs = None
    if gofer_socks:
        from sentry.gofer._fast import FastConn
        from sentry.gofer.client import Client, GoferFs
        fast = FastConn(gofer_socks[0])
        gofs = GoferFs(Client(gofer_socks[1]))
    args = {"init_pid": init_pid, **(ctx_args or {})}
    return View(table, fast, gofs, ctx_args=args, log=log,
                dcache=DCACHE_DEFAULT if dcache is None else dcache)
