"""The nogil fast path (``sentry/gofer/_fast.pyx``) answers exactly as the
Python client does, or says SlowPath; never anything else."""
import errno
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gofer_fixtures import ServerFactory
from sentry.gofer import client as gc
from sentry.gofer._fast import FastConn, SlowPath


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f").write_bytes(b"data")
    (root / "top").write_bytes(b"top")
    os.symlink("b/f", root / "a" / "lf")
    os.symlink("b", root / "a" / "ld")
    os.symlink("/../..", root / "a" / "up")
    os.mkfifo(root / "a" / "fifo")
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret").write_bytes(b"SECRET")
    return root


@pytest.fixture
def both(tree):
    f = ServerFactory(str(tree))
    fast = FastConn(f.connect())
    c = f.client()
    try:
        yield fast, gc.GoferFs(c), f
    finally:
        fast.close()
        c.close()
        f.close()


def outcome(fn, *a, **kw):
    """("ok", value) / ("err", errno) / ("slow",); fds are read and closed."""
    try:
        r = fn(*a, **kw)
    except SlowPath:
        return ("slow",)
    except OSError as e:
        return ("err", e.errno)
    if isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], int):
        r = r[0]                           # GoferFs.open: (fd, attr)
    if isinstance(r, int):
        st_ = os.fstat(r)
        os.close(r)
        return ("ok", st_.st_ino, stat.S_IFMT(st_.st_mode))
    if r is None:
        return ("ok",)
    return ("ok", r.ino, r.mode)


def test_open_stat_and_slow_cases(both, tree):
    fast, fs, _ = both
    fd = fast.open("/a/b/f", os.O_RDONLY)
    assert os.read(fd, 10) == b"data"
    os.close(fd)
    assert fast.stat("/a/b/f").ino == os.stat(tree / "a/b/f").st_ino
    assert stat.S_ISLNK(fast.stat("/a/lf", follow=False).mode)
    for path in ("/a/lf", "/a/ld/f", "/a/../top", "/a/./b", "/a/b/"):
        with pytest.raises(SlowPath):
            fast.open(path, os.O_RDONLY)
    fd = fast.open("/", os.O_RDONLY | os.O_DIRECTORY)
    assert os.fstat(fd).st_ino == os.stat(tree).st_ino
    os.close(fd)
    with pytest.raises(OSError) as e:
        fast.open("/a/lf", os.O_RDONLY | os.O_NOFOLLOW)
    assert e.value.errno == errno.ELOOP


def test_create_unlink_mkdir(both, tree):
    fast, _, _ = both
    fd = fast.open("/a/new", os.O_CREAT | os.O_WRONLY, 0o604, 3, 4)
    os.close(fd)
    st_ = os.stat(tree / "a" / "new")
    assert (st_.st_mode & 0o777, st_.st_uid, st_.st_gid) == (0o604, 3, 4)
    fd = fast.open("/a/new", os.O_CREAT | os.O_WRONLY, 0o600)   # exists
    os.close(fd)
    with pytest.raises(OSError) as e:
        fast.open("/a/new", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    assert e.value.errno == errno.EEXIST
    with pytest.raises(OSError) as e:
        fast.open("/nodir/x", os.O_CREAT | os.O_WRONLY, 0o600)
    assert e.value.errno == errno.ENOENT
    with pytest.raises(SlowPath):      # a dangling create through a link
        fast.open("/a/ld/new", os.O_CREAT | os.O_WRONLY, 0o600)
    fast.mkdir("/a/d", 0o750)
    assert os.stat(tree / "a" / "d").st_mode & 0o777 == 0o750
    with pytest.raises(OSError) as e:
        fast.unlink("/a/d")
    assert e.value.errno == errno.EISDIR
    fast.unlink("/a/d", 0x200)
    fast.unlink("/a/new")
    assert sorted(os.listdir(tree / "a")) == ["b", "fifo", "ld", "lf", "up"]


def test_dead_gofer_gives_eio(both):
    fast, _, f = both
    assert fast.stat("/top").size == 3
    f.close()
    for _ in range(2):
        with pytest.raises(OSError) as e:
            fast.open("/top", os.O_RDONLY)
        assert e.value.errno == errno.EIO
    assert fast.dead


NAMES = ["a", "b", "f", "lf", "ld", "up", "top", "fifo", "nope", "..", ".",
         "outside", "secret"]
PATHS = st.lists(st.sampled_from(NAMES), min_size=1, max_size=5).map(
    lambda c: "/" + "/".join(c)) | st.sampled_from(["/", "//a//b/", "a/b/f"])
FLAGS = st.sampled_from([os.O_RDONLY, os.O_RDONLY | os.O_NOFOLLOW,
                         os.O_PATH, os.O_PATH | os.O_NOFOLLOW,
                         os.O_RDONLY | os.O_DIRECTORY,
                         os.O_RDONLY | os.O_NONBLOCK])


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(path=PATHS, flags=FLAGS, follow=st.booleans())
def test_fast_path_agrees_with_the_python_client(both, path, flags, follow):
    fast, fs, _ = both
    got = outcome(fast.open, path, flags)
    if got != ("slow",):
        assert got == outcome(fs.open, path, flags)
    got = outcome(fast.stat, path, follow)
    if got != ("slow",):
        assert got == outcome(fs.stat, path, follow)
