"""Conformance: config.md "Root" and "Mounts", config-linux.md "Default
Filesystems", "Devices", "Default Devices", "Masked Paths" and "Readonly
Paths", checked from inside the container by the probe.
"""

import errno
import os
import stat

import pytest

from ocitest import probe_spec

EROFS = errno.EROFS


def bind(src, dst, *opts):
    return {"destination": dst, "type": "bind", "source": str(src),
            "options": ["rbind", *opts]}


@pytest.fixture
def host_dir(tmp_path):
    d = tmp_path / "shared"
    d.mkdir()
    (d / "hello.txt").write_text("hello")
    return d


# -- root -----------------------------------------------------------------

def test_root_readonly(rt):
    """root.readonly=true: the root filesystem MUST be read-only inside the
    container"""
    spec = probe_spec("write=/newfile")
    spec["root"]["readonly"] = True
    c = rt.container(spec)
    p = c.probe()
    assert p.check("write", "/newfile")["errno"] == EROFS
    assert "ro" in p.mount_at("/")["options"]
    assert not (c.rootfs / "newfile").exists()


def test_root_writable(rt):
    """root.readonly=false: the root filesystem is writable and is the bundle's
    rootfs"""
    spec = probe_spec("write=/newfile")
    spec["root"]["readonly"] = False
    c = rt.container(spec)
    p = c.probe()
    assert p.check("write", "/newfile")["errno"] == 0
    assert (c.rootfs / "newfile").read_text() == "probe\n"


def test_root_is_bundle_rootfs(rt):
    """root.path: the container's / is the directory named by root.path"""
    c = rt.container(probe_spec("read=/marker"))
    (c.rootfs / "marker").write_text(c.id)
    p = c.probe()
    assert p.check("read", "/marker")["data"] == c.id


# -- mounts ---------------------------------------------------------------

def test_mount_tmpfs_with_options(rt):
    """mounts: a tmpfs with its options (nosuid, nodev, noexec, mode, size)"""
    spec = probe_spec("stat=/mnt/tmp", "write=/mnt/tmp/f")
    spec["mounts"].append({
        "destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "noexec", "mode=1770", "size=1m"]})
    p = rt.container(spec).probe()
    m = p.mount_at("/mnt/tmp")
    assert m is not None, "no mount at /mnt/tmp"
    assert m["fstype"] == "tmpfs"
    assert {"nosuid", "nodev", "noexec"} <= set(m["options"])
    assert "size=1024k" in m["super"]
    assert "mode=1770" in m["super"]
    assert p.check("stat", "/mnt/tmp")["mode"] == 0o1770
    assert p.check("write", "/mnt/tmp/f")["errno"] == 0


def test_mount_bind_readonly(rt, host_dir):
    """mounts: a bind mount with ro is readable and read-only"""
    spec = probe_spec("read=/mnt/ro/hello.txt", "write=/mnt/ro/new")
    spec["mounts"].append(bind(host_dir, "/mnt/ro", "ro"))
    p = rt.container(spec).probe()
    assert p.check("read", "/mnt/ro/hello.txt")["data"] == "hello"
    assert p.check("write", "/mnt/ro/new")["errno"] == EROFS
    assert "ro" in p.mount_at("/mnt/ro")["options"]
    assert not (host_dir / "new").exists()


def test_mount_bind_readwrite(rt, host_dir):
    """mounts: a rw bind mount shares the host directory both ways"""
    spec = probe_spec("read=/mnt/rw/hello.txt", "write=/mnt/rw/new")
    spec["mounts"].append(bind(host_dir, "/mnt/rw", "rw"))
    p = rt.container(spec).probe()
    assert p.check("read", "/mnt/rw/hello.txt")["data"] == "hello"
    assert p.check("write", "/mnt/rw/new")["errno"] == 0
    assert (host_dir / "new").read_text() == "probe\n"


def test_mount_bind_file(rt, host_dir):
    """mounts: a bind mount of a single file"""
    spec = probe_spec("read=/etc/bound.txt")
    spec["mounts"].append({"destination": "/etc/bound.txt", "type": "bind",
                           "source": str(host_dir / "hello.txt"),
                           "options": ["bind", "ro"]})
    p = rt.container(spec).probe()
    assert p.check("read", "/etc/bound.txt")["data"] == "hello"


def test_mount_proc(rt):
    """mounts: proc at /proc shows the container's own processes"""
    p = rt.container(probe_spec("read=/proc/self/stat", "list=/proc")).probe()
    assert p.mount_at("/proc")["fstype"] == "proc"
    assert p.check("read", "/proc/self/stat")["data"].startswith("1 ")
    pids = [e for e in p.check("list", "/proc")["entries"] if e.isdigit()]
    assert pids == ["1"], f"host processes visible: {pids[:10]}"


def test_mount_sysfs(rt):
    """mounts: sysfs at /sys with its ro option"""
    p = rt.container(probe_spec()).probe()
    m = p.mount_at("/sys")
    assert m["fstype"] == "sysfs"
    assert "ro" in m["options"]


def test_mounts_in_listed_order(rt, host_dir):
    """mounts: the runtime MUST mount entries in the listed order"""
    spec = probe_spec("read=/mnt/order/sub/hello.txt")
    spec["mounts"] += [
        {"destination": "/mnt/order", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=1m"]},
        bind(host_dir, "/mnt/order/sub", "ro"),
    ]
    p = rt.container(spec).probe()
    assert p.check("read", "/mnt/order/sub/hello.txt")["data"] == "hello"
    points = [m["mount_point"] for m in p.mounts()]
    assert points.index("/mnt/order") < points.index("/mnt/order/sub")


@pytest.mark.runc_deviation(
    "runc 1.1.5 accepts a relative mount destination (with a warning)")
def test_mount_relative_destination_fails(rt, host_dir):
    """mounts: destination MUST be an absolute path; a relative one is an error
    """
    spec = probe_spec()
    spec["mounts"].append(bind(host_dir, "mnt/relative", "ro"))
    c = rt.container(spec)
    assert not c.create().ok
    assert not c.state_result().ok


def test_default_filesystems(rt):
    """default filesystems: /proc, /sys, /dev/pts and /dev/shm SHOULD be
    available"""
    p = rt.container(probe_spec()).probe()
    want = {"/proc": "proc", "/sys": "sysfs", "/dev/pts": "devpts",
            "/dev/shm": "tmpfs"}
    for path, fstype in want.items():
        m = p.mount_at(path)
        assert m is not None, f"nothing mounted at {path}"
        assert m["fstype"] == fstype, path


def test_rootfs_propagation_private(rt):
    """linux.rootfsPropagation=private: the container's root mount has no peer
    or master"""
    spec = probe_spec()
    spec["linux"]["rootfsPropagation"] = "private"
    p = rt.container(spec).probe()
    optional = p.mount_at("/")["optional"]
    assert not [o for o in optional
                if o.startswith(("shared:", "master:"))], optional


def test_mount_propagation_option(rt, host_dir):
    """mounts: a propagation option (rprivate/rshared) applies to the bind
    mount"""
    spec = probe_spec()
    spec["linux"]["rootfsPropagation"] = "shared"
    spec["mounts"] += [bind(host_dir, "/mnt/shared", "rshared"),
                       bind(host_dir, "/mnt/private", "rprivate")]
    p = rt.container(spec).probe()
    shared = p.mount_at("/mnt/shared")["optional"]
    private = p.mount_at("/mnt/private")["optional"]
    assert any(o.startswith("shared:") for o in shared), shared
    assert not any(o.startswith("shared:") for o in private), private


# -- devices --------------------------------------------------------------

DEFAULT_DEVICES = {"/dev/null": (1, 3), "/dev/zero": (1, 5),
                   "/dev/full": (1, 7), "/dev/random": (1, 8),
                   "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}


def test_default_devices_present(rt):
    """default devices: null, zero, full, random, urandom, tty MUST be supplied
    """
    p = rt.container(probe_spec(*[f"stat={d}" for d in DEFAULT_DEVICES],
                                "stat=/dev/ptmx")).probe()
    for path, (major, minor) in DEFAULT_DEVICES.items():
        st = p.check("stat", path)
        assert st.get("type") == "c", f"{path}: {st}"
        assert (st["major"], st["minor"]) == (major, minor), path
        assert st["mode"] & 0o666 == 0o666, f"{path} mode {st['mode']:o}"
    ptmx = p.check("stat", "/dev/ptmx")
    assert ptmx.get("type") in ("l", "c"), f"/dev/ptmx: {ptmx}"


def test_default_devices_usable(rt):
    """default devices: usable despite a deny-all device cgroup rule"""
    p = rt.container(probe_spec("read=/dev/zero", "write=/dev/null",
                                "open=/dev/urandom")).probe()
    r = p.check("read", "/dev/zero")
    assert r["errno"] == 0 and r["data"] == "\0" * 4096
    assert p.check("write", "/dev/null")["errno"] == 0
    assert p.check("open", "/dev/urandom")["errno"] == 0


def test_linux_devices_created(rt):
    """linux.devices: each device MUST be available with its type, major,
    minor, mode, uid, gid"""
    spec = probe_spec("stat=/dev/conf-char", "stat=/dev/conf-block",
                      "stat=/dev/conf-fifo")
    spec["linux"]["devices"] = [
        {"path": "/dev/conf-char", "type": "c", "major": 1, "minor": 3,
         "fileMode": 0o640, "uid": 1000, "gid": 1001},
        {"path": "/dev/conf-block", "type": "b", "major": 7, "minor": 200,
         "fileMode": 0o600, "uid": 0, "gid": 0},
        {"path": "/dev/conf-fifo", "type": "p", "fileMode": 0o620},
    ]
    p = rt.container(spec).probe()
    ch = p.check("stat", "/dev/conf-char")
    assert (ch.get("type"), ch.get("major"), ch.get("minor")) == ("c", 1, 3)
    assert (ch["mode"], ch["uid"], ch["gid"]) == (0o640, 1000, 1001)
    bl = p.check("stat", "/dev/conf-block")
    assert (bl.get("type"), bl.get("major"), bl.get("minor")) == ("b", 7, 200)
    assert bl["mode"] == 0o600
    fi = p.check("stat", "/dev/conf-fifo")
    assert fi.get("type") == "p"
    assert fi["mode"] == 0o620


@pytest.mark.runc_deviation(
    "runc keeps an existing file at a device path instead of failing")
def test_linux_device_existing_mismatch_fails(rt):
    """linux.devices: a file already at path that does not match the device
    MUST generate an error"""
    spec = probe_spec()
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/dev"
                      and not m["destination"].startswith("/dev/")]
    spec["linux"]["devices"] = [{"path": "/dev/conf-char", "type": "c",
                                 "major": 1, "minor": 3, "fileMode": 0o666}]
    c = rt.container(spec)
    (c.rootfs / "dev" / "conf-char").write_text("a regular file")
    assert not c.create().ok
    assert not c.state_result().ok


def tun_node(c):
    """A device node (c 10 229, /dev/fuse) placed in the rootfs itself,
    outside linux.devices, so only the cgroup rules decide on opening it."""
    node = c.rootfs / "srv" / "conf-fuse"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(10, 229))
    os.chmod(node, 0o666)
    return "/srv/conf-fuse"


def test_device_cgroup_denies_unlisted(rt):
    """linux.resources.devices: a device the rules deny cannot be opened
    (EPERM)"""
    c = rt.container(probe_spec("open=/srv/conf-fuse"))
    tun_node(c)
    p = c.probe()
    assert p.check("open", "/srv/conf-fuse")["errno"] == errno.EPERM


def test_device_cgroup_allows_listed(rt):
    """linux.resources.devices: rules apply in order; an allow after deny-all
    opens the device"""
    spec = probe_spec("open=/srv/conf-fuse")
    spec["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 10, "minor": 229,
         "access": "rwm"})
    c = rt.container(spec)
    tun_node(c)
    p = c.probe()
    assert p.check("open", "/srv/conf-fuse")["errno"] != errno.EPERM


# -- masked and read-only paths ------------------------------------------

def test_masked_paths(rt):
    """linux.maskedPaths: the paths MUST be masked so that they cannot be read
    """
    spec = probe_spec("read=/masked-file", "list=/masked-dir",
                      "read=/proc/kcore", "read=/visible-file")
    spec["linux"]["maskedPaths"] += ["/masked-file", "/masked-dir"]
    c = rt.container(spec)
    (c.rootfs / "masked-file").write_text("secret")
    (c.rootfs / "visible-file").write_text("visible")
    (c.rootfs / "masked-dir").mkdir()
    (c.rootfs / "masked-dir" / "inner").write_text("secret")
    p = c.probe()
    assert p.check("read", "/visible-file")["data"] == "visible"
    mf = p.check("read", "/masked-file")
    assert mf["errno"] != 0 or mf["data"] == "", f"masked file read: {mf}"
    md = p.check("list", "/masked-dir")
    assert md["errno"] != 0 or md["entries"] == [], f"masked dir: {md}"
    kc = p.check("read", "/proc/kcore")
    assert kc["errno"] != 0 or kc["data"] == "", "/proc/kcore readable"


def test_readonly_paths(rt):
    """linux.readonlyPaths: the paths MUST be read-only; others stay writable
    """
    spec = probe_spec("write=/ro-dir/new", "write=/rw-dir/new",
                      "read=/ro-dir/old")
    spec["root"]["readonly"] = False
    spec["linux"]["readonlyPaths"] += ["/ro-dir"]
    c = rt.container(spec)
    (c.rootfs / "ro-dir").mkdir()
    (c.rootfs / "ro-dir" / "old").write_text("old")
    (c.rootfs / "rw-dir").mkdir()
    p = c.probe()
    assert p.check("write", "/ro-dir/new")["errno"] == EROFS
    assert p.check("read", "/ro-dir/old")["data"] == "old"
    assert p.check("write", "/rw-dir/new")["errno"] == 0
    assert "ro" in p.mount_at("/ro-dir")["options"]


def test_readonly_proc_sys(rt):
    """linux.readonlyPaths: /proc/sys of the default config is mounted read-
    only"""
    p = rt.container(probe_spec("write=/proc/sys/kernel/hostname")).probe()
    m = p.mount_at("/proc/sys")
    assert m is not None and "ro" in m["options"]
    assert p.check("write", "/proc/sys/kernel/hostname")["errno"] == EROFS
