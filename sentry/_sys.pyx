# cython: language_level=3
"""Raw Linux system calls that Python 3.11 lacks, and the final exec path.

Each wrapper raises ``OSError(errno, strerror, path)`` on failure, like the
``os`` module does.  The module holds no policy: the runtime decides what to
mount, which namespaces to make and which capabilities to keep; this module
only makes the calls.

``exec_app`` is the last step of creating a container process: the caller
marshals argv and envp in Python, and the call itself runs without the GIL on
pre-built C arrays (CPython's ``_posixsubprocess`` pattern).
"""
from libc.stdlib cimport malloc, free
from libc.string cimport memset, strlen
from cpython.bytes cimport PyBytes_AS_STRING
from posix.types cimport gid_t, uid_t

from sentry.includes cimport linux_sys as L

import os

# Mount flags - <sys/mount.h>
MS_RDONLY = L.MS_RDONLY
MS_NOSUID = L.MS_NOSUID
MS_NODEV = L.MS_NODEV
MS_NOEXEC = L.MS_NOEXEC
MS_SYNCHRONOUS = L.MS_SYNCHRONOUS
MS_REMOUNT = L.MS_REMOUNT
MS_MANDLOCK = L.MS_MANDLOCK
MS_DIRSYNC = L.MS_DIRSYNC
MS_NOATIME = L.MS_NOATIME
MS_NODIRATIME = L.MS_NODIRATIME
MS_BIND = L.MS_BIND
MS_MOVE = L.MS_MOVE
MS_REC = L.MS_REC
MS_SILENT = L.MS_SILENT
MS_UNBINDABLE = L.MS_UNBINDABLE
MS_PRIVATE = L.MS_PRIVATE
MS_SLAVE = L.MS_SLAVE
MS_SHARED = L.MS_SHARED
MS_RELATIME = L.MS_RELATIME
MS_STRICTATIME = L.MS_STRICTATIME
MS_LAZYTIME = L.MS_LAZYTIME
MNT_FORCE = L.MNT_FORCE
MNT_DETACH = L.MNT_DETACH
MNT_EXPIRE = L.MNT_EXPIRE
UMOUNT_NOFOLLOW = L.UMOUNT_NOFOLLOW

# Namespace flags - <sched.h>
CLONE_NEWNS = L.CLONE_NEWNS
CLONE_NEWCGROUP = L.CLONE_NEWCGROUP
CLONE_NEWUTS = L.CLONE_NEWUTS
CLONE_NEWIPC = L.CLONE_NEWIPC
CLONE_NEWUSER = L.CLONE_NEWUSER
CLONE_NEWPID = L.CLONE_NEWPID
CLONE_NEWNET = L.CLONE_NEWNET
CLONE_NEWTIME = 0x00000080  # <linux/sched.h>; glibc 2.36 lacks it

# openat2(2) resolve flags - <linux/openat2.h>
RESOLVE_NO_XDEV = L.RESOLVE_NO_XDEV
RESOLVE_NO_MAGICLINKS = L.RESOLVE_NO_MAGICLINKS
RESOLVE_NO_SYMLINKS = L.RESOLVE_NO_SYMLINKS
RESOLVE_BENEATH = L.RESOLVE_BENEATH
RESOLVE_IN_ROOT = L.RESOLVE_IN_ROOT


cdef inline object _err(object path=None):
    cdef int e = L.errno
    if path is None:
        return OSError(e, os.strerror(e))
    return OSError(e, os.strerror(e), path)


cdef inline bytes _b(object s):
    return None if s is None else os.fsencode(s)


cdef inline const char *_p(bytes b):
    return NULL if b is None else PyBytes_AS_STRING(b)


def mount(source, target, fstype, unsigned long flags=0, data=None):
    """mount(2); ``source``, ``fstype`` and ``data`` may be None."""
    cdef bytes bs = _b(source), bt = _b(target), bf = _b(fstype), bd = _b(data)
    cdef const char *cs = _p(bs)
    cdef const char *ct = _p(bt)
    cdef const char *cf = _p(bf)
    cdef const char *cd = _p(bd)
    cdef int r
    with nogil:
        r = L.mount(cs, ct, cf, flags, <const void *>cd)
    if r < 0:
        raise _err(target)


def umount2(target, int flags=0):
    """umount2(2)."""
    cdef bytes bt = _b(target)
    cdef const char *ct = _p(bt)
    cdef int r
    with nogil:
        r = L.umount2(ct, flags)
    if r < 0:
        raise _err(target)


def pivot_root(new_root, put_old):
    """pivot_root(2)."""
    cdef bytes bn = _b(new_root), bo = _b(put_old)
    if L.syscall(L.SYS_pivot_root, _p(bn), _p(bo)) < 0:
        raise _err(new_root)


def unshare(int flags):
    """unshare(2)."""
    if L.unshare(flags) < 0:
        raise _err()


def setns(int fd, int nstype=0):
    """setns(2) on an open namespace file descriptor."""
    if L.setns(fd, nstype) < 0:
        raise _err()


def sethostname(name):
    """sethostname(2)."""
    cdef bytes b = _b(name)
    if L.sethostname(_p(b), len(b)) < 0:
        raise _err()


def setdomainname(name):
    """setdomainname(2)."""
    cdef bytes b = _b(name)
    if L.setdomainname(_p(b), len(b)) < 0:
        raise _err()


def capget(int pid=0):
    """Return ``(effective, permitted, inheritable)`` as 64-bit masks."""
    cdef L.cap_header hdr
    cdef L.cap_data data[2]
    hdr.version = L._LINUX_CAPABILITY_VERSION_3
    hdr.pid = pid
    memset(data, 0, sizeof(data))
    if L.syscall(L.SYS_capget, &hdr, data) < 0:
        raise _err()
    return tuple((<unsigned long long>a) | ((<unsigned long long>b) << 32)
                 for a, b in ((data[0].effective, data[1].effective),
                              (data[0].permitted, data[1].permitted),
                              (data[0].inheritable, data[1].inheritable)))


def capset(unsigned long long effective, unsigned long long permitted,
           unsigned long long inheritable):
    """capset(2) of the calling thread's three classic sets."""
    cdef L.cap_header hdr
    cdef L.cap_data data[2]
    hdr.version = L._LINUX_CAPABILITY_VERSION_3
    hdr.pid = 0
    data[0].effective = effective & 0xffffffff
    data[1].effective = effective >> 32
    data[0].permitted = permitted & 0xffffffff
    data[1].permitted = permitted >> 32
    data[0].inheritable = inheritable & 0xffffffff
    data[1].inheritable = inheritable >> 32
    if L.syscall(L.SYS_capset, &hdr, data) < 0:
        raise _err()


def prctl(int option, unsigned long arg2=0, unsigned long arg3=0,
          unsigned long arg4=0, unsigned long arg5=0):
    """prctl(2); returns the call's non-negative result."""
    cdef int r = L.prctl(option, arg2, arg3, arg4, arg5)
    if r < 0:
        raise _err()
    return r


PR_SET_NO_NEW_PRIVS = L.PR_SET_NO_NEW_PRIVS
PR_GET_NO_NEW_PRIVS = L.PR_GET_NO_NEW_PRIVS
PR_SET_KEEPCAPS = L.PR_SET_KEEPCAPS
PR_SET_CHILD_SUBREAPER = L.PR_SET_CHILD_SUBREAPER
PR_GET_CHILD_SUBREAPER = L.PR_GET_CHILD_SUBREAPER
PR_SET_PDEATHSIG = L.PR_SET_PDEATHSIG
PR_SET_DUMPABLE = L.PR_SET_DUMPABLE
PR_CAPBSET_READ = L.PR_CAPBSET_READ
PR_CAPBSET_DROP = L.PR_CAPBSET_DROP
PR_CAP_AMBIENT = L.PR_CAP_AMBIENT


def set_no_new_privs():
    prctl(L.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def set_keepcaps(bint on):
    prctl(L.PR_SET_KEEPCAPS, on, 0, 0, 0)


def set_child_subreaper(bint on=True):
    prctl(L.PR_SET_CHILD_SUBREAPER, on, 0, 0, 0)


def set_pdeathsig(int sig):
    prctl(L.PR_SET_PDEATHSIG, sig, 0, 0, 0)


def set_dumpable(bint on):
    prctl(L.PR_SET_DUMPABLE, on, 0, 0, 0)


def cap_bset_read(int cap):
    """True when ``cap`` is in the calling thread's bounding set."""
    return bool(prctl(L.PR_CAPBSET_READ, cap, 0, 0, 0))


def cap_bset_drop(int cap):
    prctl(L.PR_CAPBSET_DROP, cap, 0, 0, 0)


def cap_ambient_raise(int cap):
    prctl(L.PR_CAP_AMBIENT, L.PR_CAP_AMBIENT_RAISE, cap, 0, 0)


def cap_ambient_is_set(int cap):
    return bool(prctl(L.PR_CAP_AMBIENT, L.PR_CAP_AMBIENT_IS_SET, cap, 0, 0))


def cap_ambient_clear_all():
    prctl(L.PR_CAP_AMBIENT, L.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def setgroups(groups):
    """setgroups(2) as a raw syscall (this thread only)."""
    cdef Py_ssize_t n = len(groups), i
    cdef gid_t *arr = <gid_t *>malloc(sizeof(gid_t) * (n if n else 1))
    cdef long r
    if arr == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            arr[i] = groups[i]
        r = L.syscall(L.SYS_setgroups, <size_t>n, arr)
    finally:
        free(arr)
    if r < 0:
        raise _err()


def setresuid(uid_t ruid, uid_t euid, uid_t suid):
    """setresuid(2) as a raw syscall: no glibc broadcast to other threads."""
    if L.syscall(L.SYS_setresuid, ruid, euid, suid) < 0:
        raise _err()


def setresgid(gid_t rgid, gid_t egid, gid_t sgid):
    """setresgid(2) as a raw syscall: no glibc broadcast to other threads."""
    if L.syscall(L.SYS_setresgid, rgid, egid, sgid) < 0:
        raise _err()


def openat2(int dirfd, path, int flags, int mode=0,
            unsigned long long resolve=0):
    """openat2(2); returns the new file descriptor."""
    cdef L.open_how how
    cdef bytes b = _b(path)
    cdef const char *cp = _p(b)
    cdef long r
    memset(&how, 0, sizeof(how))
    how.flags = flags
    how.mode = mode
    how.resolve = resolve
    with nogil:
        r = L.syscall(L.SYS_openat2, dirfd, cp, &how, sizeof(how))
    if r < 0:
        raise _err(path)
    return r


# mount_setattr(2) - <linux/mount.h>; glibc 2.36 has no wrapper
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x00000001
MOUNT_ATTR_NOSUID = 0x00000002
MOUNT_ATTR_NODEV = 0x00000004
MOUNT_ATTR_NOEXEC = 0x00000008


def mount_setattr(int dirfd, path, unsigned int flags,
                  unsigned long long attr_set=0,
                  unsigned long long attr_clr=0):
    """mount_setattr(2): change mount attributes, with AT_RECURSIVE for a
    whole subtree at once (what MS_REMOUNT cannot do)."""
    cdef L.pyrunsc_mount_attr attr
    cdef bytes b = _b(path)
    cdef const char *cp = _p(b)
    cdef long r
    memset(&attr, 0, sizeof(attr))
    attr.attr_set = attr_set
    attr.attr_clr = attr_clr
    with nogil:
        r = L.syscall(L.PYRUNSC_SYS_mount_setattr, dirfd, cp, flags, &attr,
                      sizeof(attr))
    if r < 0:
        raise _err(path)


def signal_default(int sig):
    """Set ``sig`` to SIG_DFL with a raw rt_sigaction(2).

    glibc refuses signals 32 and 33 (its own, for thread cancellation and
    setxid), but an ignored disposition of them survives execve: GNU make,
    for one, leaves both ignored for its children.
    """
    cdef L.pyrunsc_ksigaction sa
    memset(&sa, 0, sizeof(sa))
    if L.syscall(L.PYRUNSC_SYS_rt_sigaction, sig, &sa, NULL, 8) < 0:
        raise _err()


def personality(unsigned long persona):
    """personality(2); returns the previous persona."""
    cdef int r = L.personality(persona)
    if r < 0:
        raise _err()
    return r


cdef char **_carray(list items) except NULL:
    cdef char **arr = <char **>malloc(sizeof(char *) * (len(items) + 1))
    cdef Py_ssize_t i
    if arr == NULL:
        raise MemoryError()
    for i in range(len(items)):
        arr[i] = PyBytes_AS_STRING(items[i])
    arr[len(items)] = NULL
    return arr


def exec_app(path, argv, envp, int err_fd=-1):
    """execve(2) ``path`` with ``argv`` and ``envp`` (lists of str/bytes).

    Only returns on failure: then ``stage:errno`` ("exec:2") has been written
    to ``err_fd`` when it is >= 0, and ``OSError(errno, strerror, path)`` is
    raised.
    """
    cdef bytes bpath = _b(path)
    cdef list bargv = [_b(a) for a in argv]
    cdef list benv = [_b(v) for v in envp]
    cdef char **cargv = _carray(bargv)
    cdef char **cenv = NULL
    cdef const char *cpath = PyBytes_AS_STRING(bpath)
    cdef int e
    try:
        cenv = _carray(benv)
        with nogil:
            L.execve(cpath, cargv, cenv)
            e = L.errno
            _report(err_fd, e)
    finally:
        free(cargv)
        if cenv != NULL:
            free(cenv)
    raise OSError(e, os.strerror(e), path)


cdef void _report(int fd, int e) noexcept nogil:
    # Writes "exec:<errno>" with no allocation (async-signal-safe).
    cdef char buf[24]
    cdef char tmp[12]
    cdef int n = 5, k = 0
    if fd < 0:
        return
    buf[0] = 101  # e
    buf[1] = 120  # x
    buf[2] = 101  # e
    buf[3] = 99   # c
    buf[4] = 58   # :
    if e <= 0:
        tmp[0] = 48
        k = 1
    while e > 0 and k < 11:
        tmp[k] = 48 + e % 10
        e = e // 10
        k += 1
    while k > 0:
        k -= 1
        buf[n] = tmp[k]
        n += 1
    L.write(fd, buf, n)
