"""sentry/fs/mounts.py: the mount table from mountinfo, its lookup, and the
C table the emulation layer searches (same answers)."""
import os

from sentry.fs import mounts

MOUNTINFO = """\
100 50 0:40 / / ro,relatime - ext4 /dev/sda1 rw
101 100 0:41 / /proc rw,nosuid - proc proc rw
102 100 0:42 / /dev rw,nosuid - tmpfs tmpfs rw,mode=755
103 102 0:43 / /dev/pts rw - devpts devpts rw
104 102 0:44 / /dev/shm rw - tmpfs shm rw,size=65536k
105 100 0:45 / /sys ro - sysfs sysfs ro
106 100 8:1 /data /mnt/data rw - ext4 /dev/sda1 rw
107 100 8:1 /ro /mnt/ro\\040dir ro - ext4 /dev/sda1 rw
108 101 0:46 / /proc/kcore rw - tmpfs tmpfs rw
109 100 0:47 / /tmp rw - tmpfs tmpfs rw
110 109 0:48 / /tmp rw - ext4 /dev/sdb rw
"""


def table():
    return mounts.MountTable.from_mountinfo(MOUNTINFO)


def test_kinds_and_flags():
    t = {m.point: m for m in table().entries}
    assert (t["/"].kind, t["/"].readonly) == ("gofer", True)
    assert (t["/proc"].kind, t["/proc"].special) == ("special", "proc")
    assert (t["/sys"].kind, t["/sys"].special, t["/sys"].readonly) == (
        "special", "sys", True)
    assert (t["/dev"].kind, t["/dev"].special) == ("special", "dev")
    assert t["/dev/pts"].kind == t["/dev/shm"].kind == "local"
    assert t["/mnt/data"].kind == "gofer"
    assert t["/mnt/ro dir"].readonly          # \040 unescaped
    assert t["/proc/kcore"].kind == "local"   # a masked path
    assert t["/tmp"].fstype == "ext4"         # the last mount on a point


def test_lookup_longest_prefix():
    t = table()
    assert t.lookup("/").point == "/"
    assert t.lookup("/etc/passwd").point == "/"
    assert t.lookup("/dev").point == "/dev"
    assert t.lookup("/dev/pts/0").point == "/dev/pts"
    assert t.lookup("/dev/ptsx").point == "/dev"
    assert t.lookup("/mnt/data/x/y").point == "/mnt/data"
    assert t.lookup("/mnt/database").point == "/"


def test_c_table_agrees():
    from sentry.emulate import _core
    t = table()
    v = _core.View(t)
    for p in ("/", "/etc", "/dev", "/dev/pts/3", "/dev/ptsx", "/proc/1/fd",
              "/proc/kcore", "/mnt/data", "/mnt/data/a", "/mnt/datab",
              "/mnt/ro dir/f", "/tmp/x"):
        assert t.entries[_core.mount_index(v, p.encode())] is t.lookup(p), p
    assert v.directfs


def test_resolver_follows_symlinks_across_mounts(tmp_path):
    root = tmp_path / "root"
    for d in ("a/b", "m/inner", "etc"):
        (root / d).mkdir(parents=True)
    (root / "etc" / "f").write_text("x")
    os.symlink("/m/inner", root / "a" / "to_m")
    os.symlink("../etc/f", root / "a" / "rel")
    os.symlink("loop", root / "a" / "loop")
    t = mounts.MountTable([mounts.Mount("/", "ext4"),
                           mounts.Mount("/m", "tmpfs", kind="local")])
    r = mounts.Resolver(t)
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        assert r.canonical(fd, "/a/to_m/x") == "/m/inner/x"
        assert r.canonical(fd, "/a/rel") == "/etc/f"
        assert r.canonical(fd, "/a/rel", follow=False) == "/a/rel"
        assert r.canonical(fd, "/m/../a/./b/..//rel") == "/etc/f"
        assert r.canonical(fd, "/../../etc/f") == "/etc/f"
        assert r.canonical(fd, "/a/loop") == -40        # ELOOP
        assert r.canonical(fd, "/etc/f/x") == -20       # ENOTDIR
        assert r.canonical(fd, "/nope/x") == -2         # ENOENT
        assert r.canonical(fd, "/a/new") == "/a/new"    # a create
    finally:
        os.close(fd)


def test_spec_bind_mounts_are_the_gofers():
    text = MOUNTINFO + (
        "111 100 0:49 /work /bench/work rw - tmpfs tmpfs rw\n"
        "112 111 0:50 / /bench/work/sub rw - ext4 /dev/sdc rw\n"
        "113 100 0:51 / /run rw - tmpfs tmpfs rw\n")
    t = {m.point: m for m in mounts.MountTable.from_mountinfo(
        text, gofer_points=["/bench/work", "/mnt/data/"]).entries}
    assert t["/bench/work"].kind == "gofer"          # a bind of a tmpfs
    assert t["/bench/work/sub"].kind == "gofer"      # carried by rbind
    assert t["/run"].kind == "local"
    assert t["/dev/shm"].kind == "local"
    assert t["/mnt/data"].kind == "gofer"
    t = {m.point: m for m in mounts.MountTable.from_mountinfo(text).entries}
    assert t["/bench/work"].kind == "local"          # fstype alone
