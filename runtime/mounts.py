"""The container's root filesystem: mounts, devices, pivot_root, masked and
read-only paths.

Runs in the container's init child, in its new mount namespace, as runc
builds it: ``prepare_rootfs`` (propagation, the rootfs bound on itself, the
spec's mounts in order, default and spec devices) before the createRuntime
hooks, ``pivot_root`` after the createContainer hooks, then
``finish_rootfs`` (read-only and masked paths, read-only root).

Every mount destination is resolved inside the rootfs, symlinks included,
and never leaves it (``secure_join``); the mount itself goes through an
``openat2(RESOLVE_IN_ROOT)`` handle on the resolved target so that a swapped
symlink cannot redirect it.

The option parsing, path resolution and plans are pure functions, tested
without root in tests/unit/test_mounts.py.
"""
import errno
import os
import stat

from runtime.errors import InvalidSpecError, ProcessError, UnsupportedError
from sentry import _sys

# option → (set?, flag) - mount(8) "FILESYSTEM-INDEPENDENT MOUNT OPTIONS"
_FLAG_OPTS = {
    "ro": (True, _sys.MS_RDONLY), "rw": (False, _sys.MS_RDONLY),
    "suid": (False, _sys.MS_NOSUID), "nosuid": (True, _sys.MS_NOSUID),
    "dev": (False, _sys.MS_NODEV), "nodev": (True, _sys.MS_NODEV),
    "exec": (False, _sys.MS_NOEXEC), "noexec": (True, _sys.MS_NOEXEC),
    "sync": (True, _sys.MS_SYNCHRONOUS), "async": (False, _sys.MS_SYNCHRONOUS),
    "dirsync": (True, _sys.MS_DIRSYNC),
    "remount": (True, _sys.MS_REMOUNT),
    "mand": (True, _sys.MS_MANDLOCK), "nomand": (False, _sys.MS_MANDLOCK),
    "atime": (False, _sys.MS_NOATIME), "noatime": (True, _sys.MS_NOATIME),
    "diratime": (False, _sys.MS_NODIRATIME),
    "nodiratime": (True, _sys.MS_NODIRATIME),
    "relatime": (True, _sys.MS_RELATIME),
    "norelatime": (False, _sys.MS_RELATIME),
    "strictatime": (True, _sys.MS_STRICTATIME),
    "nostrictatime": (False, _sys.MS_STRICTATIME),
    "lazytime": (True, _sys.MS_LAZYTIME),
    "nolazytime": (False, _sys.MS_LAZYTIME),
    "silent": (True, _sys.MS_SILENT), "loud": (False, _sys.MS_SILENT),
    "defaults": (False, 0),
}
_PROPAGATION = {
    "private": _sys.MS_PRIVATE, "rprivate": _sys.MS_PRIVATE | _sys.MS_REC,
    "shared": _sys.MS_SHARED, "rshared": _sys.MS_SHARED | _sys.MS_REC,
    "slave": _sys.MS_SLAVE, "rslave": _sys.MS_SLAVE | _sys.MS_REC,
    "unbindable": _sys.MS_UNBINDABLE,
    "runbindable": _sys.MS_UNBINDABLE | _sys.MS_REC,
}
# Recursive attributes need mount_setattr(2): not implemented yet.
_UNSUPPORTED = ("rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev",
                "rnoexec", "rexec", "rnoatime", "ratime", "rrelatime",
                "rnorelatime", "rstrictatime", "rnostrictatime", "rnodiratime",
                "rdiratime", "idmap", "ridmap", "tmpcopyup")
# Flags a bind remount keeps from the source unless asked: statvfs(3) bits.
_ST_TO_MS = ((os.ST_NOSUID, _sys.MS_NOSUID), (os.ST_NODEV, _sys.MS_NODEV),
             (os.ST_NOEXEC, _sys.MS_NOEXEC), (os.ST_NOATIME, _sys.MS_NOATIME),
             (os.ST_NODIRATIME, _sys.MS_NODIRATIME),
             (os.ST_RELATIME, _sys.MS_RELATIME))

DEFAULT_DEVICES = (
    # path, type, major, minor, mode - "Default Devices", runtime-spec
    ("/dev/null", "c", 1, 3, 0o666), ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/full", "c", 1, 7, 0o666), ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666), ("/dev/tty", "c", 5, 0, 0o666),
)
DEFAULT_SYMLINKS = (
    ("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr"),
    ("/proc/kcore", "/dev/core"), ("pts/ptmx", "/dev/ptmx"),
)


class MountOptions:
    """``options`` of one spec mount, parsed as mount(8) does."""

    def __init__(self, flags=0, clear=0, propagation=(), data="", bind=False,
                 recursive=False):
        self.flags, self.clear = flags, clear
        self.propagation, self.data = list(propagation), data
        self.bind, self.recursive = bind, recursive

    def __repr__(self):
        return (f"MountOptions(flags={self.flags:#x}, clear={self.clear:#x}, "
                f"propagation={self.propagation}, data={self.data!r}, "
                f"bind={self.bind}, recursive={self.recursive})")


AT_FDCWD = -100


def parse_options(options, field_path="mounts"):
    """Split mount options into flags to set, flags to clear, propagation
    changes and the filesystem data string."""
    o = MountOptions()
    data = []
    for opt in options or ():
        if opt in ("bind", "rbind"):
            o.bind = True
            o.recursive = o.recursive or opt == "rbind"
        elif opt in _PROPAGATION:
            o.propagation.append(_PROPAGATION[opt])
        elif opt in _FLAG_OPTS:
            on, flag = _FLAG_OPTS[opt]
            if on:
                o.flags |= flag
                o.clear &= ~flag
            else:
                o.flags &= ~flag
                o.clear |= flag
        elif opt in _UNSUPPORTED:
            raise UnsupportedError(f"{field_path}.options",
                                   f"option {opt!r} is not supported")
        else:
            data.append(opt)
    o.data = ",".join(data)
    return o


def secure_join(root, unsafe, lstat=os.lstat, readlink=os.readlink):
    """Resolve ``unsafe`` as if ``root`` were ``/`` and return the host path.

    Symlinks are followed relative to ``root``; ``..`` never climbs above it;
    missing components are kept lexically (so the caller may create them).
    """
    root = os.path.abspath(root)
    parts = [p for p in unsafe.split("/") if p]
    done = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *done, part)
        try:
            st = lstat(host)
        except FileNotFoundError:
            done.append(part)
            continue
        except NotADirectoryError:
            done.append(part)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > 255:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), unsafe)
            target = readlink(host)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        done.append(part)
    return os.path.join(root, *done) if done else root


def mount_kind(m):
    """The kind of a spec mount: "bind" or its filesystem type."""
    typ = m.get("type") or ""
    opts = m.get("options") or ()
    if typ == "bind" or "bind" in opts or "rbind" in opts:
        return "bind"
    return typ or "none"


def plan_masked(paths, lstat=os.lstat):
    """For each masked path that exists: ``(path, "dir"|"file")``.

    "The runtime MUST mask these paths so that they cannot be read" -
    runtime-spec config-linux.md: directories get a read-only tmpfs, every
    other file a bind of /dev/null.
    """
    out = []
    for p in paths or ():
        try:
            st = lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            continue
        out.append((p, "dir" if stat.S_ISDIR(st.st_mode) else "file"))
    return out


def kept_flags(path):
    """The MS_* flags of the mount at ``path`` a bind remount must keep."""
    f = os.statvfs(path).f_flag
    return sum(ms for st, ms in _ST_TO_MS if f & st)


def _merr(field, what, dest, e):
    return ProcessError(f"{field}: {what} {dest}: {e.strerror}",
                        stage="mounts", errno=e.errno)


class _Target:
    """An O_PATH handle on a mount target resolved inside the rootfs."""

    def __init__(self, rootfs, dest, is_dir=True, create=True):
        self.host = secure_join(rootfs, dest)
        if create:
            _create(self.host, is_dir)
        rootfd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            rel = os.path.relpath(self.host, rootfs)
            self.fd = _sys.openat2(
                rootfd, rel, os.O_PATH | os.O_CLOEXEC, 0,
                _sys.RESOLVE_IN_ROOT | _sys.RESOLVE_NO_MAGICLINKS)
        finally:
            os.close(rootfd)
        real = os.readlink(f"/proc/self/fd/{self.fd}")
        if real != self.host:
            os.close(self.fd)
            raise OSError(errno.EXDEV, "mount target moved during resolution",
                          dest)
        self.proc = f"/proc/self/fd/{self.fd}"

    def close(self):
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def _create(path, is_dir):
    if os.path.lexists(path):
        return
    if is_dir:
        os.makedirs(path, 0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o755))


def rootfs_path(spec, bundle):
    """The absolute host path of the container's root."""
    root = (spec.get("root") or {}).get("path")
    if not root:
        raise InvalidSpecError("root.path", "is required")
    return os.path.realpath(os.path.join(bundle, root))


def prepare_rootfs(spec, bundle, rootfs, *, cgroup_paths=None, new_netns=True,
                   new_cgroupns=True, userns=False):
    """Build the rootfs in the (new) mount namespace, before pivot_root.

    ``cgroup_paths`` is ``{controller-set: path}`` from /proc/self/cgroup read
    before the cgroup namespace was unshared.  ``userns``: we run in the
    container's user namespace (no mknod; sysfs only with a network
    namespace it owns).
    """
    linux = spec.get("linux") or {}
    prop = linux.get("rootfsPropagation") or "rslave"
    if prop not in _PROPAGATION:
        raise InvalidSpecError("linux.rootfsPropagation",
                               f"unknown propagation {prop!r}")
    try:
        _sys.mount(None, "/", None, _PROPAGATION[prop])
    except OSError as e:
        raise _merr("linux.rootfsPropagation", "setting", "/", e) from None
    if _PROPAGATION[prop] & _sys.MS_SHARED:
        _make_parent_private(rootfs)
    try:
        # pivot_root(2) needs the new root to be a mount point.  The host
        # root itself needs no bind (nor pivot_root): a path lookup of "/"
        # would stop under the bind, and the namespace's root already is a
        # private copy of it.
        if rootfs != "/":
            _sys.mount(rootfs, rootfs, None, _sys.MS_BIND | _sys.MS_REC)
    except OSError as e:
        raise _merr("root.path", "binding", rootfs, e) from None
    mounts = spec.get("mounts") or []
    for i, m in enumerate(mounts):
        mount_one(rootfs, bundle, m, f"mounts[{i}]", cgroup_paths=cgroup_paths,
                  new_netns=new_netns, new_cgroupns=new_cgroupns,
                  userns=userns)
    dev_is_new = any(_is_dev(m) for m in mounts)
    terminal = bool((spec.get("process") or {}).get("terminal"))
    if dev_is_new:
        make_default_devices(rootfs, terminal)
    for i, d in enumerate(linux.get("devices") or []):
        make_device(rootfs, d, f"linux.devices[{i}]")
    for i, m in enumerate(mounts):
        # A read-only /dev is mounted writable for the devices, then
        # remounted (as runc does).
        if _is_dev(m) and parse_options(m.get("options")).flags \
                & _sys.MS_RDONLY:
            dev = secure_join(rootfs, "/dev")
            try:
                _sys.mount(None, dev, None, kept_flags(dev) | _sys.MS_RDONLY
                           | _sys.MS_REMOUNT)
            except OSError as e:
                raise _merr(f"mounts[{i}]", "remounting read-only", "/dev",
                            e) from None


def _is_dev(m):
    return (m.get("destination") or "").rstrip("/") == "/dev" \
        and mount_kind(m) != "bind"


def _make_parent_private(rootfs):
    """Make the mount that holds ``rootfs`` private, before the rootfs is
    bound on itself (as runc does for a shared rootfsPropagation).

    "EINVAL: The propagation type of the parent mount of new_root and the
    parent mount of the current root directory must not be MS_SHARED" -
    pivot_root(2); a bind of a private mount is private too.
    """
    best = "/"
    for mp, _fstype, _root, _opts in _mountinfo():
        if (rootfs == mp or rootfs.startswith(mp.rstrip("/") + "/")) \
                and len(mp) > len(best):
            best = mp
    try:
        _sys.mount(None, best, None, _sys.MS_PRIVATE)
    except OSError as e:
        raise _merr("linux.rootfsPropagation", "making private", best,
                    e) from None


def mount_one(rootfs, bundle, m, field, *, cgroup_paths=None, new_netns=True,
              new_cgroupns=True, userns=False):
    """Mount one spec mount under ``rootfs`` (the destination resolved
    inside it)."""
    dest = m.get("destination")
    if not isinstance(dest, str) or not dest.startswith("/"):
        # "This value MUST be an absolute path" - runtime-spec 1.0.2.
        raise InvalidSpecError(f"{field}.destination",
                               f"must be an absolute path, got {dest!r}")
    kind = mount_kind(m)
    opts = parse_options(m.get("options"), field)
    flags = opts.flags
    source = m.get("source") or kind
    if kind == "bind":
        if not os.path.isabs(source):
            source = os.path.join(bundle, source)
        try:
            is_dir = os.path.isdir(source)
            if not os.path.lexists(source):
                raise FileNotFoundError(errno.ENOENT,
                                        os.strerror(errno.ENOENT))
        except OSError as e:
            raise _merr(field, "bind source", source, e) from None
        try:
            with _Target(rootfs, dest, is_dir) as t:
                bf = _sys.MS_BIND | (_sys.MS_REC if opts.recursive else 0)
                _sys.mount(source, t.proc, None, bf)
                # A remount or propagation change needs the root of the new
                # mount: the host path reaches it, the O_PATH fd (the
                # mountpoint underneath) does not.
                if flags & ~_sys.MS_REMOUNT:
                    # Bind flags only apply on a remount - mount(2).
                    keep = kept_flags(t.host) & ~opts.clear
                    _sys.mount(None, t.host, None,
                               keep | flags | _sys.MS_BIND | _sys.MS_REMOUNT)
                for p in opts.propagation:
                    _sys.mount(None, t.host, None, p)
        except OSError as e:
            raise _merr(field, f"binding {source} on", dest, e) from None
        return
    if kind == "cgroup":
        _mount_cgroup(rootfs, dest, opts, field, cgroup_paths or {},
                      new_cgroupns)
        return
    data = opts.data
    if kind == "devpts":
        # A private devpts instance with a usable ptmx, as runc asks for.
        have = data.split(",") if data else []
        if "newinstance" not in have:
            have.append("newinstance")
        if not any(d.startswith("ptmxmode=") for d in have):
            have.append("ptmxmode=0666")
        data = ",".join(have)
    if kind == "sysfs" and not new_netns:
        flags |= _sys.MS_RDONLY
    if _is_dev(m):
        flags &= ~_sys.MS_RDONLY  # remounted read-only after the devices
    try:
        if kind in ("proc", "sysfs") and \
                os.path.islink(os.path.join(rootfs, dest.lstrip("/"))):
            # As runc: a symlink in place of /proc could point an app's
            # /proc/self lookups anywhere.
            raise OSError(errno.ELOOP, "destination is a symlink")
        with _Target(rootfs, dest, True) as t:
            try:
                _sys.mount(source, t.proc, kind, flags & ~_sys.MS_REMOUNT,
                           data or None)
            except PermissionError:
                # "sysfs" needs CAP_SYS_ADMIN over the network namespace:
                # a user namespace that does not own it binds the host's
                # /sys instead, as runc does.
                if not (userns and kind == "sysfs"):
                    raise
                _sys.mount("/sys", t.proc, None, _sys.MS_BIND | _sys.MS_REC)
                _sys.mount(None, t.host, None, kept_flags(t.host)
                           | (flags & ~_sys.MS_REMOUNT) | _sys.MS_BIND
                           | _sys.MS_REMOUNT)
            for p in opts.propagation:
                _sys.mount(None, t.host, None, p)
    except OSError as e:
        raise _merr(field, f"mounting {kind} on", dest, e) from None


def read_cgroup_paths(text=None):
    """Parse /proc/self/cgroup into ``{"cpu,cpuacct": "/path", "": "/"}``."""
    if text is None:
        with open("/proc/self/cgroup") as f:
            text = f.read()
    out = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            out[parts[1]] = parts[2]
    return out


def cgroup_mode(mountinfo=None):
    """"v2" when /sys/fs/cgroup is a cgroup2 mount, else "v1" (hybrid too)."""
    for mp, fstype, _root, _opts in _mountinfo(mountinfo):
        if mp == "/sys/fs/cgroup":
            return "v2" if fstype == "cgroup2" else "v1"
    return "v1"


def _mountinfo(text=None):
    if text is None:
        with open("/proc/self/mountinfo") as f:
            text = f.read()
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        lf, rf = left.split(), right.split()
        if len(lf) >= 5 and len(rf) >= 3:
            yield (_unescape(lf[4]), rf[0], _unescape(lf[3]), rf[2])


def _unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t") \
            .replace("\\012", "\n").replace("\\134", "\\")


def plan_cgroup_v1(cgroup_paths, mountinfo=None):
    """``[(host_dir, name)]``: the container's own directory in every v1
    hierarchy, named like its host mount point under /sys/fs/cgroup."""
    out = []
    for mp, fstype, root, opts in _mountinfo(mountinfo):
        if fstype != "cgroup" or not mp.startswith("/sys/fs/cgroup/"):
            continue
        names = set(opts.split(","))
        for key, path in cgroup_paths.items():
            if key and set(key.split(",")) <= names:
                rel = os.path.relpath(path, root) if root != "/" else path
                if rel.startswith(".."):
                    continue
                out.append((os.path.join(mp, rel.lstrip("/")),
                            os.path.basename(mp)))
                break
    return out


def _mount_cgroup(rootfs, dest, opts, field, cgroup_paths, new_cgroupns):
    ro = opts.flags & _sys.MS_RDONLY
    try:
        if cgroup_mode() == "v2":
            with _Target(rootfs, dest, True) as t:
                if new_cgroupns:
                    # The namespace's root is the container's cgroup.
                    _sys.mount("cgroup2", t.proc, "cgroup2",
                               opts.flags & ~_sys.MS_REMOUNT, None)
                    return
                # Without one, a fresh mount would show the host's whole
                # tree: bind the container's own directory instead.
                own = "/sys/fs/cgroup" + cgroup_paths.get("", "/")
                _sys.mount(own, t.proc, None, _sys.MS_BIND)
                _sys.mount(None, t.host, None, opts.flags | _sys.MS_BIND
                           | _sys.MS_REMOUNT)
            return
        base = opts.flags & ~(_sys.MS_RDONLY | _sys.MS_REMOUNT)
        with _Target(rootfs, dest, True) as t:
            _sys.mount("tmpfs", t.proc, "tmpfs", base, "mode=755")
        for host_dir, name in plan_cgroup_v1(cgroup_paths):
            sub = os.path.join(dest, name)
            with _Target(rootfs, sub, True) as t:
                _sys.mount(host_dir, t.proc, None, _sys.MS_BIND | _sys.MS_REC)
                _sys.mount(None, t.host, None,
                           base | _sys.MS_BIND | _sys.MS_REMOUNT
                           | (_sys.MS_RDONLY if ro else 0))
        # Keep the host's compatibility links (cpu -> cpu,cpuacct).
        for name in sorted(os.listdir("/sys/fs/cgroup")):
            hp = os.path.join("/sys/fs/cgroup", name)
            if os.path.islink(hp):
                link = secure_join(rootfs, os.path.join(dest, name))
                if not os.path.lexists(link):
                    os.symlink(os.readlink(hp), link)
        if ro:
            _sys.mount(None, secure_join(rootfs, dest), None,
                       base | _sys.MS_RDONLY | _sys.MS_REMOUNT)
    except OSError as e:
        raise _merr(field, "mounting cgroup on", dest, e) from None


def make_default_devices(rootfs, terminal=False):
    """The runtime-spec's default devices, /dev symlinks and /dev/shm."""
    for path, typ, major, minor, mode in DEFAULT_DEVICES:
        _mknod(rootfs, path, typ, major, minor, mode, 0, 0, "devices")
    for target, link in DEFAULT_SYMLINKS:
        host = secure_join(rootfs, link)
        if not os.path.lexists(host):
            try:
                os.symlink(target, host)
            except OSError as e:
                raise _merr("devices", "creating symlink", link, e) from None
    for d in ("/dev/shm", "/dev/pts"):
        os.makedirs(secure_join(rootfs, d), 0o755, exist_ok=True)
    if terminal:
        # The pty slave is bound here after pivot_root (console.py).
        _create(secure_join(rootfs, "/dev/console"), False)


def make_device(rootfs, d, field):
    """Create one ``linux.devices`` entry."""
    path = d.get("path")
    typ = d.get("type")
    if not path or not path.startswith("/"):
        raise InvalidSpecError(f"{field}.path",
                               f"must be absolute, got {path!r}")
    if typ not in ("c", "u", "b", "p"):
        raise InvalidSpecError(f"{field}.type", f"unknown device type {typ!r}")
    mode = d.get("fileMode", 0o666)
    _mknod(rootfs, path, typ, d.get("major", 0), d.get("minor", 0), mode,
           d.get("uid", 0), d.get("gid", 0), field)


def _mknod(rootfs, path, typ, major, minor, mode, uid, gid, field):
    host = secure_join(rootfs, path)
    fmt = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK,
           "p": stat.S_IFIFO}[typ]
    try:
        os.makedirs(os.path.dirname(host), 0o755, exist_ok=True)
        if os.path.lexists(host):
            os.unlink(host)
        try:
            os.mknod(host, fmt | (mode & 0o7777), os.makedev(major, minor))
        except PermissionError:
            # No CAP_MKNOD in the initial user namespace (we are in the
            # container's): bind the host's node of the same path, as runc
            # does; its owner and mode stay the host's.
            if typ == "p":
                raise
            _create(host, False)
            with _Target(rootfs, path, False, create=False) as t:
                _sys.mount(path, t.proc, None, _sys.MS_BIND)
            return
        os.chmod(host, mode & 0o7777)
        os.chown(host, uid, gid)
    except OSError as e:
        raise _merr(field, "creating device", path, e) from None


def pivot_root(rootfs):
    """pivot_root into ``rootfs`` and detach the old root.

    pivot_root(".", ".") stacks the old root on top of the new one; making it
    a slave and lazily unmounting it leaves only the new root (the trick
    runc and lxc use: no temporary directory inside the rootfs).
    """
    if rootfs == "/":
        # The host root as the container's (``runsc do``): the new mount
        # namespace's root already is a private copy of it.
        os.chdir("/")
        return
    oldroot = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    newroot = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(newroot)
        _sys.pivot_root(".", ".")
        os.fchdir(oldroot)
        _sys.mount(None, ".", None, _sys.MS_SLAVE | _sys.MS_REC)
        _sys.umount2(".", _sys.MNT_DETACH)
        os.chdir("/")
    except OSError as e:
        raise ProcessError(f"root.path: pivot_root to {rootfs}: {e.strerror}",
                           stage="pivot_root", errno=e.errno) from None
    finally:
        os.close(oldroot)
        os.close(newroot)


def finish_rootfs(spec):
    """After pivot_root: read-only paths, masked paths, read-only root."""
    linux = spec.get("linux") or {}
    for i, p in enumerate(linux.get("readonlyPaths") or []):
        try:
            readonly_path(p)
        except OSError as e:
            raise _merr(f"linux.readonlyPaths[{i}]", "making read-only", p,
                        e) from None
    masked = linux.get("maskedPaths") or []
    for p, kind in plan_masked(masked):
        try:
            if kind == "dir":
                _sys.mount("tmpfs", p, "tmpfs", _sys.MS_RDONLY, None)
            else:
                _sys.mount("/dev/null", p, None, _sys.MS_BIND)
        except OSError as e:
            i = masked.index(p)
            raise _merr(f"linux.maskedPaths[{i}]", "masking", p, e) from None
    if (spec.get("root") or {}).get("readonly"):
        readonly_root(spec)


def readonly_root(spec):
    """Make the root read-only all the way down, but not the spec's mounts.

    N.B. runc remounts only the root mount.  A root that carries submounts
    (the host root of ``pyrunsc do``, an rbind-ed tree) would then leave
    them writable from the container; mount_setattr(2) with AT_RECURSIVE
    makes the whole tree read-only, and the spec's own mounts that were
    writable get their rw back, with the writable mounts below them (the
    device nodes bound into /dev in a user namespace, an rbind's
    submounts), as runc leaves them.
    """
    writable = []
    for m in spec.get("mounts") or []:
        dest = m.get("destination")
        try:
            if dest and not os.statvfs(dest).f_flag & os.ST_RDONLY:
                writable.append(dest)
        except OSError:
            continue
    keep = list(writable)
    for mp, _fstype, _root, _opts in _mountinfo():
        if mp in keep or not any(mp.startswith(d.rstrip("/") + "/")
                                 for d in writable):
            continue
        try:
            if not os.statvfs(mp).f_flag & os.ST_RDONLY:
                keep.append(mp)
        except OSError:
            continue
    try:
        _sys.mount(None, "/", None, kept_flags("/") | _sys.MS_RDONLY
                   | _sys.MS_BIND | _sys.MS_REMOUNT)
        _sys.mount_setattr(AT_FDCWD, "/", _sys.AT_RECURSIVE,
                           _sys.MOUNT_ATTR_RDONLY)
    except OSError as e:
        raise _merr("root.readonly", "remounting", "/", e) from None
    for dest in keep:
        try:
            _sys.mount_setattr(AT_FDCWD, dest, 0, 0, _sys.MOUNT_ATTR_RDONLY)
        except OSError as e:
            raise _merr("root.readonly", "keeping writable", dest, e) \
                from None


def readonly_path(p):
    try:
        _sys.mount(p, p, None, _sys.MS_BIND | _sys.MS_REC)
    except FileNotFoundError:
        return
    _sys.mount(None, p, None, kept_flags(p) | _sys.MS_RDONLY | _sys.MS_BIND
               | _sys.MS_REMOUNT)
