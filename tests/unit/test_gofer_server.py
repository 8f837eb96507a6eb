"""The gofer server against a temporary tree: every message round trip
through the low-level client, the fid rules and the errno answers."""
import errno
import os
import socket
import stat

import pytest

from gofer_fixtures import SERVERS, ServerFactory
from sentry.gofer import client as gc
from sentry.gofer import proto as P


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "d" / "sub").mkdir(parents=True)
    (root / "d" / "f").write_bytes(b"hello")
    (root / "d" / "sub" / "g").write_bytes(b"deep")
    os.symlink("f", root / "d" / "lf")
    os.symlink("/d", root / "abs")
    os.mkfifo(root / "fifo")
    os.mknod(root / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return root


@pytest.fixture(params=SERVERS)
def factory(tree, request):
    f = ServerFactory(str(tree), accel=request.param)
    try:
        yield f
    finally:
        f.close()


@pytest.fixture
def c(factory):
    cl = factory.client()
    try:
        yield cl
    finally:
        cl.close()


def err(exc_info):
    return exc_info.value.errno


def walkfid(c, names):
    fid = c.alloc()
    c.walk(c.root, [os.fsencode(n) for n in names], fid)
    return fid


# -- version and attach ------------------------------------------------

def test_version_and_attach(c, tree):
    assert c.msize == P.DEFAULT_MSIZE
    assert c.root_attr.ino == os.stat(tree).st_ino
    assert stat.S_ISDIR(c.root_attr.mode)


def test_wrong_version_is_refused_and_closed(factory):
    s = factory.connect()
    s.sendall(P.encode(P.Tversion(P.DEFAULT_MSIZE, b"9P2000.L"), 1))
    msg, _ = P.decode(s.recv(4096))
    assert msg == P.Rerror(errno.EPROTONOSUPPORT)
    assert s.recv(4096) == b""


def test_msize_is_capped(factory):
    s = factory.connect()
    s.sendall(P.encode(P.Tversion(1 << 30, P.VERSION), 1))
    msg, _ = P.decode(s.recv(4096))
    assert msg.msize == P.MAX_MSIZE


# -- walk ----------------------------------------------------------------

def test_walk_full_binds_newfid(c, tree):
    fid = c.alloc()
    r = c.walk(c.root, [b"d", b"sub", b"g"], fid)
    assert r.errno == 0 and r.link == b""
    assert [a.ino for a in r.attrs] == [
        os.stat(tree / p).st_ino for p in ("d", "d/sub", "d/sub/g")]
    assert c.getattr(fid).size == 4
    c.clunk(fid)


def test_walk_stops_after_a_symlink_and_reports_it(c):
    fid = c.alloc()
    r = c.walk(c.root, [b"abs", b"f"], fid)
    assert r.errno == 0 and r.link == b"/d" and len(r.attrs) == 1
    assert stat.S_ISLNK(r.attrs[0].mode)
    with pytest.raises(OSError) as e:
        c.getattr(fid)                  # not bound: the walk was partial
    assert err(e) == errno.EBADF


def test_walk_onto_a_final_symlink_binds_the_symlink(c):
    fid = walkfid(c, ["d", "lf"])
    assert c.readlink(fid) == b"f"
    with pytest.raises(OSError) as e:
        c.open(fid, os.O_RDONLY)
    assert err(e) == errno.ELOOP
    with pytest.raises(OSError) as e:
        c.mkdir(fid, b"x", 0o755)
    assert err(e) == errno.ENOTDIR


def test_walk_errors(c):
    with pytest.raises(OSError) as e:
        c.walk(c.root, [b"nope"])
    assert err(e) == errno.ENOENT
    r = c.walk(c.root, [b"d", b"nope", b"x"])
    assert r.errno == errno.ENOENT and len(r.attrs) == 1
    r = c.walk(c.root, [b"d", b"f", b"x"])
    assert r.errno == errno.ENOTDIR and len(r.attrs) == 2


@pytest.mark.parametrize("bad", [b"..", b".", b"", b"a/b", b"/", b"a\0b"])
def test_walk_refuses_names_that_are_not_one_component(c, bad):
    with pytest.raises(OSError) as e:
        c.walk(c.root, [b"d", bad])
    assert err(e) == errno.EINVAL


def test_walk_name_too_long(c):
    with pytest.raises(OSError) as e:
        c.walk(c.root, [b"x" * 256])
    assert err(e) == errno.ENAMETOOLONG


def test_walk_zero_names_clones_and_newfid_in_use_is_ebadf(c):
    fid = walkfid(c, [])
    assert c.getattr(fid).ino == c.root_attr.ino
    with pytest.raises(OSError) as e:
        c.walk(c.root, [b"d"], fid)
    assert err(e) == errno.EBADF
    with pytest.raises(OSError) as e:
        c.walk(12345, [b"d"])
    assert err(e) == errno.EBADF


# -- open and create -----------------------------------------------------

def test_open_regular_file_returns_a_host_fd(c):
    fid = walkfid(c, ["d", "f"])
    fd, attr = c.open(fid, os.O_RDONLY)
    try:
        assert os.read(fd, 10) == b"hello"
        assert attr.size == 5
        assert os.get_inheritable(fd) is False
    finally:
        os.close(fd)


def test_open_directory_and_directory_rules(c):
    d = walkfid(c, ["d"])
    fd, _ = c.open(d, os.O_RDONLY | os.O_DIRECTORY)
    assert sorted(os.listdir(fd)) == ["f", "lf", "sub"]
    os.close(fd)
    with pytest.raises(OSError) as e:
        c.open(d, os.O_WRONLY)
    assert err(e) == errno.EISDIR
    f = walkfid(c, ["d", "f"])
    with pytest.raises(OSError) as e:
        c.open(f, os.O_RDONLY | os.O_DIRECTORY)
    assert err(e) == errno.ENOTDIR


def test_open_never_gives_a_device(c):
    fid = walkfid(c, ["null"])
    for flags in (os.O_RDONLY, os.O_RDWR, os.O_PATH):
        with pytest.raises(OSError) as e:
            c.open(fid, flags)
        assert err(e) == errno.EACCES


def test_open_fifo_does_not_block_the_server(c):
    fid = walkfid(c, ["fifo"])
    fd, _ = c.open(fid, os.O_RDONLY)
    assert os.get_blocking(fd)
    os.close(fd)
    with pytest.raises(OSError) as e:   # no reader: ENXIO, never a hang
        c.open(fid, os.O_WRONLY | os.O_NONBLOCK)
    assert err(e) == errno.ENXIO


def test_open_o_path_of_a_symlink(c):
    fid = walkfid(c, ["d", "lf"])
    fd, attr = c.open(fid, os.O_PATH)
    try:
        assert stat.S_ISLNK(attr.mode)
        assert os.readlink("", dir_fd=fd) == "f"
    finally:
        os.close(fd)


def test_open_with_trunc(c, tree):
    fid = walkfid(c, ["d", "f"])
    fd, _ = c.open(fid, os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    assert (tree / "d" / "f").read_bytes() == b""


def test_create_exact_mode_owner_and_exclusive(c, tree):
    d = walkfid(c, ["d"])
    newfid = c.alloc()
    fd, attr = c.create(d, b"new", os.O_RDWR, 0o4751, 1234, 5678, newfid)
    try:
        os.write(fd, b"abc")
    finally:
        os.close(fd)
    st = os.stat(tree / "d" / "new")
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o4751, 1234, 5678)
    assert attr.ino == st.st_ino
    assert c.getattr(newfid).size == 3
    with pytest.raises(OSError) as e:
        c.create(d, b"new", os.O_RDWR, 0o644)
    assert err(e) == errno.EEXIST
    with pytest.raises(OSError) as e:   # an existing symlink: never followed
        c.create(d, b"lf", os.O_RDWR, 0o644)
    assert err(e) == errno.EEXIST


# -- names ------------------------------------------------------------

def test_mkdir_mknod_symlink_link(c, tree):
    d = walkfid(c, ["d"])
    a = c.mkdir(d, b"m", 0o711, 7, 8)
    st = os.stat(tree / "d" / "m")
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o711, 7, 8)
    assert a.ino == st.st_ino
    c.mknod(d, b"p", stat.S_IFIFO | 0o600)
    assert stat.S_ISFIFO(os.stat(tree / "d" / "p").st_mode)
    c.mknod(d, b"r", 0o640)         # "Zero file type ... S_IFREG" - mknod(2)
    assert stat.S_ISREG(os.stat(tree / "d" / "r").st_mode)
    with pytest.raises(OSError) as e:
        c.mknod(d, b"dev", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    assert err(e) == errno.EPERM
    with pytest.raises(OSError) as e:
        c.mknod(d, b"dir", stat.S_IFDIR | 0o600)
    assert err(e) == errno.EINVAL
    c.symlink(d, b"s", b"../../../etc", 9, 10)
    assert os.readlink(tree / "d" / "s") == "../../../etc"
    assert os.lstat(tree / "d" / "s").st_uid == 9
    f = walkfid(c, ["d", "f"])
    a = c.link(d, b"hard", f)
    assert a.nlink == 2
    assert os.stat(tree / "d" / "hard").st_ino == os.stat(tree / "d/f").st_ino
    with pytest.raises(OSError) as e:
        c.link(d, b"hd", d)
    assert err(e) == errno.EPERM


def test_unlink_and_rmdir(c, tree):
    d = walkfid(c, ["d"])
    c.unlink(d, b"f")
    assert not (tree / "d" / "f").exists()
    with pytest.raises(OSError) as e:
        c.unlink(d, b"sub", 0x200)
    assert err(e) == errno.ENOTEMPTY
    with pytest.raises(OSError) as e:
        c.unlink(d, b"lf", 0x4000)
    assert err(e) == errno.EINVAL
    c.unlink(d, b"lf")              # the symlink, not its target
    c.unlink(walkfid(c, ["d", "sub"]), b"g")
    c.unlink(d, b"sub", 0x200)
    assert os.listdir(tree / "d") == []


def test_rename_across_directories_and_flags(c, tree):
    d = walkfid(c, ["d"])
    sub = walkfid(c, ["d", "sub"])
    c.rename(d, b"f", sub, b"f2")
    assert (tree / "d" / "sub" / "f2").read_bytes() == b"hello"
    with pytest.raises(OSError) as e:
        c.rename(sub, b"f2", sub, b"g", 1)      # RENAME_NOREPLACE
    assert err(e) == errno.EEXIST
    c.rename(sub, b"f2", sub, b"g", 2)          # RENAME_EXCHANGE
    assert (tree / "d" / "sub" / "g").read_bytes() == b"hello"
    assert (tree / "d" / "sub" / "f2").read_bytes() == b"deep"
    with pytest.raises(OSError) as e:
        c.rename(sub, b"g", sub, b"h", 4)       # RENAME_WHITEOUT refused
    assert err(e) == errno.EINVAL


def test_readlink_of_a_non_symlink(c):
    with pytest.raises(OSError) as e:
        c.readlink(walkfid(c, ["d"]))
    assert err(e) == errno.EINVAL


# -- attributes ------------------------------------------------------------

def test_setattr_every_field(c, tree):
    fid = walkfid(c, ["d", "f"])
    c.setattr(fid, P.SET_SIZE | P.SET_UID | P.SET_GID | P.SET_MODE |
              P.SET_ATIME | P.SET_MTIME, mode=0o2640, uid=11, gid=12,
              size=100, atime=(1000, 5), mtime=(2000, 6))
    st = os.stat(tree / "d" / "f")
    assert st.st_size == 100
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (11, 12, 0o2640)
    assert st.st_atime_ns == 1000 * 10**9 + 5
    assert st.st_mtime_ns == 2000 * 10**9 + 6
    c.setattr(fid, P.SET_ATIME | P.SET_MTIME, atime=(0, P.UTIME_OMIT),
              mtime=(0, P.UTIME_NOW))
    st2 = os.stat(tree / "d" / "f")
    assert st2.st_atime_ns == st.st_atime_ns
    assert st2.st_mtime > 2000
    with pytest.raises(OSError) as e:
        c.setattr(fid, P.SET_MTIME, mtime=(0, 2 * 10**9))
    assert err(e) == errno.EINVAL


def test_setattr_on_a_symlink_acts_on_the_link(c, tree):
    fid = walkfid(c, ["d", "lf"])
    c.setattr(fid, P.SET_UID | P.SET_MTIME, uid=77, mtime=(3000, 0))
    assert os.lstat(tree / "d" / "lf").st_uid == 77
    assert os.lstat(tree / "d" / "lf").st_mtime == 3000
    assert os.stat(tree / "d" / "f").st_uid == 0
    with pytest.raises(OSError) as e:
        c.setattr(fid, P.SET_MODE, mode=0o600)
    assert err(e) == errno.EOPNOTSUPP
    with pytest.raises(OSError) as e:
        c.setattr(fid, P.SET_SIZE, size=0)
    assert err(e) == errno.EINVAL


def test_readdir_in_chunks_with_offsets(c, tree):
    big = tree / "big"
    big.mkdir()
    names = {f"file-{i:04d}-{'x' * 40}" for i in range(600)}
    for n in names:
        (big / n).touch()
    fid = walkfid(c, ["big"])
    seen, off, chunks = [], 0, 0
    while True:
        ents = c.readdir(fid, off, 4096)
        if not ents:
            break
        chunks += 1
        seen.extend(e.name.decode() for e in ents)
        off = ents[-1].off
    assert chunks > 5
    assert sorted(seen) == sorted(names | {".", ".."})
    with pytest.raises(OSError) as e:
        c.readdir(walkfid(c, ["d", "f"]))
    assert err(e) == errno.ENOTDIR


def test_statfs_fsync_flush_clunk(c, tree):
    fid = walkfid(c, ["d", "f"])
    s = c.statfs(fid)
    v = os.statvfs(tree)
    assert (s.bsize, s.blocks, s.namelen) == (v.f_bsize, v.f_blocks,
                                              v.f_namemax)
    c.fsync(fid)
    c.fsync(fid, datasync=True)
    c.flush(1)
    c.clunk(fid)
    with pytest.raises(OSError) as e:
        c.clunk(fid)
    assert err(e) == errno.EBADF


def test_xattrs(c, tree):
    fid = walkfid(c, ["d", "f"])
    c.setxattr(fid, b"user.k", b"value")
    assert c.getxattr(fid, b"user.k") == b"value"
    assert c.call(P.Tgetxattr(fid, b"user.k", 0)) == P.Rgetxattr(5, b"")
    with pytest.raises(OSError) as e:
        c.getxattr(fid, b"user.k", 2)
    assert err(e) == errno.ERANGE
    with pytest.raises(OSError) as e:
        c.setxattr(fid, b"user.k", b"v", os.XATTR_CREATE)
    assert err(e) == errno.EEXIST
    assert c.listxattr(fid) == [b"user.k"]
    assert os.getxattr(tree / "d" / "f", "user.k") == b"value"
    c.removexattr(fid, b"user.k")
    with pytest.raises(OSError) as e:
        c.getxattr(fid, b"user.k")
    assert err(e) == errno.ENODATA


def test_bind_and_connect_unix_sockets(c, tree):
    d = walkfid(c, ["d"])
    newfid = c.alloc()
    fd, attr = c.bind(d, b"sock", socket.SOCK_STREAM, 5, 6, newfid)
    srv = socket.socket(fileno=fd)
    try:
        srv.listen()
        assert stat.S_ISSOCK(os.stat(tree / "d" / "sock").st_mode)
        assert os.stat(tree / "d" / "sock").st_uid == 5
        cfd = c.connect(newfid, socket.SOCK_STREAM)
        with socket.socket(fileno=cfd) as cl:
            conn, _ = srv.accept()
            with conn:
                cl.sendall(b"ping")
                assert conn.recv(4) == b"ping"
        with pytest.raises(OSError) as e:
            c.connect(walkfid(c, ["d", "f"]))
        assert err(e) == errno.ECONNREFUSED
        with pytest.raises(OSError) as e:
            c.open(newfid, os.O_RDONLY)
        assert err(e) == errno.ENXIO
    finally:
        srv.close()


def test_readonly_server_refuses_changes(tree):
    f = ServerFactory(str(tree), readonly=True)
    try:
        c = f.client()
        d = walkfid(c, ["d"])
        for call in (lambda: c.mkdir(d, b"x", 0o755),
                     lambda: c.create(d, b"x", os.O_RDWR, 0o644),
                     lambda: c.unlink(d, b"f"),
                     lambda: c.open(walkfid(c, ["d", "f"]), os.O_WRONLY)):
            with pytest.raises(OSError) as e:
                call()
            assert err(e) == errno.EROFS
        fd, _ = c.open(walkfid(c, ["d", "f"]), os.O_RDONLY)
        os.close(fd)
        c.close()
    finally:
        f.close()


def test_batch_pipelines_in_order(c):
    fid = c.alloc()
    replies = c.batch([P.Twalk(c.root, fid, [b"d", b"f"]), P.Tgetattr(fid),
                       P.Tclunk(fid), P.Tgetattr(fid)])
    kinds = [type(r).__name__ for r, _ in replies]
    assert kinds == ["Rwalk", "Rgetattr", "Rok", "Rerror"]
    assert replies[1][0].attr.size == 5


def test_server_death_gives_eio_not_a_hang(factory):
    c = factory.client()
    fs = gc.GoferFs(c)
    assert fs.stat("/d/f").size == 5
    factory.close()
    for _ in range(2):
        with pytest.raises(OSError) as e:
            fs.stat("/d/f")
        assert err(e) == errno.EIO


def test_a_walk_whose_reply_would_not_fit_msize_is_e2big(factory):
    c = gc.Client(factory.connect(), msize=P.MIN_MSIZE)
    try:
        with pytest.raises(OSError) as e:
            c.walk(c.root, [b"d"] * 50)
        assert err(e) == errno.E2BIG
        assert c.walk(c.root, [b"d"]).errno == 0
        with pytest.raises(OSError) as e:
            c.walk(c.root, [b"d"] * (P.MAX_WALK + 1))
        assert err(e) == errno.E2BIG
    finally:
        c.close()
