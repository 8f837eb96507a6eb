"""The gofer's request handlers: one function per request message, in a
table indexed by message id (``HANDLERS``).

Owns what the server does for each message and the host calls that Python
lacks (ctypes: linkat/fchownat/utimensat with AT_EMPTY_PATH, renameat2,
getdents64, fstatfs).  The rules - fid-based, one validated name at a time,
never following a symlink, no device nodes - are in sentry/gofer/README.md.
``runtime/gofer.py`` owns the connections and the process;
``sentry/gofer/_serve.pyx`` serves the hot messages the same way in C.

A handler is ``handler(conn, msg)``; it returns the reply, or ``(reply,
fd)`` for a reply that donates ``fd``; an OSError becomes Rerror(errno).
"""
import ctypes
import errno
import os
import socket
import stat
import struct

from sentry.gofer import proto as P

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_GETDENTS64 = 217
_SYS_RENAMEAT2 = 316
AT_EMPTY_PATH = 0x1000
AT_REMOVEDIR = 0x200
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
_DIRENT_HDR = struct.Struct("<QqHB")

# Flags a client may pass to open/create; the rest is dropped.
OPEN_FLAGS = (os.O_ACCMODE | os.O_TRUNC | os.O_APPEND | os.O_NONBLOCK |
              os.O_DSYNC | os.O_SYNC | os.O_DIRECT | os.O_NOATIME |
              os.O_LARGEFILE | os.O_DIRECTORY)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_TRUNC
MAX_FIDS = 1 << 16


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Statfs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("f_bsize", ctypes.c_long),
                ("f_blocks", ctypes.c_ulong), ("f_bfree", ctypes.c_ulong),
                ("f_bavail", ctypes.c_ulong), ("f_files", ctypes.c_ulong),
                ("f_ffree", ctypes.c_ulong), ("f_fsid", ctypes.c_int * 2),
                ("f_namelen", ctypes.c_long), ("f_frsize", ctypes.c_long),
                ("f_flags", ctypes.c_long), ("f_spare", ctypes.c_long * 4)]


def _check(r):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def _err(e):
    return OSError(e, os.strerror(e))


def _name(name):
    if not P.valid_name(name):
        raise _err(errno.ENAMETOOLONG if len(name) > P.NAME_MAX
                   else errno.EINVAL)
    return name


#: The handler table, indexed by message id: ``handler(conn, msg)`` returns
#: a reply, or ``(reply, fd)`` for a reply that donates ``fd``.
HANDLERS = [None] * (max(P.TYPES) + 1)


def _handler(fn):
    """Register ``t_<name>`` as the handler of message ``T<name>``."""
    cls = P.BY_NAME["T" + fn.__name__[2:]]
    HANDLERS[cls.ID] = fn
    return fn


@_handler
def t_attach(c, m):
    c.check_new(m.fid)
    fd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC,
                 dir_fd=c.srv.root_fd)
    st = os.fstat(fd)
    c.bind(m.fid, fd, st.st_mode)
    return P.Rattach(P.attr_from_stat(st))


_WALK_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_S_IFMT = stat.S_IFMT(0o177777)


@_handler
def t_walk(c, m):
    names = m.names
    if len(names) > P.MAX_WALK or \
            P.rwalk_max(len(names)) > c.msize:    # the reply must fit
        raise _err(errno.E2BIG)
    cur = c.get(m.fid)
    c.check_new(m.newfid)
    valid = P.valid_name
    for name in names:
        if not valid(name):
            _name(name)
    # N.B. the hot path: one openat and one fstat per name, nothing else
    fd = cur.fd                           # borrowed until the first step
    mode = cur.fmt
    attrs = []
    link = b""
    err = 0
    osopen, fstat, close = os.open, os.fstat, os.close
    attr = P.attr_from_stat
    try:
        for name in names:
            if mode & _S_IFMT != stat.S_IFDIR:
                err = errno.ENOTDIR
                break
            try:
                nfd = osopen(name, _WALK_FLAGS, dir_fd=fd)
            except OSError as e:
                err = e.errno
                break
            if fd != cur.fd:
                close(fd)
            fd = nfd
            st = fstat(fd)
            mode = st.st_mode
            attrs.append(attr(st))
            if mode & _S_IFMT == stat.S_IFLNK:
                link = os.fsencode(os.readlink(b"", dir_fd=fd))
                break
        if err and not attrs:
            raise _err(err)
        if not err and len(attrs) == len(names):
            if fd == cur.fd:              # zero names: a clone
                fd = os.dup(fd)
            c.bind(m.newfid, fd, mode)
            fd = -1
        return P.Rwalk(err, attrs, link)
    finally:
        if fd >= 0 and fd != cur.fd:
            close(fd)


def _checked_open(c, f, flags):
    """Reopen fid ``f`` for the client: regular files, directories and
    FIFOs only; device nodes are never opened (README: trust model)."""
    fmt = f.fmt
    if flags & os.O_PATH:
        if fmt in (stat.S_IFCHR, stat.S_IFBLK):
            raise _err(errno.EACCES)
        if flags & os.O_DIRECTORY and fmt != stat.S_IFDIR:
            raise _err(errno.ENOTDIR)
        return c.srv._reopen(f, os.O_PATH)
    flags &= OPEN_FLAGS
    if flags & _WRITE_FLAGS:
        c.srv._rw()
    if fmt == stat.S_IFDIR:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC):
            raise _err(errno.EISDIR)
        return c.srv._reopen(f, flags)
    if flags & os.O_DIRECTORY:
        raise _err(errno.ENOTDIR)
    if fmt == stat.S_IFREG:
        return c.srv._reopen(f, flags)
    if fmt == stat.S_IFLNK:
        raise _err(errno.ELOOP)
    if fmt == stat.S_IFIFO:
        # N.B. never block the connection on a FIFO without a peer
        fd = c.srv._reopen(f, flags | os.O_NONBLOCK)
        if not flags & os.O_NONBLOCK:
            os.set_blocking(fd, True)
        return fd
    if fmt == stat.S_IFSOCK:
        raise _err(errno.ENXIO)          # open(2) on a socket
    raise _err(errno.EACCES)             # devices: as on a nodev mount


@_handler
def t_open(c, m):
    f = c.get(m.fid)
    fd = _checked_open(c, f, m.flags)
    try:
        return P.Ropen(P.attr_from_stat(os.fstat(fd))), fd
    except BaseException:
        os.close(fd)
        raise


def _parent(c, m, newfid=False):
    """The directory fid and the name of a request that adds ``m.name`` to
    ``m.dirfid``, checked in this order: writable, a directory, with
    ``newfid`` a free ``m.newfid``, the name."""
    c.srv._rw()
    d = c.dir(m.dirfid)
    if newfid:
        c.check_new(m.newfid)
    return d, _name(m.name)


@_handler
def t_create(c, m):
    d, name = _parent(c, m, newfid=True)
    flags = (m.flags & OPEN_FLAGS & ~os.O_DIRECTORY) | os.O_CREAT | \
        os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY
    fd = os.open(name, flags, m.mode & 0o7777, dir_fd=d.fd)
    try:
        if m.uid != P.NOID or m.gid != P.NOID:
            os.fchown(fd, -1 if m.uid == P.NOID else m.uid,
                      -1 if m.gid == P.NOID else m.gid)
            if m.mode & (stat.S_ISUID | stat.S_ISGID):
                os.fchmod(fd, m.mode & 0o7777)   # chown cleared them
        st = os.fstat(fd)
        if m.newfid != P.NOFID:
            c.bind(m.newfid, os.open(str(fd), os.O_PATH | os.O_CLOEXEC,
                                     dir_fd=c.srv.proc_fd), st.st_mode)
        return P.Rcreate(P.attr_from_stat(st)), fd
    except BaseException:
        os.close(fd)
        raise


def _new_node(c, m, d, name):
    """The Rnode of ``name`` just made in ``d``, owned as ``m`` asks."""
    c.srv._chown_at(d.fd, name, m.uid, m.gid)
    return P.Rnode(c.srv._node(d.fd, name))


@_handler
def t_mkdir(c, m):
    d, name = _parent(c, m)
    os.mkdir(name, m.mode & 0o7777, dir_fd=d.fd)
    return _new_node(c, m, d, name)


_MKNOD_TYPES = (0, stat.S_IFREG, stat.S_IFIFO, stat.S_IFSOCK)


@_handler
def t_mknod(c, m):
    d, name = _parent(c, m)
    fmt = stat.S_IFMT(m.mode)
    if fmt in (stat.S_IFCHR, stat.S_IFBLK):
        raise _err(errno.EPERM)          # no CAP_MKNOD: devices are the
    if fmt not in _MKNOD_TYPES:          # sentry's /dev
        raise _err(errno.EINVAL)
    # "Zero file type is equivalent to type S_IFREG." - mknod(2)
    os.mknod(name, (fmt or stat.S_IFREG) | (m.mode & 0o7777), 0, dir_fd=d.fd)
    return _new_node(c, m, d, name)


@_handler
def t_symlink(c, m):
    d, name = _parent(c, m)
    if not m.target or len(m.target) >= P.PATH_MAX or b"\0" in m.target:
        raise _err(errno.ENOENT if not m.target else errno.ENAMETOOLONG
                   if len(m.target) >= P.PATH_MAX else errno.EINVAL)
    os.symlink(m.target, name, dir_fd=d.fd)
    return _new_node(c, m, d, name)


@_handler
def t_link(c, m):
    d, name = _parent(c, m)
    f = c.get(m.fid)
    if f.fmt == stat.S_IFDIR:
        raise _err(errno.EPERM)          # link(2): oldpath is a directory
    _check(_libc.linkat(f.fd, b"", d.fd, name, AT_EMPTY_PATH))
    return P.Rnode(c.srv._node(d.fd, name))


@_handler
def t_unlink(c, m):
    c.srv._rw()
    d = c.dir(m.dirfid)
    if m.flags & ~AT_REMOVEDIR:
        raise _err(errno.EINVAL)
    name = _name(m.name)
    if m.flags & AT_REMOVEDIR:
        os.rmdir(name, dir_fd=d.fd)
    else:
        os.unlink(name, dir_fd=d.fd)
    return P.Rok()


@_handler
def t_rename(c, m):
    c.srv._rw()
    old = c.dir(m.olddirfid)
    new = c.dir(m.newdirfid)
    if m.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE):
        raise _err(errno.EINVAL)
    _check(_libc.syscall(_SYS_RENAMEAT2, old.fd, _name(m.oldname), new.fd,
                         _name(m.newname), ctypes.c_uint(m.flags)))
    return P.Rok()


@_handler
def t_readlink(c, m):
    f = c.get(m.fid)
    if f.fmt != stat.S_IFLNK:
        raise _err(errno.EINVAL)
    return P.Rreadlink(os.fsencode(os.readlink(b"", dir_fd=f.fd)))


@_handler
def t_getattr(c, m):
    return P.Rgetattr(P.attr_from_stat(os.fstat(c.get(m.fid).fd)))


def _ts(sec, nsec):
    return _Timespec(sec, nsec)


@_handler
def t_setattr(c, m):
    c.srv._rw()
    f = c.get(m.fid)
    v = m.valid
    if v & P.SET_SIZE:
        if f.fmt == stat.S_IFDIR:
            raise _err(errno.EISDIR)
        if f.fmt != stat.S_IFREG:
            raise _err(errno.EINVAL)
        fd = c.srv._reopen(f, os.O_WRONLY)
        try:
            os.ftruncate(fd, m.size)
        finally:
            os.close(fd)
    if v & (P.SET_UID | P.SET_GID):
        uid = m.uid if v & P.SET_UID else -1
        gid = m.gid if v & P.SET_GID else -1
        _check(_libc.fchownat(f.fd, b"", uid, gid, AT_EMPTY_PATH))
    if v & P.SET_MODE:
        # after chown, which clears set-id bits - chown(2)
        os.chmod(str(f.fd), m.mode & 0o7777, dir_fd=c.srv.proc_fd)
    if v & (P.SET_ATIME | P.SET_MTIME):
        ts = (_Timespec * 2)(
            _ts(m.atime_sec, m.atime_nsec) if v & P.SET_ATIME
            else _ts(0, P.UTIME_OMIT),
            _ts(m.mtime_sec, m.mtime_nsec) if v & P.SET_MTIME
            else _ts(0, P.UTIME_OMIT))
        for t in ts:
            if t.tv_nsec not in (P.UTIME_NOW, P.UTIME_OMIT) and \
                    not 0 <= t.tv_nsec < 1000000000:
                raise _err(errno.EINVAL)
        _check(_libc.utimensat(f.fd, b"", ts, AT_EMPTY_PATH))
    return P.Rok()


@_handler
def t_readdir(c, m):
    f = c.dir(m.fid)
    if f.dir_fd < 0:
        f.dir_fd = c.srv._reopen(f, os.O_RDONLY | os.O_DIRECTORY)
    count = min(m.count, c.msize - 64, 1 << 16)
    if count < 280:
        raise _err(errno.EINVAL)
    os.lseek(f.dir_fd, m.offset, os.SEEK_SET)
    buf = ctypes.create_string_buffer(count)
    n = _check(_libc.syscall(_SYS_GETDENTS64, f.dir_fd, buf, count))
    raw = buf.raw[:n]
    out, off, size = [], 0, 9 + 2        # header of Rreaddir + count
    while off < n:
        ino, doff, reclen, typ = _DIRENT_HDR.unpack_from(raw, off)
        name = raw[off + 19:off + reclen].split(b"\0", 1)[0]
        size += 19 + len(name)
        if size > count:                 # the reply must fit the frame
            break
        out.append(P.Dirent(ino, doff & (1 << 64) - 1, typ, name))
        off += reclen
    return P.Rreaddir(out)


@_handler
def t_statfs(c, m):
    f = c.get(m.fid)
    s = _Statfs()
    _check(_libc.fstatfs(f.fd, ctypes.byref(s)))
    m64 = (1 << 64) - 1
    return P.Rstatfs(P.Statfs(s.f_type & m64, s.f_bsize, s.f_blocks,
                              s.f_bfree, s.f_bavail, s.f_files, s.f_ffree,
                              s.f_namelen, s.f_frsize, s.f_flags))


@_handler
def t_fsync(c, m):
    f = c.get(m.fid)
    if f.fmt not in (stat.S_IFREG, stat.S_IFDIR):
        raise _err(errno.EINVAL)
    fd = c.srv._reopen(f, os.O_RDONLY)
    try:
        (os.fdatasync if m.datasync else os.fsync)(fd)
    finally:
        os.close(fd)
    return P.Rok()


@_handler
def t_flush(c, m):
    # Requests of a connection are served in order: by the time a flush is
    # read, the request it names has been answered.
    return P.Rok()


@_handler
def t_clunk(c, m):
    f = c.fids.pop(m.fid, None)
    if f is None:
        raise _err(errno.EBADF)
    f.close()
    return P.Rok()


XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 1 << 16


def _xname(name):
    """An xattr name as the kernel would take it - getxattr(2): ERANGE
    for an empty or too long name; a NUL cannot be passed at all."""
    if b"\0" in name:
        raise _err(errno.EINVAL)
    if not name or len(name) > XATTR_NAME_MAX:
        raise _err(errno.ERANGE)
    return name


def _xattr_path(c, f):
    """The magic link of fid's fd, relative to the cwd (``proc_fd``).

    N.B. the xattr calls follow it: the jump lands on the fid's file itself,
    a symlink included, and goes no further."""
    return str(f.fd)


def _xattr_reply(c, m, reply, value):
    """``reply`` (Rgetxattr, Rlistxattr) of ``value`` for a buffer of
    ``m.size`` bytes: size 0 asks for the length alone; a value that does
    not fit is ERANGE - getxattr(2), listxattr(2)."""
    if m.size == 0:
        return reply(len(value), b"")
    if len(value) > m.size or len(value) > c.msize - 64:
        raise _err(errno.ERANGE)
    return reply(len(value), value)


@_handler
def t_getxattr(c, m):
    f = c.get(m.fid)
    v = os.getxattr(_xattr_path(c, f), _xname(m.name))
    return _xattr_reply(c, m, P.Rgetxattr, v)


@_handler
def t_setxattr(c, m):
    c.srv._rw()
    f = c.get(m.fid)
    if m.flags & ~(os.XATTR_CREATE | os.XATTR_REPLACE):
        raise _err(errno.EINVAL)
    if len(m.value) > XATTR_SIZE_MAX:
        raise _err(errno.E2BIG)
    os.setxattr(_xattr_path(c, f), _xname(m.name), m.value, m.flags)
    return P.Rok()


@_handler
def t_listxattr(c, m):
    f = c.get(m.fid)
    names = os.listxattr(_xattr_path(c, f))
    raw = b"".join(os.fsencode(n) + b"\0" for n in names)
    return _xattr_reply(c, m, P.Rlistxattr, raw)


@_handler
def t_removexattr(c, m):
    c.srv._rw()
    f = c.get(m.fid)
    os.removexattr(_xattr_path(c, f), _xname(m.name))
    return P.Rok()


_SOCK_TYPES = (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET)


@_handler
def t_connect(c, m):
    f = c.get(m.fid)
    if m.type not in _SOCK_TYPES:
        raise _err(errno.EINVAL)
    if f.fmt != stat.S_IFSOCK:
        raise _err(errno.ECONNREFUSED)
    s = socket.socket(socket.AF_UNIX, m.type | socket.SOCK_CLOEXEC |
                      socket.SOCK_NONBLOCK)
    try:
        # the magic link of the fid's fd, relative to cwd = /proc/self/fd
        s.connect(str(f.fd))
        s.setblocking(True)
        return P.Rconnect(), s.detach()
    finally:
        s.close()


@_handler
def t_bind(c, m):
    d, name = _parent(c, m, newfid=True)
    if m.type not in _SOCK_TYPES:
        raise _err(errno.EINVAL)
    path = f"{d.fd}/".encode() + name
    if len(path) >= 108:
        raise _err(errno.ENAMETOOLONG)
    s = socket.socket(socket.AF_UNIX, m.type | socket.SOCK_CLOEXEC)
    try:
        s.bind(path)
        c.srv._chown_at(d.fd, name, m.uid, m.gid)
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC,
                     dir_fd=d.fd)
        st = os.fstat(fd)
        c.bind(m.newfid, fd, st.st_mode)
        return P.Rbind(P.attr_from_stat(st)), s.detach()
    finally:
        s.close()
