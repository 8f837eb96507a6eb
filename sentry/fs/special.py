"""The filesystems the sentry serves itself: ``/proc``, ``/sys``, ``/dev``.

``serve(ctx, kind, relpath, op, flags, mode)`` is the one call the
emulation layer makes for a path whose mount is special (contract:
docs/architecture.md "The call into the special filesystems").  It answers

* synthesized files (``/proc/meminfo``, ``cpuinfo``, ``stat``, ``uptime``,
  ``loadavg``, ``/sys/devices/system/cpu/online``...; sentry.fs.procfs and
  sentry.fs.sysfs) with a sealed memfd holding a snapshot taken at open,
  reopened read-only, as a seq file snapshots its content;
* ``/proc/self``, ``/proc/thread-self``, ``/proc/net``, ``/proc/mounts``
  with the caller's pid as the container's pid namespace numbers it, and
  the magic links ``<pid>/{fd/N,exe,cwd,root}`` by opening what they name,
  after checking that it lies inside the container (a file outside, e.g.
  an fd inherited from the host, is EACCES; pipes and sockets are fine);
* ``/proc/sys/*`` and ``/proc/sysvipc/*``, whose content depends on the
  opener's network, UTS and IPC namespaces: opened by a worker thread that
  joined the container's namespaces with setns(2) (per thread for those
  types), with the caller's fsuid, fsgid, groups and effective
  capabilities; ``/proc/sys`` is read-only for the app (EROFS);
* ``/dev`` nodes after the container's device rules (sentry.fs.devfs), and
  ``/dev/tty`` as the caller's controlling terminal.

Everything else answers None: the emulation layer then serves the path
through the app's root fd, i.e. the kernel's procfs, sysfs and /dev in the
container's own namespaces.
"""
import errno
import logging
import os
import queue
import re
import signal
import stat as _stat
import threading

from sentry import _sys
from sentry.fs import devfs, procfs, sysfs

log = logging.getLogger("sentry")

O_PATH = os.O_PATH
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
_RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC
_MAGIC = ("exe", "cwd", "root")
# /proc files that describe the opener's namespaces rather than a pid's
_NS_DIRS = ("sys", "sysvipc")
_NS_TYPES = (("net", 0x40000000), ("uts", 0x04000000), ("ipc", 0x08000000),
             ("cgroup", 0x02000000))
_IDLE = 30.0
_OPS = ("open", "stat", "lstat", "readlink", "content")


def serve(ctx, kind, relpath, op, flags=0, mode=0):
    """``fd`` | ``bytes`` | ``-errno`` | None (see the module docstring)."""
    try:
        if op == "sched_getaffinity":
            return sched_getaffinity(ctx, int(relpath or 0), flags)
        if op not in _OPS:
            return None
        if "/" in kind:
            # an inner mount of the kind ("proc/sys"): paths below the
            # outermost one
            kind, sub = kind.split("/", 1)
            relpath = f"{sub}/{relpath}" if relpath else sub
        if kind == "proc":
            return _proc(ctx, relpath, op, flags)
        if kind == "sys":
            return _sysfs(ctx, relpath, op, flags)
        if kind == "dev":
            return _dev(ctx, relpath, op, flags)
        return None
    except OSError as e:
        return -(e.errno or errno.EIO)


# -- helpers -------------------------------------------------------------

def _mount_point(ctx, kind):
    mounts = getattr(ctx, "mounts", None)
    for m in getattr(mounts, "entries", None) or ():
        if m.kind == "special" and m.special == kind:
            return m.point
    return {"proc": "/proc", "sys": "/sys", "dev": "/dev"}[kind]


def _ns_ids(tid):
    """(tgid, tid) of ``tid`` as its own pid namespace numbers them: the
    last NStgid and NSpid fields of /proc/<tid>/status."""
    tgid = ntid = None
    with open(f"/proc/{tid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"NStgid:"):
                tgid = int(line.split()[-1])
            elif line.startswith(b"NSpid:"):
                ntid = int(line.split()[-1])
    if tgid is None or ntid is None:
        raise OSError(errno.ESRCH, "no such task")
    return tgid, ntid


def _write_sealed(fd, data):
    """Write all of ``data`` into memfd ``fd``, then seal it for good."""
    import fcntl
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE
                | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)


def memfd(name, data):
    """A read-only fd of a sealed memfd holding ``data``."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        _write_sealed(fd, data)
        return os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(fd)


def _synth(name, data, op, flags):
    """A synthesized file: ``open`` → a memfd, ``content`` → the bytes
    (ptrace: the app creates the memfd, ``fill_memfd`` fills it)."""
    if data is None:
        return None
    if op not in ("open", "content"):
        return None         # the kernel's file has the right attributes
    if flags & os.O_DIRECTORY:
        return -errno.ENOTDIR
    if flags & _WRITE:
        return -errno.EACCES
    if flags & O_PATH:
        return None
    return data if op == "content" else memfd(name, data)


_fills = {}


def stage_fill(tid, data):
    """ptrace: the content of the memfd thread ``tid`` is creating."""
    with _lock:
        _fills[tid] = data


def fill_memfd(tid, fd):
    """ptrace, at the exit of the memfd_create(2) an open of a synthesized
    file became: write the staged content into the app's ``fd`` and seal
    it.  Returns the call's result: ``fd``, or -errno."""
    with _lock:
        data = _fills.pop(tid, None)
    if data is None:
        return -errno.EIO
    try:
        w = os.open(f"/proc/{tid}/fd/{fd}", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return -(e.errno or errno.EIO)
    try:
        _write_sealed(w, data)
    except OSError as e:
        return -(e.errno or errno.EIO)
    finally:
        os.close(w)
    return fd


def _root_prefix(ctx):
    """The root's own path when the app shares our mount namespace (its
    fd paths then start with it), else "" (the kernel prints container
    paths)."""
    try:
        own = (os.stat(f"/proc/{ctx.pid}/ns/mnt").st_ino
               != os.stat("/proc/self/ns/mnt").st_ino)
    except OSError:
        own = True
    if own:
        return ""
    p = os.readlink(f"/proc/self/fd/{ctx.root_fd}")
    return "" if p == "/" else p


def _strip(ctx, path):
    """A path the kernel printed for an app file, as the container sees it;
    None when it lies outside the root."""
    prefix = _root_prefix(ctx)
    if not prefix:
        return path
    if path == prefix:
        return "/"
    if path.startswith(prefix + "/"):
        return path[len(prefix):]
    return None


def _kernel_path(ctx, point, rel):
    """Our path of ``<point>/<rel>`` in the container's procfs, walked from
    the root fd.  Only kernel-made names follow the mount point."""
    return f"/proc/self/fd/{ctx.root_fd}{point}/{rel}"


def _inside(ctx, fd, link):
    """Whether the file ``fd`` (opened through the magic link ``link``)
    lies inside the container's root."""
    target = os.readlink(link)
    if not target.startswith("/"):
        return True         # pipe:[..], socket:[..], anon_inode:[..]
    if target.endswith(" (deleted)"):
        return True         # unlinked: only reachable through the fd
    cpath = _strip(ctx, target)
    if cpath is None:
        return False
    try:
        chk = _sys.openat2(ctx.root_fd, cpath, O_PATH | os.O_CLOEXEC,
                           0, _RESOLVE)
    except OSError:
        return False
    try:
        a, b = os.fstat(chk), os.fstat(fd)
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    finally:
        os.close(chk)


# -- /proc ---------------------------------------------------------------

def _proc(ctx, relpath, op, flags):
    parts = relpath.split("/") if relpath else []
    if not parts:
        return None
    head = parts[0]
    if op == "readlink" and len(parts) == 1:
        if head == "self":
            return str(_ns_ids(ctx.tid)[0]).encode()
        if head == "thread-self":
            tgid, tid = _ns_ids(ctx.tid)
            return f"{tgid}/task/{tid}".encode()
        return None         # net, mounts...: the kernel's links are right
    if len(parts) == 1 and head in procfs.FILES:
        return _synth(head, procfs.FILES[head](ctx), op, flags)
    if op == "content":
        return None         # only synthesized files have one
    if op == "lstat" and len(parts) == 1:
        return None         # the links themselves
    # symlinks of /proc that name the caller
    if head == "self":
        parts = [str(_ns_ids(ctx.tid)[0])] + parts[1:]
    elif head == "thread-self":
        tgid, tid = _ns_ids(ctx.tid)
        parts = [str(tgid), "task", str(tid)] + parts[1:]
    elif head == "net":
        parts = [str(_ns_ids(ctx.tid)[0]), "net"] + parts[1:]
    elif head == "mounts" and len(parts) == 1:
        parts = [str(_ns_ids(ctx.tid)[0]), "mounts"]
    translated = parts[0] != head
    if op == "open" and not flags & (O_PATH | _WRITE | os.O_DIRECTORY):
        mapper = (map_status_ids if _is_status(parts) else
                  _net_mapper(parts[2]) if _is_net_uids(parts) else None)
        r = None if mapper is None else _ids_as_app(ctx, parts, flags, mapper)
        if r is not None:
            return r
    if head in _NS_DIRS:
        if op == "open" and flags & _WRITE and head == "sys":
            return -errno.EROFS
        return _in_container(ctx, lambda: _open_kernel(
            ctx, "/".join(parts), op, flags))
    if parts[0].isdigit():
        m = _magic(parts)
        if m is not None:
            if op == "readlink" and m == len(parts):
                return _readlink_magic(ctx, "/".join(parts))
            if op == "readlink":
                return None if not translated else _in_container(
                    ctx, lambda: _follow_magic(ctx, parts, m, op, flags))
            return _in_container(ctx, lambda: _follow_magic(
                ctx, parts, m, op, flags))
    if not translated:
        if parts[0].isdigit() and op != "readlink" and \
                int(parts[0]) != _ns_ids(ctx.tid)[0]:
            # another process's files: ptrace_may_access(2) and the file
            # modes judge the caller, not the sentry (CAP_SYS_PTRACE)
            return _in_container(ctx, lambda: _open_kernel(
                ctx, "/".join(parts), op, flags))
        return None
    if op == "readlink":
        try:
            return os.fsencode(os.readlink(_kernel_path(
                ctx, _mount_point(ctx, "proc"), "/".join(parts))))
        except OSError as e:
            return -e.errno
    return _in_container(ctx, lambda: _open_kernel(ctx, "/".join(parts), op,
                                                   flags))


def _is_status(parts):
    """``<pid>/status`` or ``<pid>/task/<tid>/status``."""
    return parts[0].isdigit() and parts[-1] == "status" and (
        len(parts) == 2 or (len(parts) == 4 and parts[1] == "task"
                            and parts[2].isdigit()))


# /proc/net files whose 8th column is a socket's owner uid (tcp, udp, raw
# and ping sockets: "uid"; packet sockets: "User").
_NET_UID_FILES = frozenset(("tcp", "tcp6", "udp", "udp6", "udplite",
                            "udplite6", "raw", "raw6", "icmp", "icmp6",
                            "packet"))


def _is_net_uids(parts):
    """``<pid>/net/<one of _NET_UID_FILES>``."""
    return (len(parts) == 3 and parts[0].isdigit() and parts[1] == "net"
            and parts[2] in _NET_UID_FILES)


def _net_mapper(name):
    return lambda tid, data: map_net_uids(tid, data, left=name == "packet")


def _ids_as_app(ctx, parts, flags, mapper):
    """A file that names owners, for a caller in a user namespace: the
    kernel prints them as the opener (the sentry) numbers them, so the
    content goes through ``mapper(tid, data)``.  None: no namespace."""
    from sentry.emulate._core import ids_to_app
    if ids_to_app(ctx.tid, (), ()) is None:
        return None
    fd = _in_container(ctx, lambda: _open_kernel(ctx, "/".join(parts),
                                                 "open", os.O_RDONLY))
    if fd < 0:
        return fd
    chunks = []
    try:
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
    finally:
        os.close(fd)
    return _synth(parts[-1], mapper(ctx.tid, b"".join(chunks)), "open",
                  flags)


def map_status_ids(tid, data):
    """``data`` of a status file with its Uid, Gid and Groups lines as
    thread ``tid``'s user namespace shows them."""
    from sentry.emulate._core import ids_to_app
    out = []
    for line in data.split(b"\n"):
        key, sep, rest = line.partition(b":")
        if sep and key in (b"Uid", b"Gid", b"Groups"):
            ids = [int(x) for x in rest.split()]
            uids, gids = ids_to_app(tid, ids if key == b"Uid" else (),
                                    () if key == b"Uid" else ids) or (ids, ids)
            new = uids if key == b"Uid" else gids
            sep_ = b"\t" if key != b"Groups" else b" "
            line = key + b":\t" + sep_.join(str(v).encode() for v in new)
            if key == b"Groups":
                line += b" "
        out.append(line)
    return b"\n".join(out)


def map_net_uids(tid, data, left=False):
    """``data`` of a /proc/net socket table with its uid column (the 8th:
    ``%5u``, packet's ``%-6u`` when ``left``) as thread ``tid``'s user
    namespace shows it; the header line stays."""
    from sentry.emulate._core import ids_to_app
    lines = data.split(b"\n")
    out = lines[:1]
    for line in lines[1:]:
        cols = list(re.finditer(rb"\S+", line))
        if len(cols) > 8 and cols[7].group().isdigit():
            uid = str(ids_to_app(tid, [int(cols[7].group())], ())[0][0])
            if left:    # "%-6u %-6lu": the padding follows the value
                line = (line[:cols[7].start()] + uid.ljust(6).encode() + b" "
                        + line[cols[8].start():])
            else:       # "%08X %5u %8d": it precedes it
                line = (line[:cols[6].end()] + b" " + uid.rjust(5).encode()
                        + line[cols[7].end():])
        out.append(line)
    return b"\n".join(out)


def _magic(parts):
    """How many leading names of ``parts`` (``<pid>/...``) end at a magic
    link (``exe``, ``cwd``, ``root``, ``fd/N``, also below
    ``task/<tid>``), else None."""
    i = 1
    if len(parts) > 3 and parts[1] == "task" and parts[2].isdigit():
        i = 3
    if len(parts) > i and parts[i] in _MAGIC:
        return i + 1
    if len(parts) > i + 1 and parts[i] == "fd" and parts[i + 1].isdigit():
        return i + 2
    return None


def _open_kernel(ctx, rel, op, flags):
    """Open ``/proc/<rel>`` of the container's procfs (no magic link on
    the way)."""
    point = _mount_point(ctx, "proc")
    path = f"{point}/{rel}"
    if op in ("stat", "lstat"):
        oflags = O_PATH | (os.O_NOFOLLOW if op == "lstat" else 0)
    else:
        oflags = flags
    return _sys.openat2(ctx.root_fd, path, oflags | os.O_CLOEXEC, 0,
                        _RESOLVE)


def _readlink_magic(ctx, rel):
    point = _mount_point(ctx, "proc")
    try:
        target = os.readlink(_kernel_path(ctx, point, rel))
    except OSError as e:
        return -e.errno
    if target.startswith("/"):
        c = _strip(ctx, target)
        if c is not None:
            target = c
    return os.fsencode(target)


def _follow_magic(ctx, parts, m, op, flags):
    """Open (or stat) what the magic link ``parts[:m]`` names, then the
    rest of the path inside the container's root."""
    point = _mount_point(ctx, "proc")
    link = _kernel_path(ctx, point, "/".join(parts[:m]))
    rest = parts[m:]
    if rest:
        target = os.readlink(link)
        base = _strip(ctx, target) if target.startswith("/") else None
        if base is None:
            return -errno.ENOTDIR if not target.startswith("/") else \
                -errno.EACCES
        path = base.rstrip("/") + "/" + "/".join(rest)
        if op in ("stat", "lstat"):
            oflags = O_PATH | (os.O_NOFOLLOW if op == "lstat" else 0)
        else:
            oflags = flags
        return devfs.open_checked(ctx.devices, ctx.root_fd, path, oflags,
                                  0, _RESOLVE, ctx.init_pid)
    if op == "lstat":
        return os.open(_kernel_path(ctx, point, "/".join(parts)),
                       O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    if op == "open" and flags & os.O_NOFOLLOW:
        return -errno.ELOOP         # the last name is a (magic) link
    # the file itself first (O_PATH opens no device): where it lies and
    # the device rules are judged on it, then that very file is reopened
    fd = os.open(link, O_PATH | os.O_CLOEXEC)
    keep = False
    try:
        if not _inside(ctx, fd, link) and not (
                op != "open" or _narrower(ctx, parts, m, flags)):
            return -errno.EACCES
        if op == "stat":
            keep = True
            return fd
        return devfs.reopen_checked(ctx.devices, fd, flags | os.O_NOCTTY,
                                    ctx.init_pid)
    finally:
        if not keep:
            os.close(fd)


def _narrower(ctx, parts, m, flags):
    """An fd of the app whose file lies outside the container (its stdio
    from the host, typically) may be reopened through ``fd/N`` only with
    the access the app's fd already has, and without O_TRUNC unless it is
    writable: the reopen then gives the app nothing its fd does not.
    N.B. Linux lets any reopen through, with the opener's permissions."""
    if parts[m - 2] != "fd":
        return False            # exe, cwd, root outside the root
    info = _kernel_path(ctx, _mount_point(ctx, "proc"),
                        "/".join(parts[:m - 2] + ["fdinfo", parts[m - 1]]))
    have = None
    with open(info, "rb") as f:
        for line in f:
            if line.startswith(b"flags:"):
                have = int(line.split()[1], 8) & os.O_ACCMODE
    if have is None:
        return False
    want = flags & os.O_ACCMODE
    if want == os.O_RDONLY:
        ok = have in (os.O_RDONLY, os.O_RDWR)
    elif want == os.O_WRONLY:
        ok = have in (os.O_WRONLY, os.O_RDWR)
    else:
        ok = have == os.O_RDWR
    if flags & os.O_TRUNC and have == os.O_RDONLY:
        ok = False
    return ok


def sched_getaffinity(ctx, pid, size):
    """The mask sched_getaffinity(2) copies out for ``pid`` (0: the
    caller): its real CPUs among the container's virtual CPUs; ``-EINVAL``
    for a ``size`` too small or not a multiple of ``sizeof(long)``."""
    ncpu = _nr_cpu_ids()
    if size * 8 < ncpu or size & 7:
        return -errno.EINVAL
    if pid < 0:
        return -errno.EINVAL
    host = ctx.tid if pid == 0 else _host_tid(ctx, pid)
    if host is None:
        return -errno.ESRCH
    cpus = affinity(ctx, os.sched_getaffinity(host))
    n = min(size, (ncpu + 63) // 64 * 8)
    mask = bytearray(n)
    for c in cpus:
        if c < n * 8:
            mask[c // 8] |= 1 << (c % 8)
    return bytes(mask)


_ncpu = None


def _nr_cpu_ids():
    global _ncpu
    if _ncpu is None:
        try:
            with open("/sys/devices/system/cpu/possible") as f:
                _ncpu = max(int(r.split("-")[-1])
                            for r in f.read().strip().split(",")) + 1
        except (OSError, ValueError):
            _ncpu = os.cpu_count() or 1
    return _ncpu


def _host_tid(ctx, pid):
    """The host tid of the task the caller's pid namespace numbers
    ``pid``, among the container's tasks; None if there is none."""
    try:
        depth = len(_nspids(ctx.tid)) - 1
    except OSError:
        return None
    for tid in procfs.container_tasks(ctx):
        try:
            ids = _nspids(tid)
        except OSError:
            continue
        if len(ids) > depth and ids[depth] == pid:
            return tid
    return None


def _nspids(tid):
    with open(f"/proc/{tid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"NSpid:"):
                return [int(x) for x in line.split()[1:]]
    raise OSError(errno.ESRCH, "no such task")


# -- /sys and /dev ---------------------------------------------------------

def _sysfs(ctx, relpath, op, flags):
    return _synth(relpath.rsplit("/", 1)[-1], sysfs.content(ctx, relpath),
                  op, flags)


def _dev(ctx, relpath, op, flags):
    parts = relpath.split("/") if relpath else []
    if not parts or op == "content":
        return None
    point = _mount_point(ctx, "dev")
    # /dev/fd, /dev/stdin...: symlinks into /proc/self (made by
    # runtime/mounts.py); what they name is /proc's to serve
    if op != "readlink" and not (op == "lstat" and len(parts) == 1):
        try:
            target = os.readlink(f"/proc/self/fd/{ctx.root_fd}{point}/"
                                 f"{parts[0]}")
        except OSError:
            target = None
        ppoint = _mount_point(ctx, "proc")
        if target and target.startswith(ppoint + "/"):
            rel = target[len(ppoint) + 1:].strip("/")
            return _proc(ctx, "/".join([rel] + parts[1:]), op, flags)
    if op != "open" or flags & O_PATH:
        return None
    if relpath == "tty":
        if not devfs.allowed(ctx.devices, "c", 5, 0,
                             devfs.open_access(flags), ctx.init_pid):
            return -errno.EPERM
        return devfs.open_tty(ctx.tid, flags)
    return _open_device(ctx, f"{point}/{relpath}", flags)


def _open_device(ctx, path, flags):
    """Open a device node of the container after its device rules; None
    for anything that is not a device (served as any file)."""
    try:
        pfd = _sys.openat2(ctx.root_fd, path,
                           O_PATH | os.O_CLOEXEC
                           | (flags & (os.O_NOFOLLOW | os.O_DIRECTORY)),
                           0, _RESOLVE)
    except OSError as e:
        if e.errno == errno.ENOENT and flags & os.O_CREAT:
            return None
        return -e.errno
    try:
        st = os.fstat(pfd)
        if not (_stat.S_ISCHR(st.st_mode) or _stat.S_ISBLK(st.st_mode)):
            return None
        if flags & os.O_CREAT and flags & os.O_EXCL:
            return -errno.EEXIST
        # the sentry never blocks
        fd = devfs.reopen_checked(ctx.devices, pfd, flags | os.O_NONBLOCK,
                                  ctx.init_pid)
        if fd < 0:
            return fd
        if not flags & os.O_NONBLOCK:
            import fcntl
            fl = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
        return fd
    finally:
        os.close(pfd)


# -- the worker in the container's namespaces ------------------------------

class _Worker(threading.Thread):
    """A thread in the net, UTS, IPC and cgroup namespaces of one container
    that runs opens with the caller's credentials; it ends when idle."""

    def __init__(self, init_pid):
        super().__init__(name=f"sentry-ns-{init_pid}", daemon=True)
        self.init_pid = init_pid
        self.q = queue.Queue()
        self.ready = threading.Event()
        self.error = None
        self.alive = True

    def run(self):
        # signals for boot (or a test's own SIGTERM) must never land here:
        # this thread has no handler of its own
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            for name, nstype in _NS_TYPES:
                try:
                    fd = os.open(f"/proc/{self.init_pid}/ns/{name}",
                                 os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    if os.fstat(fd).st_ino != os.stat(
                            f"/proc/self/ns/{name}").st_ino:
                        _sys.setns(fd, nstype)
                finally:
                    os.close(fd)
        except OSError as e:
            self.error = e
            self.alive = False
            self.ready.set()
            return
        self.ready.set()
        while True:
            try:
                item = self.q.get(timeout=_IDLE)
            except queue.Empty:
                with _lock:
                    if self.q.empty():
                        self.alive = False
                        if _workers.get(self.init_pid) is self:
                            del _workers[self.init_pid]
                        return
                continue
            fn, tid, box, done = item
            try:
                with _Creds(tid):
                    box.append(fn())
            except OSError as e:
                box.append(-(e.errno or errno.EIO))
            except Exception as e:     # a bug: answered EIO, logged
                log.exception("sentry.fs worker")
                box.append(-errno.EIO)
                del e
            finally:
                done.set()


_lock = threading.Lock()
_workers = {}


def _in_container(ctx, fn):
    """Run ``fn`` on the container's worker thread as the caller."""
    with _lock:
        w = _workers.get(ctx.init_pid)
        if w is None or not w.alive:
            w = _Worker(ctx.init_pid)
            _workers[ctx.init_pid] = w
            w.start()
        box, done = [], threading.Event()
        w.q.put((fn, ctx.tid, box, done))
    w.ready.wait()
    if w.error is not None:
        return -(w.error.errno or errno.EIO)
    done.wait()
    return box[0]


def _status(tid):
    """(euid, fsuid, egid, fsgid, groups, CapEff) of ``tid``."""
    uid = gid = None
    groups, capeff = [], 0
    with open(f"/proc/{tid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"Uid:"):
                uid = [int(x) for x in line.split()[2:5:2]]
            elif line.startswith(b"Gid:"):
                gid = [int(x) for x in line.split()[2:5:2]]
            elif line.startswith(b"Groups:"):
                groups = [int(g) for g in line.split()[1:]]
            elif line.startswith(b"CapEff:"):
                capeff = int(line.split()[1], 16)
    if uid is None or gid is None:
        raise OSError(errno.ESRCH, "no such task")
    return uid[0], uid[1], gid[0], gid[1], groups, capeff


class _Creds:
    """Switch this thread to the euid, fsuid, egid, fsgid, groups and
    effective capabilities of ``tid``, and back: raw per-thread syscalls
    (glibc would change every thread).  The euid matters too: /proc/sys
    checks it rather than the fsuid - Linux: fs/proc/proc_sysctl.c."""

    def __init__(self, tid):
        self.tid = tid

    def __enter__(self):
        euid, fsuid, egid, fsgid, groups, capeff = _status(self.tid)
        self.saved = _sys.capget(0)
        try:
            _sys.setgroups(groups)
            _sys.setresgid(0, egid, 0)
            _setfs(fsgid, None)
            # a non-zero euid or fsuid drops capabilities from the
            # effective set by itself; then keep only those the caller has
            _sys.setresuid(0, euid, 0)
            _setfs(None, fsuid)
            _sys.capset(_sys.capget(0)[0] & capeff, self.saved[1],
                        self.saved[2])
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        _sys.setresuid(0, 0, 0)     # allowed: the real and saved uid are 0
        _sys.setresgid(0, 0, 0)
        _sys.capset(*self.saved)     # before setgroups: needs CAP_SETGID
        _sys.setgroups([])
        _setfs(0, 0)
        return False


def _setfs(gid, uid):
    """setfsgid(2), setfsuid(2): per thread (glibc does not broadcast)."""
    global _libc
    if _libc is None:
        import ctypes
        _libc = ctypes.CDLL(None, use_errno=True)
    if gid is not None:
        _libc.setfsgid(gid)
    if uid is not None:
        _libc.setfsuid(uid)


_libc = None


def affinity(ctx, cpus_of_target):
    """The CPU set sched_getaffinity(2) shows the app: the target's real
    CPUs that are among the container's virtual CPUs (if none are, the
    first of its real CPUs as many as the container has)."""
    virt = procfs.cpus(ctx)
    real = sorted(cpus_of_target)
    mine = [c for c in real if c in virt]
    return mine or real[:max(1, len(virt))]
