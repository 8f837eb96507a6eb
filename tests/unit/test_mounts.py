"""Pure logic of runtime/mounts.py: option parsing, in-root path resolution,
masked-path and cgroup plans.  No root needed."""
import os

import pytest

from runtime import mounts
from runtime.errors import InvalidSpecError, UnsupportedError
from sentry import _sys


def test_parse_options_flags_and_data():
    o = mounts.parse_options(["nosuid", "noexec", "nodev", "ro", "mode=755",
                              "size=65536k"])
    assert o.flags == (_sys.MS_NOSUID | _sys.MS_NOEXEC | _sys.MS_NODEV
                       | _sys.MS_RDONLY)
    assert o.data == "mode=755,size=65536k"
    assert not o.bind and o.propagation == []


def test_parse_options_later_option_wins():
    o = mounts.parse_options(["ro", "rw", "noatime", "atime"])
    assert o.flags == 0
    assert o.clear & _sys.MS_RDONLY and o.clear & _sys.MS_NOATIME


def test_parse_options_bind_and_propagation():
    o = mounts.parse_options(["rbind", "rprivate", "ro"])
    assert o.bind and o.recursive
    assert o.propagation == [_sys.MS_PRIVATE | _sys.MS_REC]
    assert o.flags == _sys.MS_RDONLY
    o = mounts.parse_options(["bind", "slave"])
    assert o.bind and not o.recursive
    assert o.propagation == [_sys.MS_SLAVE]


def test_parse_options_unsupported_names_the_field():
    with pytest.raises(UnsupportedError, match=r"^mounts\[2\].options: "
                       r"option 'rro' is not supported"):
        mounts.parse_options(["rro"], "mounts[2]")


def test_mount_kind():
    assert mounts.mount_kind({"type": "bind"}) == "bind"
    assert mounts.mount_kind({"type": "none", "options": ["rbind"]}) == "bind"
    assert mounts.mount_kind({"options": ["bind"]}) == "bind"
    assert mounts.mount_kind({"type": "tmpfs"}) == "tmpfs"
    assert mounts.mount_kind({}) == "none"


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "usr" / "lib").mkdir(parents=True)
    os.symlink("/usr/lib", r / "lib")                 # absolute: in-root
    os.symlink("../../../../../../etc", r / "up")      # climbs: clamped
    os.symlink("/nonexistent/deeper", r / "dangling")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    return str(r)


@pytest.mark.parametrize("unsafe,want", [
    ("/etc", "etc"),
    ("etc/../../../../etc", "etc"),
    ("/lib/x", "usr/lib/x"),
    ("/up/passwd", "etc/passwd"),
    ("/dangling/a", "nonexistent/deeper/a"),
    ("/", ""),
    ("/./usr/./lib/..", "usr"),
])
def test_secure_join_stays_in_root(root, unsafe, want):
    got = mounts.secure_join(root, unsafe)
    assert got == os.path.join(root, want) if want else got == root
    assert got == root or got.startswith(root + "/")


def test_secure_join_symlink_loop(root):
    with pytest.raises(OSError) as e:
        mounts.secure_join(root, "/loop1/x")
    assert e.value.errno == 40  # ELOOP


def test_plan_masked_skips_missing_and_types(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    f = tmp_path / "f"
    f.write_text("x")
    plan = mounts.plan_masked([str(d), str(f), str(tmp_path / "gone"),
                               str(f / "under-a-file")])
    assert plan == [(str(d), "dir"), (str(f), "file")]


MOUNTINFO = """\
22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 22 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 30 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
35 30 0:38 /nested /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
"""
CGROUP = """\
9:name=systemd:/ctr
4:memory:/ctr
2:cpu,cpuacct:/ctr
8:pids:/nested/ctr
0::/
"""


def test_read_cgroup_paths():
    assert mounts.read_cgroup_paths(CGROUP) == {
        "name=systemd": "/ctr", "memory": "/ctr", "cpu,cpuacct": "/ctr",
        "pids": "/nested/ctr", "": "/"}


def test_plan_cgroup_v1_binds_own_dirs():
    plan = mounts.plan_cgroup_v1(mounts.read_cgroup_paths(CGROUP), MOUNTINFO)
    assert plan == [
        ("/sys/fs/cgroup/cpu,cpuacct/ctr", "cpu,cpuacct"),
        ("/sys/fs/cgroup/memory/ctr", "memory"),
        ("/sys/fs/cgroup/systemd/ctr", "systemd"),
        ("/sys/fs/cgroup/pids/ctr", "pids"),
    ]


def test_cgroup_mode():
    assert mounts.cgroup_mode(MOUNTINFO) == "v1"
    v2 = "30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
    assert mounts.cgroup_mode(v2) == "v2"


def test_rootfs_path(tmp_path):
    assert mounts.rootfs_path({"root": {"path": "rootfs"}}, str(tmp_path)) \
        == str(tmp_path / "rootfs")
    assert mounts.rootfs_path({"root": {"path": "/"}}, str(tmp_path)) == "/"
    with pytest.raises(InvalidSpecError, match="^root.path: is required"):
        mounts.rootfs_path({}, str(tmp_path))
