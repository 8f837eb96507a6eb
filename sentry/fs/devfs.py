"""``/dev`` as the container sees it, and the container's device rules.

The nodes of the container's ``/dev`` (null, zero, full, random, urandom,
tty, console, ptmx, pts/, shm/, fd, stdin, stdout, stderr) exist in the
app's mount namespace, made there by runtime/mounts.py; the sentry opens
them through the app's root.  Two things differ from a plain open there:

* the sentry runs in boot's cgroup, so the kernel's device cgroup of the
  container does not check its opens: ``allowed`` applies the container's
  rules (``linux.resources.devices`` followed by runc's defaults) before
  any character or block device is opened for the app, with EPERM as the
  kernel's device cgroup answers;
* ``/dev/tty`` names the caller's controlling terminal, not the
  sentry's (boot has none): it is reopened from the terminal the app holds.

``/dev/fd/N`` and ``/dev/std*`` are symlinks into ``/proc/self/fd``; they
are served by sentry.fs.procfs like any ``/proc/<pid>/fd/N``.
"""
import errno
import os
import stat

# runc's default device rules, appended to the spec's own rules whenever the
# spec has any (boot applies the same list to the device cgroup): mknod of
# anything, and read/write of
# null, zero, full, tty, urandom, random, /dev/console, /dev/ptmx, the ptys
# and /dev/net/tun.
DEFAULT_RULES = (
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
)


def _wild(v):
    return v is None or v == -1


def effective_rules(devices, init_pid=None):
    """The rules the container's device cgroup holds.

    With ``init_pid``, the live v1 ``devices.list`` of its cgroup when
    there is one (it has the spec's rules, runc's defaults and the
    ``linux.devices`` boot allows, and follows ``pyrunsc update``); else
    the spec's ``linux.resources.devices`` then runc's defaults; none at
    all when the spec has none (boot then leaves the device cgroup alone:
    every device is allowed)."""
    if init_pid is not None:
        live = _live_rules(init_pid)
        if live is not None:
            return live
    rules = list(devices or ())
    if not rules:
        return []
    return rules + list(DEFAULT_RULES)


_live = {}
_LIVE_TTL = 1.0


def _live_rules(init_pid):
    """The rules of ``devices.list`` (cgroup v1) of ``init_pid``'s devices
    cgroup, cached for a second; None without one.  The list shows the
    allowed exceptions of a default-deny cgroup, or ``a *:* rwm`` when it
    allows everything - Documentation/admin-guide/cgroup-v1/devices.rst."""
    import time
    now = time.monotonic()
    hit = _live.get(init_pid)
    if hit is not None and now - hit[0] < _LIVE_TTL:
        return hit[1]
    from sentry.fs import procfs
    d, v = procfs.cgroup_dir(init_pid, "devices")
    rules = None
    if d is not None and v == 1:
        try:
            with open(os.path.join(d, "devices.list")) as f:
                text = f.read()
        except OSError:
            text = None
        if text is not None:
            rules = [{"allow": False, "access": "rwm"}]
            for line in text.splitlines():
                parts = line.split()
                if len(parts) != 3 or ":" not in parts[1]:
                    continue
                major, minor = parts[1].split(":", 1)
                rules.append({"allow": True, "type": parts[0],
                              "major": None if major == "*" else int(major),
                              "minor": None if minor == "*" else int(minor),
                              "access": parts[2]})
    if len(_live) > 256:
        _live.clear()
    _live[init_pid] = (now, rules)
    return rules


def allowed(devices, kind, major, minor, access, init_pid=None):
    """Whether the device cgroup lets the container do ``access`` (a string
    of ``r``, ``w``, ``m``) on device ``kind`` (``"c"`` or ``"b"``)
    ``major:minor``.

    The rules apply in order as runc writes them into devices.allow/deny:
    the cgroup starts allowing everything, a rule that matches the device
    decides for the access letters it names, and a later rule overrides an
    earlier one - "devices.deny ... a *:* rwm" makes the default deny -
    Documentation/admin-guide/cgroup-v1/devices.rst.
    """
    rules = effective_rules(devices, init_pid)
    verdict = {a: True for a in access}
    for r in rules:
        t = r.get("type") or "a"
        if t not in ("a", kind):
            continue
        if not _wild(r.get("major")) and r.get("major") != major:
            continue
        if not _wild(r.get("minor")) and r.get("minor") != minor:
            continue
        acc = r.get("access") or "rwm"
        for a in access:
            if a in acc:
                verdict[a] = bool(r.get("allow"))
    return all(verdict.values())


def open_access(flags):
    """The device-cgroup access letters an open(2) with ``flags`` needs."""
    acc = flags & os.O_ACCMODE
    if acc == os.O_RDONLY:
        return "r"
    if acc == os.O_WRONLY:
        return "w"
    return "rw"


def check_fd(devices, fd, flags, init_pid=None):
    """0 when the file behind ``fd`` (an O_PATH fd is fine) is no device or
    a device the container may open with ``flags``; else -EPERM."""
    st = os.fstat(fd)
    return check_mode(devices, st.st_mode, st.st_rdev, flags, init_pid)


def check_mode(devices, mode, rdev, flags, init_pid=None):
    """``check_fd`` for a known ``st_mode``/``st_rdev``."""
    if stat.S_ISCHR(mode):
        kind = "c"
    elif stat.S_ISBLK(mode):
        kind = "b"
    else:
        return 0
    if flags & os.O_PATH:
        return 0            # an O_PATH open does not open the device
    if allowed(devices, kind, os.major(rdev), os.minor(rdev),
               open_access(flags), init_pid):
        return 0
    return -errno.EPERM


def reopen_checked(devices, pfd, flags, init_pid=None):
    """Open the file behind the O_PATH fd ``pfd`` (left open) with the
    app's ``flags``, after the container's device rules when it is a
    device: the file judged is the file opened.  A new fd, or -errno
    (EPERM as the device cgroup answers, ELOOP for a symlink).  The
    sentry never takes a controlling terminal."""
    st = os.fstat(pfd)
    if stat.S_ISLNK(st.st_mode):
        return -errno.ELOOP
    if flags & os.O_CREAT and stat.S_ISDIR(st.st_mode):
        return -errno.EISDIR        # open(2): "O_CREAT ... a directory"
    r = check_mode(devices, st.st_mode, st.st_rdev, flags, init_pid)
    if r < 0:
        return r
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        flags |= os.O_NOCTTY
    try:
        return os.open(f"/proc/self/fd/{pfd}", (flags | os.O_CLOEXEC) &
                       ~(os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW))
    except OSError as e:
        return -e.errno


def open_checked(devices, dirfd, path, flags, mode=0, resolve=0,
                 init_pid=None):
    """openat2(``dirfd``, ``path``) for the app with every device it may
    name checked first (sentry/fs/devcheck.pxi's checked_openat2 for
    Python callers): resolved to an O_PATH fd, judged, reopened; a missing
    name with O_CREAT is created with O_EXCL, so that a node made meanwhile
    is looked at again.  A new fd or -errno."""
    from sentry import _sys
    look = os.O_PATH | os.O_CLOEXEC | (flags & (os.O_NOFOLLOW |
                                                os.O_DIRECTORY))
    if flags & os.O_PATH or flags & os.O_TMPFILE == os.O_TMPFILE:
        look = None
    for _ in range(2):
        if look is None:
            break
        try:
            pfd = _sys.openat2(dirfd, path, look, 0, resolve)
        except OSError as e:
            if e.errno != errno.ENOENT or not flags & os.O_CREAT:
                return -e.errno
        else:
            try:
                if flags & os.O_CREAT and flags & os.O_EXCL:
                    return -errno.EEXIST
                return reopen_checked(devices, pfd, flags, init_pid)
            finally:
                os.close(pfd)
        try:
            return _sys.openat2(dirfd, path, flags | os.O_EXCL |
                                os.O_CLOEXEC, mode, resolve)
        except OSError as e:
            if e.errno != errno.EEXIST or flags & os.O_EXCL:
                return -e.errno
    # O_PATH, O_TMPFILE, or O_CREAT through a dangling symlink: nothing
    # (or a new file) is opened; judge what was
    try:
        fd = _sys.openat2(dirfd, path, flags | os.O_CLOEXEC, mode, resolve)
    except OSError as e:
        return -e.errno
    r = check_fd(devices, fd, flags, init_pid)
    if r < 0:
        os.close(fd)
        return r
    return fd


def ctty(tid):
    """The caller's controlling terminal as ``st_rdev`` (0: none), from
    field 7 of /proc/<tid>/stat - proc(5)."""
    try:
        with open(f"/proc/{tid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    # the comm field may hold spaces and parentheses: split after the last ")"
    rest = data[data.rfind(b")") + 2:].split()
    try:
        return int(rest[4])
    except (IndexError, ValueError):
        return 0


def _kernel_dev(tty_nr):
    """proc(5) tty_nr: minor in bits 31..20 and 7..0, major in 15..8."""
    return os.makedev((tty_nr >> 8) & 0xfff,
                      (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00))


def open_tty(tid, flags):
    """Open the controlling terminal of ``tid`` as /dev/tty does: ENXIO
    without one - tty(4).  The terminal is found among the fds the app
    holds (its stdio normally), and reopened with ``flags``."""
    nr = ctty(tid)
    if nr == 0:
        return -errno.ENXIO
    want = _kernel_dev(nr)
    try:
        names = os.listdir(f"/proc/{tid}/fd")
    except OSError:
        return -errno.ENXIO
    for name in sorted(names, key=lambda n: int(n) if n.isdigit() else 0):
        p = f"/proc/{tid}/fd/{name}"
        try:
            st = os.stat(p)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == want:
            try:
                return os.open(p, (flags | os.O_NOCTTY | os.O_CLOEXEC)
                               & ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC))
            except OSError as e:
                return -e.errno
    return -errno.ENXIO
