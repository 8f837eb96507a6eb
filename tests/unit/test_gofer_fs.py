"""GoferFs, the path-level backend: symlink following inside the root,
``..`` clamped at the root, and escapes that never reach outside it."""
import errno
import os
import stat
import threading

import pytest

from gofer_fixtures import SERVERS, ServerFactory
from sentry.gofer import client as gc


@pytest.fixture
def tree(tmp_path):
    """root/ is served; outside/ next to it holds what must stay unseen."""
    root = tmp_path / "root"
    out = tmp_path / "outside"
    (root / "d" / "sub").mkdir(parents=True)
    out.mkdir()
    (out / "secret").write_bytes(b"SECRET")
    (root / "secret").write_bytes(b"inside")
    (root / "d" / "f").write_bytes(b"hello")
    os.symlink("f", root / "d" / "rel")
    os.symlink("/d/f", root / "d" / "absl")
    os.symlink("../..", root / "d" / "up")
    os.symlink("sub", root / "d" / "sublink")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("nowhere", root / "dangling")
    os.symlink(str(out), root / "hostdir")             # absolute host path
    os.symlink("../../outside/secret", root / "relesc")
    os.symlink("/../../../outside/secret", root / "absesc")
    return root


@pytest.fixture(params=SERVERS)
def fs(tree, request):
    f = ServerFactory(str(tree), accel=request.param)
    c = f.client()
    try:
        yield gc.GoferFs(c)
    finally:
        c.close()
        f.close()


def errno_of(fn, *a, **kw):
    with pytest.raises(OSError) as e:
        fn(*a, **kw)
    return e.value.errno


def read(fs, path, flags=os.O_RDONLY):
    fd, _ = fs.open(path, flags)
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_stat_follows_symlinks_and_lstat_does_not(fs, tree):
    ino = os.stat(tree / "d" / "f").st_ino
    for p in ("/d/f", "/d/rel", "/d/absl", "d/rel", "/d/./f", "/d/sub/../f",
              "/d/sublink/../f"):
        assert fs.stat(p).ino == ino, p
    assert stat.S_ISLNK(fs.lstat("/d/rel").mode)
    assert fs.stat("/").ino == os.stat(tree).st_ino


def test_dotdot_is_clamped_at_the_root(fs, tree):
    assert fs.stat("/../../..").ino == os.stat(tree).st_ino
    assert read(fs, "/../../secret") == b"inside"
    assert fs.stat("/d/up").ino == os.stat(tree).st_ino
    assert read(fs, "/d/up/secret") == b"inside"
    assert read(fs, "/d/up/../../d/f") == b"hello"


def test_symlinks_never_lead_outside(fs):
    # relative ../.., absolute with .., an absolute host path
    assert errno_of(fs.open, "/relesc", os.O_RDONLY) == errno.ENOENT
    assert errno_of(fs.open, "/absesc", os.O_RDONLY) == errno.ENOENT
    assert errno_of(fs.stat, "/hostdir/secret") == errno.ENOENT
    assert errno_of(fs.listdir, "/hostdir") == errno.ENOENT


def test_creating_through_an_escaping_symlink_stays_inside(fs, tree):
    # the escapes, clamped at the root, name root/outside/secret
    (tree / "outside").mkdir()
    fd, _ = fs.open("/relesc", os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"a")
    os.close(fd)
    fd, _ = fs.open("/absesc", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    os.write(fd, b"b")
    os.close(fd)
    assert (tree / "outside" / "secret").read_bytes() == b"ab"
    assert errno_of(fs.open, "/hostdir/new", os.O_CREAT | os.O_WRONLY,
                    0o644) == errno.ENOENT
    assert errno_of(fs.mkdir, "/hostdir/newdir", 0o755) == errno.ENOENT
    assert sorted(os.listdir(tree.parent / "outside")) == ["secret"]
    assert (tree.parent / "outside" / "secret").read_bytes() == b"SECRET"


def test_symlink_loops_and_dangling(fs, tree):
    assert errno_of(fs.stat, "/loop1") == errno.ELOOP
    assert errno_of(fs.stat, "/dangling") == errno.ENOENT
    assert stat.S_ISLNK(fs.lstat("/dangling").mode)
    fd, _ = fs.open("/dangling", os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    assert (tree / "nowhere").is_file()    # open(2) creates the target
    assert errno_of(fs.open, "/d/rel", os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                    0o600) == errno.EEXIST
    assert errno_of(fs.open, "/d/rel", os.O_RDONLY | os.O_NOFOLLOW) == \
        errno.ELOOP


def test_trailing_slash_and_enotdir(fs):
    assert stat.S_ISDIR(fs.stat("/d/sublink/").mode)
    assert errno_of(fs.stat, "/d/f/") == errno.ENOTDIR
    assert errno_of(fs.stat, "/d/f/x") == errno.ENOTDIR
    assert errno_of(fs.stat, "/d/f/..") == errno.ENOTDIR


def test_open_create_modes(fs, tree):
    fd, attr = fs.open("/d/new", os.O_CREAT | os.O_RDWR, 0o640, 100, 200)
    os.write(fd, b"x")
    os.close(fd)
    st = os.stat(tree / "d" / "new")
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 100, 200)
    fd, _ = fs.open("/d/new", os.O_CREAT | os.O_RDWR, 0o600)   # exists
    assert os.read(fd, 5) == b"x"
    os.close(fd)
    assert errno_of(fs.open, "/d/new", os.O_CREAT | os.O_EXCL | os.O_RDWR,
                    0o600) == errno.EEXIST
    assert errno_of(fs.open, "/", os.O_CREAT | os.O_RDWR) == errno.EISDIR
    fd, _ = fs.open("/d/sublink/viaLink", os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    assert (tree / "d" / "sub" / "viaLink").exists()


def test_name_operations(fs, tree):
    fs.mkdir("/d/m", 0o750)
    assert errno_of(fs.mkdir, "/d/m", 0o750) == errno.EEXIST
    assert errno_of(fs.mkdir, "/d/..", 0o750) == errno.EEXIST
    fs.symlink("target", "/d/m/s")
    assert fs.readlink("/d/m/s") == b"target"
    assert errno_of(fs.readlink, "/d/f") == errno.EINVAL
    fs.link("/d/f", "/d/m/hard")
    assert fs.stat("/d/m/hard").nlink == 2
    fs.rename("/d/m/hard", "/d/sublink/moved")
    assert (tree / "d" / "sub" / "moved").read_bytes() == b"hello"
    fs.unlink("/d/sub/moved")
    assert errno_of(fs.unlink, "/d/m") == errno.EISDIR
    assert errno_of(fs.rmdir, "/d/m") == errno.ENOTEMPTY
    fs.unlink("/d/m/s")
    fs.rmdir("/d/m")
    assert errno_of(fs.rmdir, "/d/f") == errno.ENOTDIR
    assert errno_of(fs.rmdir, "/d/.") == errno.EINVAL
    fs.mknod("/d/fifo", stat.S_IFIFO | 0o600)
    assert stat.S_ISFIFO(fs.lstat("/d/fifo").mode)
    assert sorted(fs.listdir("/d")) == sorted(os.fsencode(n) for n in
                                              os.listdir(tree / "d"))


def test_attribute_operations(fs, tree):
    fs.chmod("/d/rel", 0o600)                      # follows to f
    assert os.stat(tree / "d" / "f").st_mode & 0o777 == 0o600
    fs.chown("/d/rel", 5, -1, follow=False)
    assert os.lstat(tree / "d" / "rel").st_uid == 5
    assert os.stat(tree / "d" / "f").st_uid == 0
    fs.truncate("/d/absl", 2)
    assert (tree / "d" / "f").read_bytes() == b"he"
    fs.utimens("/d/f", (10, 0), (20, 0))
    assert os.stat(tree / "d" / "f").st_mtime == 20
    fs.setxattr("/d/rel", "user.a", b"1")
    assert fs.getxattr("/d/f", "user.a") == b"1"
    assert fs.listxattr("/d/absl") == [b"user.a"]
    fs.removexattr("/d/f", "user.a")
    assert fs.listxattr("/d/f") == []
    assert fs.statfs("/d").namelen == os.statvfs(tree).f_namemax


def test_resolve_returns_symlink_free_components(fs):
    r = fs.resolve("/d/sublink/../absl")
    assert r.names == [b"d", b"f"]
    r = fs.resolve("/d/nope", missing_ok=True)
    assert r.names == [b"d", b"nope"] and r.attr is None


def test_concurrent_symlink_swap_never_reaches_outside(fs, tree):
    """A thread flips root/flip between a directory and a symlink to the
    host directory outside; opens and creates through it either act inside
    the root or fail."""
    out = tree.parent / "outside"
    flip = tree / "flip"
    stop = threading.Event()

    def flipper():
        while not stop.is_set():
            try:
                flip.mkdir()
                (flip / "secret").write_bytes(b"flipdir")
                os.unlink(flip / "secret")
                os.rmdir(flip)
                os.symlink(str(out), flip)
                os.unlink(flip)
            except OSError:
                pass

    t = threading.Thread(target=flipper)
    t.start()
    try:
        for i in range(300):
            try:
                data = read(fs, "/flip/secret")
                assert data != b"SECRET"
            except OSError as e:
                assert e.errno in (errno.ENOENT, errno.ENOTDIR)
            try:
                fd, _ = fs.open(f"/flip/c{i}", os.O_CREAT | os.O_WRONLY,
                                0o600)
                os.close(fd)
            except OSError as e:
                assert e.errno in (errno.ENOENT, errno.ENOTDIR)
    finally:
        stop.set()
        t.join()
    assert sorted(os.listdir(out)) == ["secret"]
    assert (out / "secret").read_bytes() == b"SECRET"


def test_one_client_from_many_threads(fs, tree):
    errors = []

    def worker(i):
        try:
            for j in range(30):
                fd, _ = fs.open(f"/d/t{i}-{j}", os.O_CREAT | os.O_WRONLY,
                                0o600)
                os.close(fd)
                assert fs.stat(f"/d/t{i}-{j}").size == 0
                fs.unlink(f"/d/t{i}-{j}")
        except BaseException as e:       # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    left = sorted(os.listdir(tree / "d"))
    assert left == ["absl", "f", "rel", "sub", "sublink", "up"]
