"""The sentry's gofer client: one connection, and a path-level backend.

``Client`` speaks the protocol of ``proto.py`` on one SOCK_SEQPACKET socket:
one method per request, plus ``batch`` to pipeline several requests in one
round trip (the server answers a connection's requests in order).  A dead
gofer (EOF, reset, a broken reply) makes this and every later call raise
``OSError(EIO)``; nothing waits on a dead socket.

``GoferFs`` is the backend the emulation layer resolves paths through: it
takes root-relative paths, resolves them component by component with walks
that never follow a symlink on the server, follows symlinks itself (at most
40, ``..`` clamped at the root as in a chroot), and runs the operation in
one pipelined round trip in the common case (no symlink on the way).
Errors are ``OSError`` with the errno the syscall should return.
"""
import array
import collections
import errno
import os
import socket
import stat
import threading

from sentry.gofer import proto as P

MAXSYMLINKS = 40      # - path_resolution(7): "a maximum of 40 links"


def _oserr(e, what=""):
    return OSError(e, os.strerror(e), what) if what else \
        OSError(e, os.strerror(e))


class Client:
    """One connection to the gofer.  Thread-safe: requests are serialised
    by a lock (open one Client per sentry thread for parallelism)."""

    def __init__(self, sock, msize=P.DEFAULT_MSIZE):
        if isinstance(sock, int):
            sock = socket.socket(fileno=sock)
        self.sock = sock
        self.dead = False
        self._lock = threading.Lock()
        self._fid_lock = threading.Lock()
        self._tag = 0
        self._next_fid = 1
        self._free = []
        self._buf = bytearray(P.MAX_MSIZE + 1)
        self.msize = msize
        r = self.call(P.Tversion(msize, P.VERSION))
        if r.version != P.VERSION:
            self._die()
            raise _oserr(errno.EPROTONOSUPPORT, "gofer version")
        self.msize = r.msize
        self.root = self.alloc()
        self.root_attr = self.call(P.Tattach(self.root)).attr

    # -- transport -------------------------------------------------------

    def close(self):
        with self._lock:
            self._die()

    def _die(self):
        if not self.dead:
            self.dead = True
            try:
                self.sock.close()
            except OSError:
                pass

    def alloc(self):
        """A fid number not in use on this connection."""
        with self._fid_lock:
            if self._free:
                return self._free.pop()
            self._next_fid += 1
            return self._next_fid - 1

    def release(self, fid):
        with self._fid_lock:
            self._free.append(fid)

    def _send(self, msg):
        self._tag = (self._tag + 1) & 0x7FFF
        self.sock.sendall(P.encode(msg, self._tag))
        return self._tag

    def _recv(self, tag):
        n, anc, flags, _ = self.sock.recvmsg_into(
            [self._buf], socket.CMSG_SPACE(4 * 4), socket.MSG_CMSG_CLOEXEC)
        fds = []
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.extend(array.array("i", data[:len(data) - len(data) % 4]))
        try:
            if n == 0:
                raise P.ProtocolError("gofer closed the connection")
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                raise P.ProtocolError("oversized reply from the gofer")
            msg, rtag = P.decode(memoryview(self._buf)[:n], self.msize)
            if rtag != tag:
                raise P.ProtocolError(f"reply tag {rtag}, expected {tag}")
            want = 1 if msg.ID in P.FD_REPLIES else 0
            if len(fds) != want:
                raise P.ProtocolError(f"{type(msg).__name__} with "
                                      f"{len(fds)} fds")
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        return msg, (fds[0] if fds else None)

    def batch(self, msgs):
        """Send ``msgs`` back to back, then read their replies in order.

        Returns a list of ``(reply, fd)``; an Rerror is returned as is.
        """
        with self._lock:
            if self.dead:
                raise _oserr(errno.EIO, "gofer connection is closed")
            try:
                tags = [self._send(m) for m in msgs]
                return [self._recv(t) for t in tags]
            except (OSError, P.ProtocolError):
                self._die()
                raise _oserr(errno.EIO, "gofer connection lost") from None

    def call(self, msg):
        """One request; returns the reply or ``(reply, fd)`` for replies
        that carry an fd; an Rerror raises OSError."""
        ((reply, fd),) = self.batch((msg,))
        if type(reply) is P.Rerror:
            raise _oserr(reply.errno)
        return reply if fd is None else (reply, fd)

    # -- one method per request -------------------------------------------

    def walk(self, fid, names, newfid=P.NOFID):
        return self.call(P.Twalk(fid, newfid, list(names)))

    def open(self, fid, flags):
        reply, fd = self.call(P.Topen(fid, flags))
        return fd, reply.attr

    def create(self, dirfid, name, flags, mode, uid=P.NOID, gid=P.NOID,
               newfid=P.NOFID):
        reply, fd = self.call(P.Tcreate(dirfid, newfid, name, flags, mode,
                                        uid, gid))
        return fd, reply.attr

    def mkdir(self, dirfid, name, mode, uid=P.NOID, gid=P.NOID):
        return self.call(P.Tmkdir(dirfid, name, mode, uid, gid)).attr

    def mknod(self, dirfid, name, mode, rdev=0, uid=P.NOID, gid=P.NOID):
        return self.call(P.Tmknod(dirfid, name, mode, rdev, uid, gid)).attr

    def symlink(self, dirfid, name, target, uid=P.NOID, gid=P.NOID):
        return self.call(P.Tsymlink(dirfid, name, target, uid, gid)).attr

    def link(self, dirfid, name, fid):
        return self.call(P.Tlink(dirfid, name, fid)).attr

    def unlink(self, dirfid, name, flags=0):
        self.call(P.Tunlink(dirfid, name, flags))

    def rename(self, olddirfid, oldname, newdirfid, newname, flags=0):
        self.call(P.Trename(olddirfid, oldname, newdirfid, newname, flags))

    def readlink(self, fid):
        return self.call(P.Treadlink(fid)).target

    def getattr(self, fid):
        return self.call(P.Tgetattr(fid)).attr

    def setattr(self, fid, valid, mode=0, uid=0, gid=0, size=0,
                atime=(0, P.UTIME_OMIT), mtime=(0, P.UTIME_OMIT)):
        self.call(P.Tsetattr(fid, valid, mode, uid, gid, size,
                             atime[0], atime[1], mtime[0], mtime[1]))

    def readdir(self, fid, offset=0, count=None):
        if count is None:
            count = self.msize - 64
        return self.call(P.Treaddir(fid, offset, count)).entries

    def statfs(self, fid):
        return self.call(P.Tstatfs(fid)).statfs

    def fsync(self, fid, datasync=False):
        self.call(P.Tfsync(fid, int(datasync)))

    def flush(self, oldtag):
        self.call(P.Tflush(oldtag))

    def clunk(self, fid):
        try:
            self.call(P.Tclunk(fid))
        finally:
            self.release(fid)

    def getxattr(self, fid, name, size=P.MAX_MSIZE):
        return self.call(P.Tgetxattr(fid, name, size)).value

    def setxattr(self, fid, name, value, flags=0):
        self.call(P.Tsetxattr(fid, name, value, flags))

    def listxattr(self, fid, size=P.MAX_MSIZE):
        raw = self.call(P.Tlistxattr(fid, size)).names
        return [n for n in raw.split(b"\0") if n]

    def removexattr(self, fid, name):
        self.call(P.Tremovexattr(fid, name))

    def connect(self, fid, type=socket.SOCK_STREAM):
        return self.call(P.Tconnect(fid, type))[1]

    def bind(self, dirfid, name, type=socket.SOCK_STREAM, uid=P.NOID,
             gid=P.NOID, newfid=P.NOFID):
        reply, fd = self.call(P.Tbind(dirfid, newfid, name, type, uid, gid))
        return fd, reply.attr


Resolved = collections.namedtuple("Resolved", "names attr")


def split(path):
    """Components of a root-relative path, and whether it ends in ``/``."""
    p = os.fsencode(path)
    if b"\0" in p:
        raise _oserr(errno.EINVAL)
    if len(p) >= P.PATH_MAX:
        raise _oserr(errno.ENAMETOOLONG)
    comps = [c for c in p.split(b"/") if c]
    for c in comps:
        if len(c) > P.NAME_MAX:
            raise _oserr(errno.ENAMETOOLONG)
    return comps, p.endswith(b"/") and bool(comps)


def _simple(comps):
    return b"." not in comps and b".." not in comps


class GoferFs:
    """Path-level operations on the container's tree, through ``client``.

    Paths are absolute inside the container root (a relative one is taken
    from the root).  ``..`` at the root stays at the root.  ``uid``/``gid``
    name the owner of created files (the app's fsuid/fsgid); the caller has
    already applied the app's umask to ``mode``.
    """

    def __init__(self, client):
        self.c = client

    # -- resolution ----------------------------------------------------

    def resolve(self, path, follow=True, missing_ok=False):
        """Walk ``path``, following symlinks inside the root.

        Returns ``Resolved(names, attr)``: the symlink-free components and
        the file's Attr.  With ``missing_ok``, a missing last component gives
        ``attr=None`` (its parent exists and is a directory).
        """
        comps, slash = split(path)
        return self._resolve(comps, follow or slash, missing_ok, slash)

    def _resolve(self, comps, follow, missing_ok=False, must_dir=False):
        c = self.c
        todo = collections.deque(comps)
        done = []
        attr = c.root_attr
        links = 0
        while todo:
            batch = []
            while todo and todo[0] != b"." and todo[0] != b"..":
                batch.append(todo.popleft())
            if not batch:
                if attr is not None and not stat.S_ISDIR(attr.mode):
                    raise _oserr(errno.ENOTDIR)
                if todo.popleft() == b".." and done:
                    done.pop()
                attr = None                  # a directory, attr unknown
                continue
            names = done + batch
            try:
                r = c.walk(c.root, names)
            except OSError as e:            # the first name failed
                r = P.Rwalk(e.errno, [], b"")
            k = len(r.attrs) - len(done)     # batch names walked
            if k < 0:
                raise _oserr(errno.ENOENT)    # a walked prefix went away
            if r.errno:
                if (r.errno == errno.ENOENT and missing_ok and not todo
                        and k == len(batch) - 1):
                    return Resolved(names, None)
                raise _oserr(r.errno)
            attr = r.attrs[-1] if r.attrs else c.root_attr
            if r.link:
                final = k == len(batch) and not todo
                if final and not follow:
                    return Resolved(names, attr)
                links += 1
                if links > MAXSYMLINKS:
                    raise _oserr(errno.ELOOP)
                target, _ = split(r.link)
                todo.extendleft(reversed(target + batch[k:]))
                if r.link.startswith(b"/"):
                    done = []
                else:                    # the symlink's directory
                    done = names[:len(done) + k - 1]
                attr = None
                continue
            done = names
        if attr is None:
            attr = c.walk(c.root, done).attrs[-1] if done else \
                c.getattr(c.root)
        if must_dir and not stat.S_ISDIR(attr.mode):
            raise _oserr(errno.ENOTDIR)
        return Resolved(done, attr)

    def _on(self, names, op):
        """Run ``op(fid)`` on the file at resolved ``names`` in one round
        trip: walk, op, clunk.  Returns op's reply (an Rerror raises)."""
        c = self.c
        fid = c.alloc()
        try:
            (rw, _), (rop, fd), _ = c.batch(
                (P.Twalk(c.root, fid, names), op(fid), P.Tclunk(fid)))
        finally:
            c.release(fid)          # clunked, or never bound
        if type(rw) is P.Rerror:
            raise _oserr(rw.errno)
        if rw.errno:
            raise _oserr(rw.errno)
        if type(rop) is P.Rerror:
            raise _oserr(rop.errno)
        return rop if fd is None else (rop, fd)

    def _try_on(self, comps, op, follow):
        """Like ``_on`` for an unresolved path: optimistic first (no
        symlink met), else resolve and retry.  Only for ops that are
        harmless on a symlink (the server refuses or only reports)."""
        if _simple(comps):
            c = self.c
            fid = c.alloc()
            try:
                (rw, _), (rop, fd), _ = c.batch(
                    (P.Twalk(c.root, fid, comps), op(fid), P.Tclunk(fid)))
            finally:
                c.release(fid)
            if type(rw) is P.Rerror:
                raise _oserr(rw.errno)
            if rw.errno:
                if fd is not None:
                    os.close(fd)
                raise _oserr(rw.errno)
            if not rw.link or not follow and len(rw.attrs) == len(comps):
                if type(rop) is P.Rerror:
                    raise _oserr(rop.errno)
                return rop if fd is None else (rop, fd)
            if fd is not None:
                os.close(fd)
        r = self._resolve(comps, follow)
        return self._on(r.names, op)

    def _parent(self, path):
        """(parent components, last name) of ``path``; the name may be
        ``.``/``..``/empty (the root), which callers refuse."""
        comps, slash = split(path)
        if not comps:
            return [], b"", slash
        return comps[:-1], comps[-1], slash

    def _at_parent(self, path, make_op, bad_name_errno=errno.EEXIST):
        """Run ``make_op(dirfid, name)`` on the parent directory of path."""
        parent, name, _ = self._parent(path)
        if name in (b"", b".", b".."):
            raise _oserr(bad_name_errno)
        return self._try_on(parent, lambda fid: make_op(fid, name), True)

    # -- operations ----------------------------------------------------

    def stat(self, path, follow=True):
        return self.resolve(path, follow).attr

    def lstat(self, path):
        return self.resolve(path, False).attr

    def open(self, path, flags, mode=0o666, uid=P.NOID, gid=P.NOID):
        """Open ``path`` as open(2) would; returns ``(fd, attr)``."""
        comps, slash = split(path)
        follow = not flags & os.O_NOFOLLOW or slash
        if slash:
            flags |= os.O_DIRECTORY
        creat = flags & os.O_CREAT
        excl = creat and flags & os.O_EXCL
        if creat and (not comps or slash):
            raise _oserr(errno.EISDIR)
        for _ in range(MAXSYMLINKS):
            if not excl:
                try:
                    r, fd = self._try_on(comps, lambda f: P.Topen(f, flags),
                                         follow)
                    return fd, r.attr
                except OSError as e:
                    if not creat or e.errno != errno.ENOENT:
                        raise
                # "If pathname is a dangling symlink, O_CREAT creates the
                # file it points to" unless O_EXCL - open(2)
                res = self._resolve(comps, follow, missing_ok=True)
                if res.attr is not None:
                    continue              # it appeared: open it
                parent, name = res.names[:-1], res.names[-1]
            else:
                if comps[-1] in (b".", b".."):
                    raise _oserr(errno.EEXIST)
                parent = self._resolve(comps[:-1], True).names
                name = comps[-1]
            try:
                r, fd = self._on(parent, lambda f: P.Tcreate(
                    f, P.NOFID, name, flags, mode, uid, gid))
                return fd, r.attr
            except OSError as e:
                if e.errno != errno.EEXIST or excl:
                    raise
        raise _oserr(errno.ELOOP)

    def readlink(self, path):
        r = self.resolve(path, follow=False)
        if not stat.S_ISLNK(r.attr.mode):
            raise _oserr(errno.EINVAL)
        return self._on(r.names, P.Treadlink).target

    def mkdir(self, path, mode, uid=P.NOID, gid=P.NOID):
        return self._at_parent(path, lambda d, n: P.Tmkdir(
            d, n, mode, uid, gid)).attr

    def mknod(self, path, mode, rdev=0, uid=P.NOID, gid=P.NOID):
        return self._at_parent(path, lambda d, n: P.Tmknod(
            d, n, mode, rdev, uid, gid)).attr

    def symlink(self, target, path, uid=P.NOID, gid=P.NOID):
        t = os.fsencode(target)
        return self._at_parent(path, lambda d, n: P.Tsymlink(
            d, n, t, uid, gid)).attr

    def link(self, old, new, follow=False):
        src = self.resolve(old, follow)
        c = self.c
        fid = c.alloc()
        try:
            c.walk(c.root, src.names, fid)
        except OSError:
            c.release(fid)
            raise
        try:
            return self._at_parent(new, lambda d, n: P.Tlink(d, n, fid)).attr
        finally:
            c.clunk(fid)

    def unlink(self, path):
        _, name, slash = self._parent(path)
        if name in (b"", b".", b".."):
            raise _oserr(errno.EISDIR if name else errno.EBUSY)
        if slash:
            raise _oserr(errno.EISDIR if stat.S_ISDIR(self.lstat(path).mode)
                         else errno.ENOTDIR)
        self._at_parent(path, lambda d, n: P.Tunlink(d, n, 0))

    def rmdir(self, path):
        _, name, _ = self._parent(path)
        bad = {b"": errno.EBUSY, b".": errno.EINVAL, b"..": errno.ENOTEMPTY}
        if name in bad:
            raise _oserr(bad[name])
        self._at_parent(path, lambda d, n: P.Tunlink(d, n, 0x200))

    def rename(self, old, new, flags=0):
        op, on, _ = self._parent(old)
        np_, nn, _ = self._parent(new)
        for n in (on, nn):
            if n in (b"", b".", b".."):
                raise _oserr(errno.EBUSY)
        a = self._resolve(op, True)
        b = self._resolve(np_, True)
        c = self.c
        fa, fb = c.alloc(), c.alloc()
        try:
            replies = c.batch((P.Twalk(c.root, fa, a.names),
                               P.Twalk(c.root, fb, b.names),
                               P.Trename(fa, on, fb, nn, flags),
                               P.Tclunk(fa), P.Tclunk(fb)))
        finally:
            c.release(fa)
            c.release(fb)
        for r, _ in replies[:3]:
            if type(r) is P.Rerror:
                raise _oserr(r.errno)
            if type(r) is P.Rwalk and r.errno:
                raise _oserr(r.errno)

    def _resolved_op(self, path, follow, op):
        """Ops that change the file: resolve first, never act on a symlink
        that ``follow`` says to follow."""
        r = self.resolve(path, follow)
        return self._on(r.names, op)

    def setattr(self, path, valid, mode=0, uid=0, gid=0, size=0,
                atime=(0, P.UTIME_OMIT), mtime=(0, P.UTIME_OMIT),
                follow=True):
        self._resolved_op(path, follow, lambda f: P.Tsetattr(
            f, valid, mode, uid, gid, size, atime[0], atime[1], mtime[0],
            mtime[1]))

    def chmod(self, path, mode, follow=True):
        self.setattr(path, P.SET_MODE, mode=mode, follow=follow)

    def chown(self, path, uid, gid, follow=True):
        valid = (P.SET_UID if uid != -1 else 0) | \
            (P.SET_GID if gid != -1 else 0)
        self.setattr(path, valid, uid=max(uid, 0), gid=max(gid, 0),
                     follow=follow)

    def truncate(self, path, size):
        self.setattr(path, P.SET_SIZE, size=size)

    def utimens(self, path, atime, mtime, follow=True):
        """``atime``/``mtime`` are ``(sec, nsec)`` with UTIME_NOW/OMIT."""
        self.setattr(path, P.SET_ATIME | P.SET_MTIME, atime=atime,
                     mtime=mtime, follow=follow)

    def statfs(self, path):
        return self._try_on(split(path)[0], P.Tstatfs, True).statfs

    def listdir(self, path):
        """Names in the directory (without ``.`` and ``..``)."""
        r = self.resolve(path)
        if not stat.S_ISDIR(r.attr.mode):
            raise _oserr(errno.ENOTDIR)
        c = self.c
        fid = c.alloc()
        c.walk(c.root, r.names, fid)
        names, off = [], 0
        try:
            while True:
                ents = c.readdir(fid, off)
                if not ents:
                    return names
                names.extend(e.name for e in ents
                             if e.name not in (b".", b".."))
                off = ents[-1].off
        finally:
            c.clunk(fid)

    def getxattr(self, path, name, follow=True):
        n = os.fsencode(name)
        return self._try_on(split(path)[0],
                            lambda f: P.Tgetxattr(f, n, P.MAX_MSIZE),
                            follow).value

    def listxattr(self, path, follow=True):
        raw = self._try_on(split(path)[0],
                           lambda f: P.Tlistxattr(f, P.MAX_MSIZE),
                           follow).names
        return [x for x in raw.split(b"\0") if x]

    def setxattr(self, path, name, value, flags=0, follow=True):
        n = os.fsencode(name)
        self._resolved_op(path, follow,
                          lambda f: P.Tsetxattr(f, n, value, flags))

    def removexattr(self, path, name, follow=True):
        n = os.fsencode(name)
        self._resolved_op(path, follow, lambda f: P.Tremovexattr(f, n))

    def connect(self, path, type=socket.SOCK_STREAM):
        """A new unix socket of ``type`` connected to the socket at path."""
        return self._try_on(split(path)[0],
                            lambda f: P.Tconnect(f, type), True)[1]

    def bind(self, path, type=socket.SOCK_STREAM, uid=P.NOID, gid=P.NOID):
        """A new unix socket of ``type`` bound at path; ``(fd, attr)``."""
        r, fd = self._at_parent(path, lambda d, n: P.Tbind(
            d, P.NOFID, n, type, uid, gid), errno.EADDRINUSE)
        return fd, r.attr
