"""The gofer protocol: message types, their wire encoding and the version.

This is the one module that both sides import: the server
(``runtime/gofer.py``) and the client the sentry uses
(``sentry/gofer/client.py``).  README.md next to it describes the protocol
and its trust model.

A frame is ``size:u32 type:u8 tag:u16`` followed by the message's fields,
little-endian; ``size`` counts the whole frame.  One frame travels in one
SOCK_SEQPACKET record, so the record length must equal ``size``.  Messages
are declared below as data: ``(id, name, fields)``; each becomes a
namedtuple class with ``ID`` and its codec.  Ids are never reused: a change
to a message's fields is a new message and a new VERSION.

Field kinds:
  B H I Q q   fixed integers (u8 u16 u32 u64 i64)
  s           bytes, u16 length (names, link targets)
  S           list of ``s``, u16 count
  b           bytes, u32 length (xattr values)
  A           Attr (statx-like, fixed size)
  As          list of Attr, u16 count
  F           Statfs (fixed size)
  D           list of Dirent, u16 count

``decode`` raises ProtocolError on anything that is not exactly one valid
frame: short or long frames, unknown types, counts larger than the frame,
trailing bytes.  It never trusts a length before checking it against what
is left.
"""
import collections
import struct

VERSION = b"pyrunsc.gofer.1"
#: Largest frame either side accepts; the version handshake may lower it.
MAX_MSIZE = 1 << 20
MIN_MSIZE = 8192
DEFAULT_MSIZE = 256 << 10
#: "No fid": a walk that only reports, without binding a new fid.
NOFID = 0xFFFFFFFF
#: "No id": an owner that the server leaves as it is.
NOID = 0xFFFFFFFF
NOTAG = 0xFFFF
#: Longest name in a walk or a create - NAME_MAX, limits.h.
NAME_MAX = 255
PATH_MAX = 4096
#: Most names in one walk.
MAX_WALK = 256

HEADER = struct.Struct("<IBH")

# setattr's ``valid`` bits
SET_MODE = 1
SET_UID = 2
SET_GID = 4
SET_SIZE = 8
SET_ATIME = 16
SET_MTIME = 32
# utimensat(2) special nanosecond values
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


class ProtocolError(Exception):
    """A frame that is not a valid message; the connection must close."""


Attr = collections.namedtuple(
    "Attr", "mode nlink uid gid rdev size blksize blocks atime_sec atime_nsec"
            " mtime_sec mtime_nsec ctime_sec ctime_nsec ino dev")
_ATTR = struct.Struct("<IQIIQQIQqIqIqIQQ")

Statfs = collections.namedtuple(
    "Statfs",
    "type bsize blocks bfree bavail files ffree namelen frsize flags")
_STATFS = struct.Struct("<10Q")

Dirent = collections.namedtuple("Dirent", "ino off type name")
_DIRENT = struct.Struct("<QQB")

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

# (id, name, fields) - T* are requests, R* replies.  Every request may be
# answered by Rerror(errno) instead of its reply.  "+fd" replies carry one
# host fd as SCM_RIGHTS.
MESSAGES = (
    (1, "Rerror", (("errno", "I"),)),
    (2, "Rok", ()),
    (3, "Tversion", (("msize", "I"), ("version", "s"))),
    (4, "Rversion", (("msize", "I"), ("version", "s"))),
    (5, "Tattach", (("fid", "I"),)),
    (6, "Rattach", (("attr", "A"),)),
    # newfid is bound only when every name was walked; ``attrs`` has one
    # entry per name walked; the walk stops after a symlink (``link`` is its
    # target) or at the name that failed (``errno``).
    (7, "Twalk", (("fid", "I"), ("newfid", "I"), ("names", "S"))),
    (8, "Rwalk", (("errno", "I"), ("attrs", "As"), ("link", "s"))),
    (9, "Topen", (("fid", "I"), ("flags", "I"))),
    (10, "Ropen", (("attr", "A"),)),                                  # +fd
    (11, "Tcreate", (("dirfid", "I"), ("newfid", "I"), ("name", "s"),
                     ("flags", "I"), ("mode", "I"), ("uid", "I"),
                     ("gid", "I"))),
    (12, "Rcreate", (("attr", "A"),)),                                # +fd
    (13, "Tmkdir", (("dirfid", "I"), ("name", "s"), ("mode", "I"),
                    ("uid", "I"), ("gid", "I"))),
    (14, "Tmknod", (("dirfid", "I"), ("name", "s"), ("mode", "I"),
                    ("rdev", "Q"), ("uid", "I"), ("gid", "I"))),
    (15, "Tsymlink", (("dirfid", "I"), ("name", "s"), ("target", "s"),
                      ("uid", "I"), ("gid", "I"))),
    (16, "Tlink", (("dirfid", "I"), ("name", "s"), ("fid", "I"))),
    (17, "Rnode", (("attr", "A"),)),        # mkdir, mknod, symlink, link
    (18, "Tunlink", (("dirfid", "I"), ("name", "s"), ("flags", "I"))),
    (19, "Trename", (("olddirfid", "I"), ("oldname", "s"),
                     ("newdirfid", "I"), ("newname", "s"), ("flags", "I"))),
    (20, "Treadlink", (("fid", "I"),)),
    (21, "Rreadlink", (("target", "s"),)),
    (22, "Tgetattr", (("fid", "I"),)),
    (23, "Rgetattr", (("attr", "A"),)),
    (24, "Tsetattr", (("fid", "I"), ("valid", "I"), ("mode", "I"),
                      ("uid", "I"), ("gid", "I"), ("size", "Q"),
                      ("atime_sec", "q"), ("atime_nsec", "I"),
                      ("mtime_sec", "q"), ("mtime_nsec", "I"))),
    (25, "Treaddir", (("fid", "I"), ("offset", "Q"), ("count", "I"))),
    (26, "Rreaddir", (("entries", "D"),)),
    (27, "Tstatfs", (("fid", "I"),)),
    (28, "Rstatfs", (("statfs", "F"),)),
    (29, "Tfsync", (("fid", "I"), ("datasync", "I"))),
    (30, "Tflush", (("oldtag", "H"),)),
    (31, "Tclunk", (("fid", "I"),)),
    (32, "Tgetxattr", (("fid", "I"), ("name", "s"), ("size", "I"))),
    (33, "Rgetxattr", (("size", "I"), ("value", "b"))),
    (34, "Tsetxattr", (("fid", "I"), ("name", "s"), ("value", "b"),
                       ("flags", "I"))),
    (35, "Tlistxattr", (("fid", "I"), ("size", "I"))),
    (36, "Rlistxattr", (("size", "I"), ("names", "b"))),
    (37, "Tremovexattr", (("fid", "I"), ("name", "s"))),
    # a socket of ``type`` connected to the unix socket file at fid
    (38, "Tconnect", (("fid", "I"), ("type", "I"))),
    (39, "Rconnect", ()),                                             # +fd
    # a socket of ``type`` bound at dirfid/name, owned by uid:gid
    (40, "Tbind", (("dirfid", "I"), ("newfid", "I"), ("name", "s"),
                   ("type", "I"), ("uid", "I"), ("gid", "I"))),
    (41, "Rbind", (("attr", "A"),)),                                  # +fd
)

#: Replies that carry one fd.
FD_REPLIES = frozenset((10, 12, 39, 41))

TYPES = {}          # id -> class
BY_NAME = {}        # name -> class


def _parts(fields):
    """Group the fields into runs of fixed integers and single variable
    fields: [(struct or kind, n_fields)]."""
    parts, run = [], ""
    for _, kind in fields:
        if kind in "BHIQq" and len(kind) == 1:
            run += kind
            continue
        if run:
            parts.append((struct.Struct("<" + run), len(run)))
            run = ""
        parts.append((kind, 1))
    if run:
        parts.append((struct.Struct("<" + run), len(run)))
    return tuple(parts)


_FIXED_FMT = {"A": _ATTR.format[1:], "F": _STATFS.format[1:]}
_GROUP = {"A": (Attr, len(Attr._fields)), "F": (Statfs, len(Statfs._fields))}


def _fixed(fields):
    """For a message of fixed size only (integers, Attr, Statfs): the
    struct of its whole frame, and how to regroup the flat values into
    fields (``None`` when they map one to one)."""
    fmt, groups = "", []
    for _, kind in fields:
        if kind in _FIXED_FMT:
            fmt += _FIXED_FMT[kind]
            groups.append(_GROUP[kind])
        elif len(kind) == 1 and kind in "BHIQq":
            fmt += kind
            groups.append(None)
        else:
            return None, None
    regroup = groups if any(groups) else None
    return struct.Struct("<IBH" + fmt), regroup


def _define(mid, name, fields):
    cls = collections.namedtuple(name, [f for f, _ in fields])
    cls.ID = mid
    cls.PARTS = _parts(fields)
    cls.FIXED, cls.REGROUP = _fixed(fields)
    cls.__repr__ = _short_repr
    TYPES[mid] = cls
    BY_NAME[name] = cls
    globals()[name] = cls
    return cls


def _short_repr(self):
    body = ", ".join(f"{k}={v!r:.60}" for k, v in zip(self._fields, self))
    return f"{type(self).__name__}({body})"


for _mid, _name, _fields in MESSAGES:
    _define(_mid, _name, _fields)
del _mid, _name, _fields


# -- encoding ------------------------------------------------------------

def _enc_s(out, v):
    if len(v) > 0xFFFF:
        raise ValueError("string longer than 65535 bytes")
    out.append(_U16.pack(len(v)))
    out.append(v)


def _enc_var(out, kind, v):
    if kind == "s":
        _enc_s(out, v)
    elif kind == "S":
        out.append(_U16.pack(len(v)))
        for x in v:
            _enc_s(out, x)
    elif kind == "b":
        out.append(_U32.pack(len(v)))
        out.append(v)
    elif kind == "A":
        out.append(_ATTR.pack(*v))
    elif kind == "As":
        out.append(_U16.pack(len(v)))
        for a in v:
            out.append(_ATTR.pack(*a))
    elif kind == "F":
        out.append(_STATFS.pack(*v))
    elif kind == "D":
        out.append(_U16.pack(len(v)))
        for d in v:
            out.append(_DIRENT.pack(d.ino, d.off, d.type))
            _enc_s(out, d.name)
    else:
        raise AssertionError(kind)


def encode(msg, tag):
    """The frame of ``msg`` (a message instance) with ``tag``."""
    special = _ENCODERS.get(msg.ID)
    if special is not None:
        return special(msg, tag)
    return encode_generic(msg, tag)


def encode_generic(msg, tag):
    """``encode`` from the field table alone (the reference for the
    hand-written codecs of the hot messages)."""
    fixed = msg.FIXED
    if fixed is not None:
        if msg.REGROUP is None:
            return fixed.pack(fixed.size, msg.ID, tag, *msg)
        flat = []
        for v, g in zip(msg, msg.REGROUP):
            if g is None:
                flat.append(v)
            else:
                flat.extend(v)
        return fixed.pack(fixed.size, msg.ID, tag, *flat)
    out = [b""]
    i = 0
    for part, n in msg.PARTS:
        if n == 1 and isinstance(part, str):
            _enc_var(out, part, msg[i])
        else:
            out.append(part.pack(*msg[i:i + n]))
        i += n
    body = b"".join(out)
    return HEADER.pack(HEADER.size + len(body), msg.ID, tag) + body


# -- decoding ------------------------------------------------------------

def _need(buf, off, n):
    if off + n > len(buf):
        raise ProtocolError(f"field runs past the end of the frame at {off}")


def _dec_s(buf, off):
    _need(buf, off, 2)
    (n,) = _U16.unpack_from(buf, off)
    off += 2
    _need(buf, off, n)
    return bytes(buf[off:off + n]), off + n


def _dec_var(buf, off, kind):
    if kind == "s":
        return _dec_s(buf, off)
    if kind == "b":
        _need(buf, off, 4)
        (n,) = _U32.unpack_from(buf, off)
        off += 4
        _need(buf, off, n)
        return bytes(buf[off:off + n]), off + n
    if kind == "A":
        _need(buf, off, _ATTR.size)
        return Attr._make(_ATTR.unpack_from(buf, off)), off + _ATTR.size
    if kind == "F":
        _need(buf, off, _STATFS.size)
        return Statfs._make(_STATFS.unpack_from(buf, off)), off + _STATFS.size
    _need(buf, off, 2)
    (count,) = _U16.unpack_from(buf, off)
    off += 2
    items = []
    if kind == "S":
        # each name takes 2 bytes at least: check the count first
        _need(buf, off, 2 * count)
        for _ in range(count):
            v, off = _dec_s(buf, off)
            items.append(v)
    elif kind == "As":
        _need(buf, off, _ATTR.size * count)
        for _ in range(count):
            items.append(Attr._make(_ATTR.unpack_from(buf, off)))
            off += _ATTR.size
    elif kind == "D":
        _need(buf, off, (_DIRENT.size + 2) * count)
        for _ in range(count):
            _need(buf, off, _DIRENT.size)
            ino, doff, typ = _DIRENT.unpack_from(buf, off)
            name, off = _dec_s(buf, off + _DIRENT.size)
            items.append(Dirent(ino, doff, typ, name))
    else:
        raise AssertionError(kind)
    return items, off


def decode(buf, msize=MAX_MSIZE):
    """Decode one frame: returns ``(msg, tag)``.

    ``buf`` is exactly the bytes of one record.  Raises ProtocolError for
    anything but one well-formed frame no longer than ``msize``.
    """
    n = len(buf)
    if n < HEADER.size:
        raise ProtocolError(f"short frame of {n} bytes")
    size, mid, tag = HEADER.unpack_from(buf, 0)
    if size != n:
        raise ProtocolError(f"frame size {size} does not match record of {n}")
    if size > msize:
        raise ProtocolError(f"frame of {size} bytes exceeds msize {msize}")
    cls = TYPES.get(mid)
    if cls is None:
        raise ProtocolError(f"unknown message type {mid}")
    special = _DECODERS.get(mid)
    if special is not None:
        return special(buf, n), tag
    return decode_generic(buf, n, cls), tag


def decode_generic(buf, n, cls):
    """The body of ``decode`` from the field table alone."""
    fixed = cls.FIXED
    if fixed is not None:
        if n != fixed.size:
            raise ProtocolError(f"{cls.__name__} of {n} bytes, not "
                                f"{fixed.size}: field runs past the end"
                                if n < fixed.size else
                                f"{n - fixed.size} trailing bytes after "
                                f"{cls.__name__}")
        vals = fixed.unpack_from(buf, 0)
        if cls.REGROUP is None:
            return cls._make(vals[3:])
        out, i = [], 3
        for g in cls.REGROUP:
            if g is None:
                out.append(vals[i])
                i += 1
            else:
                out.append(g[0]._make(vals[i:i + g[1]]))
                i += g[1]
        return cls._make(out)
    off = HEADER.size
    vals = []
    try:
        for part, k in cls.PARTS:
            if k == 1 and isinstance(part, str):
                v, off = _dec_var(buf, off, part)
                vals.append(v)
            else:
                _need(buf, off, part.size)
                vals.extend(part.unpack_from(buf, off))
                off += part.size
    except struct.error as e:             # pragma: no cover - _need guards
        raise ProtocolError(f"malformed {cls.__name__}: {e}") from None
    if off != n:
        raise ProtocolError(f"{n - off} trailing bytes after {cls.__name__}")
    return cls._make(vals)


# -- the hot messages, by hand (same bytes as the generic codec) ----------

_WALK_HEAD = struct.Struct("<IBHIIH")
_RWALK_HEAD = struct.Struct("<IBHIH")


def _enc_twalk(msg, tag):
    out = [b""]
    for name in msg.names:
        if len(name) > 0xFFFF:
            raise ValueError("string longer than 65535 bytes")
        out.append(_U16.pack(len(name)))
        out.append(name)
    body = b"".join(out)
    return _WALK_HEAD.pack(_WALK_HEAD.size + len(body), Twalk.ID, tag,
                           msg.fid, msg.newfid, len(msg.names)) + body


def _dec_twalk(buf, n):
    if n < _WALK_HEAD.size:
        raise ProtocolError("field runs past the end of the frame at 7")
    _, _, _, fid, newfid, count = _WALK_HEAD.unpack_from(buf, 0)
    off = _WALK_HEAD.size
    if off + 2 * count > n:
        raise ProtocolError(f"field runs past the end of the frame at {off}")
    names = []
    u16 = _U16.unpack_from
    for _ in range(count):
        if off + 2 > n:
            raise ProtocolError(f"field runs past the end of the frame at "
                                f"{off}")
        end = off + 2 + u16(buf, off)[0]
        if end > n:
            raise ProtocolError(f"field runs past the end of the frame at "
                                f"{off + 2}")
        names.append(bytes(buf[off + 2:end]))
        off = end
    if off != n:
        raise ProtocolError(f"{n - off} trailing bytes after Twalk")
    return Twalk(fid, newfid, names)


def _enc_rwalk(msg, tag):
    pack = _ATTR.pack
    link = msg.link
    if len(link) > 0xFFFF or len(msg.attrs) > 0xFFFF:
        raise ValueError("Rwalk field too long")
    body = b"".join([pack(*a) for a in msg.attrs]) + \
        _U16.pack(len(link)) + link
    return _RWALK_HEAD.pack(_RWALK_HEAD.size + len(body), Rwalk.ID, tag,
                            msg.errno, len(msg.attrs)) + body


def _dec_rwalk(buf, n):
    if n < _RWALK_HEAD.size:
        raise ProtocolError("field runs past the end of the frame at 7")
    _, _, _, err, count = _RWALK_HEAD.unpack_from(buf, 0)
    off = _RWALK_HEAD.size
    end = off + _ATTR.size * count
    if end + 2 > n:
        raise ProtocolError(f"field runs past the end of the frame at {off}")
    make = Attr._make
    attrs = [make(t) for t in _ATTR.iter_unpack(buf[off:end])]
    k = _U16.unpack_from(buf, end)[0]
    if end + 2 + k > n:
        raise ProtocolError(f"field runs past the end of the frame at "
                            f"{end + 2}")
    if end + 2 + k != n:
        raise ProtocolError(f"{n - end - 2 - k} trailing bytes after Rwalk")
    return Rwalk(err, attrs, bytes(buf[end + 2:n]))


_ENCODERS = {Twalk.ID: _enc_twalk, Rwalk.ID: _enc_rwalk}
_DECODERS = {Twalk.ID: _dec_twalk, Rwalk.ID: _dec_rwalk}


def attr_from_stat(st):
    """An Attr from an ``os.stat_result``."""
    a, an = divmod(st.st_atime_ns, 1000000000)
    m, mn = divmod(st.st_mtime_ns, 1000000000)
    c, cn = divmod(st.st_ctime_ns, 1000000000)
    return _new_attr(Attr, (st.st_mode, st.st_nlink, st.st_uid, st.st_gid,
                            st.st_rdev, st.st_size, st.st_blksize,
                            st.st_blocks, a, an, m, mn, c, cn, st.st_ino,
                            st.st_dev))


_new_attr = tuple.__new__


def rwalk_max(count):
    """The largest Rwalk frame of a walk of ``count`` names."""
    return HEADER.size + 6 + _ATTR.size * count + 2 + PATH_MAX


def valid_name(name):
    """A single path component the server accepts: not empty, no ``/`` or
    NUL, not ``.`` or ``..``, at most NAME_MAX bytes."""
    return (0 < len(name) <= NAME_MAX and name != b"." and name != b".."
            and b"/" not in name and b"\0" not in name)
