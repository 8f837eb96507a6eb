"""The real ``runtime.gofer.main`` in a subprocess: a rootfs with bind
mounts arranged as the container sees them, a read-only root, its
privileges after setup, and a client that gets EIO when it dies."""
import errno
import json
import os
import socket
import subprocess
import sys

import pytest

from sentry.gofer import client as gc
from sentry.gofer._fast import FastConn

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def bundle(tmp_path):
    rootfs = tmp_path / "bundle" / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "hostname").write_text("ctr\n")
    os.symlink("/../../../../", rootfs / "escape")
    rw = tmp_path / "rw"
    rw.mkdir()
    (rw / "data").write_text("bound\n")
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "x").write_text("ro\n")
    single = tmp_path / "single-file"
    single.write_text("file bind\n")
    spec = {
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs", "readonly": True},
        "process": {"args": ["/bin/true"], "cwd": "/",
                    "user": {"uid": 0, "gid": 0}},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/mnt/rw", "type": "bind", "source": str(rw),
             "options": ["rbind", "rw"]},
            {"destination": "/mnt/ro", "type": "bind", "source": str(ro),
             "options": ["bind", "ro"]},
            {"destination": "/etc/one", "type": "none",
             "source": str(single), "options": ["bind", "rw"]},
        ],
        "linux": {"namespaces": [{"type": "mount"}]},
    }
    (tmp_path / "bundle" / "config.json").write_text(json.dumps(spec))
    return tmp_path / "bundle"


@pytest.fixture
def gofer2(bundle):
    """``(GoferFs, FastConn, Popen)``: a gofer serving ``bundle`` on two
    connections, one for the Python client and one for the fast path."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fa, fb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    code = ("import sys; from runtime import gofer; "
            "sys.exit(gofer.main(sys.argv[1], "
            "[int(x) for x in sys.argv[2:]]))")
    p = subprocess.Popen([sys.executable, "-c", code, str(bundle),
                          str(b.fileno()), str(fb.fileno())],
                         pass_fds=[b.fileno(), fb.fileno()], cwd=REPO)
    b.close()
    fb.close()
    c = fast = None
    try:
        c = gc.Client(a)
        fast = FastConn(fa)
        yield gc.GoferFs(c), fast, p
    finally:
        if c is not None:
            c.close()
        if fast is not None:
            fast.close()
        a.close()
        fa.close()
        p.kill()
        p.wait()


@pytest.fixture
def gofer(gofer2):
    """``(GoferFs, Popen)`` of a gofer serving ``bundle``."""
    fs, _, p = gofer2
    yield fs, p


def test_fast_path_connection_is_served_too(gofer2, bundle):
    fs, fast, p = gofer2
    fd = fast.open("/mnt/rw/data", os.O_RDONLY)
    assert os.read(fd, 10) == b"bound\n"
    os.close(fd)
    assert fast.stat("/etc/hostname").size == 4
    with pytest.raises(OSError) as e:
        fast.open("/etc/new", os.O_CREAT | os.O_WRONLY, 0o644)
    assert e.value.errno == errno.EROFS
    fast.close()                      # one connection ends, the other stays
    assert fs.stat("/mnt/ro/x").size == 3
    assert p.poll() is None


def errno_of(fn, *a):
    with pytest.raises(OSError) as e:
        fn(*a)
    return e.value.errno


def read(fs, path):
    fd, _ = fs.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_binds_are_at_their_destinations(gofer, bundle):
    fs, _ = gofer
    assert read(fs, "/mnt/rw/data") == b"bound\n"
    assert read(fs, "/mnt/ro/x") == b"ro\n"
    assert read(fs, "/etc/one") == b"file bind\n"
    assert read(fs, "/etc/hostname") == b"ctr\n"
    # the gofer's "/" is the rootfs: .. and absolute symlinks stay in it
    assert sorted(fs.listdir("/escape")) == sorted(fs.listdir("/"))
    assert b"proc" not in fs.listdir("/")          # the sentry's, not ours


def test_read_only_root_and_ro_bind_give_erofs(gofer, bundle):
    fs, _ = gofer
    wr = os.O_CREAT | os.O_WRONLY
    assert errno_of(fs.open, "/etc/new", wr) == errno.EROFS
    assert errno_of(fs.open, "/etc/hostname", os.O_WRONLY) == errno.EROFS
    assert errno_of(fs.mkdir, "/newdir", 0o755) == errno.EROFS
    assert errno_of(fs.open, "/mnt/ro/new", wr) == errno.EROFS
    assert errno_of(fs.unlink, "/mnt/ro/x") == errno.EROFS
    fd, _ = fs.open("/mnt/rw/new", wr, 0o644)
    os.write(fd, b"written")
    os.close(fd)
    assert (bundle.parent / "rw" / "new").read_bytes() == b"written"
    fd, _ = fs.open("/etc/one", os.O_WRONLY | os.O_APPEND)
    os.close(fd)


def test_privileges_after_setup(gofer):
    fs, p = gofer
    fs.stat("/")                     # setup is over once it answers
    with open(f"/proc/{p.pid}/status") as f:
        status = dict(ln.split(":\t", 1) for ln in f.read().splitlines()
                      if ":\t" in ln)
    assert int(status["CapEff"], 16) == 0x1f
    assert int(status["CapBnd"], 16) == 0x1f
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2"
    assert os.readlink(f"/proc/{p.pid}/ns/mnt") != \
        os.readlink("/proc/self/ns/mnt")
    with open(f"/proc/{p.pid}/mountinfo") as f:
        mnts = [ln.split()[3:6] for ln in f]
    # pivoted: only the rootfs at / and the three binds are left
    assert [m[1] for m in mnts] == ["/", "/mnt/rw", "/mnt/ro", "/etc/one"]
    assert mnts[0][0].endswith("/bundle/rootfs")
    assert mnts[0][2].startswith("ro,") and mnts[2][2].startswith("ro,")


def test_host_mount_table_is_untouched(gofer, bundle):
    fs, _ = gofer
    fs.stat("/mnt/rw/data")
    with open("/proc/self/mountinfo") as f:
        assert str(bundle) not in f.read()


def test_gofer_exits_when_the_sentry_hangs_up(gofer2):
    fs, fast, p = gofer2
    fs.stat("/")
    fs.c.close()
    fast.close()
    assert p.wait(timeout=30) == 0


def test_gofer_death_gives_eio(gofer):
    fs, p = gofer
    assert fs.stat("/etc/hostname").size == 4
    p.kill()
    p.wait()
    assert errno_of(fs.stat, "/etc/hostname") == errno.EIO
    assert errno_of(fs.open, "/etc/hostname", os.O_RDONLY) == errno.EIO


def test_setup_failure_is_a_gofer_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(
        {"root": {"path": "missing"}, "mounts": []}))
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    code = ("import sys; from runtime import gofer, errors\n"
            "try:\n    gofer.main(sys.argv[1], int(sys.argv[2]))\n"
            "except errors.GoferError as e:\n"
            "    print(e); sys.exit(3)\n")
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path),
                        str(b.fileno())], pass_fds=[b.fileno()], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    b.close()
    a.close()
    assert p.returncode == 3, p.stderr
    assert p.stdout.startswith("gofer setup: ")


def test_every_operation_passes_the_seccomp_allowlist(gofer, bundle):
    """Each kind of request once, under the real gofer's filter and caps."""
    fs, p = gofer
    rw = bundle.parent / "rw"
    fd, _ = fs.open("/mnt/rw/f", os.O_CREAT | os.O_RDWR, 0o640, 1000, 1000)
    os.write(fd, b"abc")
    os.close(fd)
    assert os.stat(rw / "f").st_uid == 1000
    fs.mkdir("/mnt/rw/d", 0o700, 1000, 1000)
    fs.mknod("/mnt/rw/d/fifo", 0o10600)
    fs.symlink("../f", "/mnt/rw/d/s")
    assert fs.readlink("/mnt/rw/d/s") == b"../f"
    assert fs.stat("/mnt/rw/d/s").size == 3
    fs.link("/mnt/rw/f", "/mnt/rw/d/hard")
    fs.rename("/mnt/rw/d/hard", "/mnt/rw/hard2")
    fs.chmod("/mnt/rw/f", 0o600)
    fs.chown("/mnt/rw/f", 1001, 1002)
    fs.truncate("/mnt/rw/f", 1)
    fs.utimens("/mnt/rw/f", (1, 0), (2, 0))
    st = os.stat(rw / "f")
    assert (st.st_mode & 0o777, st.st_uid, st.st_size, st.st_mtime) == \
        (0o600, 1001, 1, 2)
    assert sorted(fs.listdir("/mnt/rw/d")) == [b"fifo", b"s"]
    assert fs.statfs("/mnt/rw").namelen == 255
    fs.c.fsync(fs.c.root)
    fs.setxattr("/mnt/rw/f", "user.k", b"v")
    assert fs.getxattr("/mnt/rw/f", "user.k") == b"v"
    assert fs.listxattr("/mnt/rw/f") == [b"user.k"]
    fs.removexattr("/mnt/rw/f", "user.k")
    sfd, _ = fs.bind("/mnt/rw/sock")
    with socket.socket(fileno=sfd) as srv:
        srv.listen()
        with socket.socket(fileno=fs.connect("/mnt/rw/sock")) as cl:
            conn, _ = srv.accept()
            with conn:
                cl.sendall(b"x")
                assert conn.recv(1) == b"x"
    fs.unlink("/mnt/rw/sock")
    for n in ("d/fifo", "d/s"):
        fs.unlink("/mnt/rw/" + n)
    fs.rmdir("/mnt/rw/d")
    with pytest.raises(OSError) as e:
        fs.mknod("/mnt/rw/dev", 0o20600, os.makedev(1, 3))
    assert e.value.errno == errno.EPERM
    assert p.poll() is None
