"""Unit tests of runtime/cgroups.py without root: path mapping, mountinfo
parsing, and the files written for v1 and v2 on fake cgroup trees."""
import os

import pytest

from runtime import cgroups
from runtime.cgroups import Cgroup, Hierarchy, Layout
from runtime.errors import InvalidSpecError

HYBRID_MOUNTINFO = """\
23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,\
release_agent=/x,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

V1_MOUNTINFO = """\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 30 0:29 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory
90 88 0:29 /docker/x /mnt/again rw - cgroup cgroup rw,memory
"""

V2_MOUNTINFO = """\
30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
"""


def test_parse_mountinfo_hybrid():
    mounts = cgroups.parse_mountinfo(HYBRID_MOUNTINFO)
    assert [(v, m, c) for v, m, _, c, _ in mounts] == [
        (1, "/sys/fs/cgroup/cpu", ("cpu",)),
        (1, "/sys/fs/cgroup/cpuset", ("cpuset",)),
        (1, "/sys/fs/cgroup/memory", ("memory",)),
        (1, "/sys/fs/cgroup/systemd", ("name=systemd",)),
        (2, "/sys/fs/cgroup/unified", ()),
    ]


def test_parse_mountinfo_v1_combined_escaped_and_duplicate():
    mounts = cgroups.parse_mountinfo(V1_MOUNTINFO)
    # The second mount of 0:29 (a bind of a sub-cgroup) is the same
    # hierarchy and is dropped; \040 is a space.
    assert [(m, c) for _, m, _, c, _ in mounts] == [
        ("/sys/fs/cgroup/cpu,cpuacct", ("cpu", "cpuacct")),
        ("/sys/fs/cgroup/mem ory", ("memory",)),
    ]


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_discover_modes(tmp_path):
    cg = tmp_path / "cgroup"
    _write(cg, "5:memory:/a/b\n3:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n")
    for text, mode in ((HYBRID_MOUNTINFO, "hybrid"), (V1_MOUNTINFO, "legacy"),
                       (V2_MOUNTINFO, "unified"), ("", "none")):
        mi = tmp_path / "mountinfo"
        _write(mi, text)
        layout = cgroups.discover(str(mi), str(cg))
        assert layout.mode == mode
    layout = cgroups.discover(str(tmp_path / "mountinfo"), str(cg))
    _write(tmp_path / "mountinfo", HYBRID_MOUNTINFO)
    layout = cgroups.discover(str(tmp_path / "mountinfo"), str(cg))
    own = {h.name: h.own_path for h in layout.hierarchies}
    assert own["memory"] == "/a/b"
    assert own["name=systemd"] == "/s"
    assert own["unified"] == "/u"
    assert own["cpu"] == "/"      # "cpu,cpuacct" is another hierarchy
    assert layout.controller("memory").mountpoint == "/sys/fs/cgroup/memory"
    assert layout.controller("pids") is None


def test_parse_proc_cgroup():
    got = cgroups.parse_proc_cgroup(
        "12:cpuacct,cpu:/x\n1:name=systemd:/init.scope\n0::/y:z\n")
    assert got == {"cpu,cpuacct": "/x", "name=systemd": "/init.scope",
                   "unified": "/y:z"}


# -- linux.cgroupsPath


def _spec(path):
    return {"linux": {"cgroupsPath": path}}


@pytest.mark.parametrize("path,want", [
    ("/a/b", ("/a/b", True)),
    ("/a//b/./c/", ("/a/b/c", True)),
    ("a/b", ("a/b", False)),
    ("system.slice:docker:abc", ("system.slice:docker:abc", False)),
])
def test_resolve_path_cgroupfs(path, want):
    assert cgroups.resolve_path("c1", _spec(path)) == want


def test_resolve_path_default():
    assert cgroups.resolve_path("c1", {}) == ("/pyrunsc/c1", True)
    assert cgroups.resolve_path("c1", {"linux": {}}) == ("/pyrunsc/c1", True)
    assert cgroups.resolve_path("c1", {}, systemd=True) == (
        "/system.slice/pyrunsc-c1.scope", True)


@pytest.mark.parametrize("path,want", [
    ("system.slice:docker:abc", "/system.slice/docker-abc.scope"),
    ("a-b-c.slice:pfx:n", "/a.slice/a-b.slice/a-b-c.slice/pfx-n.scope"),
    (":cri-containerd:x", "/system.slice/cri-containerd-x.scope"),
    ("-.slice:p:n", "/p-n.scope"),
    ("user.slice::n", "/user.slice/n.scope"),
    ("machine.slice:p:machine-x.slice", "/machine.slice/machine-x.slice"),
])
def test_resolve_path_systemd(path, want):
    assert cgroups.resolve_path("c1", _spec(path), systemd=True) == (want,
                                                                     True)


@pytest.mark.parametrize("path,systemd", [
    ("/a/../b", False), ("../x", False), ("/", False), ("//.", False),
    (5, False), ("a\0b", False),
    ("/a/b", True), ("system.slice:x", True), ("bad:x:y", True),
    ("a--b.slice:x:y", True), ("-a.slice:x:y", True), ("a/b.slice:x:y", True),
    ("system.slice:x:", True), ("system.slice:x:a/b", True),
])
def test_resolve_path_invalid(path, systemd):
    with pytest.raises(InvalidSpecError) as e:
        cgroups.resolve_path("c1", _spec(path), systemd=systemd)
    assert e.value.field_path == "linux.cgroupsPath"


def test_expand_slice():
    assert cgroups.expand_slice("system.slice") == "/system.slice"
    assert cgroups.expand_slice("-.slice") == "/"
    with pytest.raises(ValueError):
        cgroups.expand_slice("foo.scope")


def _layout():
    return Layout(
        (Hierarchy(1, "/cg/memory", "/", ("memory",), "/own/mem"),
         Hierarchy(1, "/cg/cpu,cpuacct", "/ns", ("cpu", "cpuacct"),
                   "/ns/own")),
        Hierarchy(2, "/cg/unified", "/", (), "/"))


def test_for_spec_dirs_absolute_and_relative():
    cg = Cgroup.for_spec("c1", _spec("/x/y"), layout=_layout())
    assert cg.dirs == {"memory": "/cg/memory/x/y",
                       "cpu,cpuacct": "/cg/cpu,cpuacct/x/y",
                       "unified": "/cg/unified/x/y"}
    cg = Cgroup.for_spec("c1", _spec("x/y"), layout=_layout())
    # Relative: below the caller's own cgroup; a mount whose root is /ns
    # shows /ns/own at <mountpoint>/own.
    assert cg.dirs == {"memory": "/cg/memory/own/mem/x/y",
                       "cpu,cpuacct": "/cg/cpu,cpuacct/own/x/y",
                       "unified": "/cg/unified/x/y"}
    h = _layout().v1[1]
    assert h.cgpath_of("/cg/cpu,cpuacct/own/x/y") == "/ns/own/x/y"
    assert cg.procs_files()[0] == "/cg/memory/own/mem/x/y/cgroup.procs"
    assert len(cg.procs_files()) == 3


def test_for_spec_systemd():
    cg = Cgroup.for_spec("c1", _spec("system.slice:docker:abc"),
                         systemd=True, layout=_layout())
    assert cg.dirs["memory"] == "/cg/memory/system.slice/docker-abc.scope"


def test_to_dict_round_trip():
    cg = Cgroup.for_spec("c1", _spec("x"), layout=_layout())
    back = Cgroup.from_dict(cg.to_dict())
    assert back.dirs == cg.dirs
    assert back.layout == cg.layout
    assert (back.cid, back.path) == ("c1", "x")


def test_from_dict_refuses_dirs_outside_hierarchy():
    d = Cgroup.for_spec("c1", _spec("x"), layout=_layout()).to_dict()
    for bad in ("/cg/memory", "/cg/memory/../cpu/x", "/etc"):
        d["dirs"]["memory"] = bad
        with pytest.raises(cgroups.SandboxError):
            Cgroup.from_dict(d)


# -- memory.swap on v2


def test_swap_to_v2():
    assert cgroups.swap_to_v2(None, 100) is None
    assert cgroups.swap_to_v2(0, -1) == -1
    assert cgroups.swap_to_v2(-1, 100) == -1
    assert cgroups.swap_to_v2(300, 100) == 200
    for swap, mem in ((100, 0), (100, -1), (50, 100)):
        with pytest.raises(ValueError):
            cgroups.swap_to_v2(swap, mem)


# -- fake trees


@pytest.fixture
def writes(monkeypatch):
    """Record every cgroup write as (file name relative to tree, value)."""
    log = []
    real = cgroups._write_raw

    def record(path, value):
        real(path, value)
        log.append((path, str(value)))
    monkeypatch.setattr(cgroups, "_write_raw", record)
    return log


V2_FILES = ("cgroup.procs", "cgroup.controllers", "cgroup.subtree_control",
            "cgroup.freeze", "cgroup.events", "memory.max",
            "memory.swap.max", "memory.low", "cpu.weight", "cpu.max",
            "cpu.max.burst", "cpu.idle", "pids.max", "io.weight", "io.max",
            "cpuset.cpus", "cpuset.mems", "hugetlb.2MB.max", "memory.high")


def _v2_tree(tmp_path, leaf="a/c1"):
    root = tmp_path / "v2"
    d = root / leaf
    d.mkdir(parents=True)
    for level in [root] + [root / p for p in
                           [leaf.rsplit("/", 1)[0]] if "/" in leaf] + [d]:
        for name in V2_FILES:
            if not (level / name).exists():
                _write(level / name, "")
    ctl = "cpu memory pids io cpuset hugetlb"
    for level in (root, root / "a"):
        _write(level / "cgroup.controllers", ctl)
    _write(d / "cpu.max", "max 100000")
    h = Hierarchy(2, str(root), "/", tuple(ctl.split()), "/")
    cg = Cgroup.for_spec("c1", _spec("/" + leaf), layout=Layout((), h))
    return cg, d


def _files(writes, d):
    return [(os.path.relpath(p, d), v) for p, v in writes
            if os.path.dirname(p) == str(d)]


def test_v2_create_enables_controllers_in_ancestors(tmp_path, writes):
    cg, d = _v2_tree(tmp_path)
    cg.create(None)
    root = tmp_path / "v2"
    for level in (root, root / "a"):
        got = [v for p, v in writes
               if p == str(level / "cgroup.subtree_control")]
        assert got == ["+cpu", "+memory", "+pids", "+io", "+cpuset",
                       "+hugetlb"]
    assert not [p for p, _ in writes if p.startswith(str(d) + "/")]


def test_v2_apply(tmp_path, writes):
    cg, d = _v2_tree(tmp_path)
    cg.apply({
        "memory": {"limit": 256 << 20, "swap": 512 << 20,
                   "reservation": 128 << 20, "kernel": 1 << 20,
                   "swappiness": 10},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000,
                "cpus": "0", "mems": "0", "idle": 0, "burst": 1000},
        "pids": {"limit": 10},
        "blockIO": {"weight": 500, "weightDevice": [
            {"major": 8, "minor": 0, "weight": 10}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0,
                                       "rate": 1 << 20}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 0,
                                         "rate": 0}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}],
        "devices": [{"allow": False, "access": "rwm"}],
        "unified": {"memory.high": "300000000"},
    })
    assert _files(writes, d) == [
        ("memory.swap.max", str(256 << 20)),
        ("memory.max", str(256 << 20)),
        ("memory.low", str(128 << 20)),
        ("cpu.weight", "39"),
        ("cpu.max", "50000 100000"),
        ("cpu.max.burst", "1000"),
        ("cpu.idle", "0"),
        ("cpuset.cpus", "0"),
        ("cpuset.mems", "0"),
        ("pids.max", "10"),
        ("io.weight", "default 4950"),
        ("io.weight", "8:0 1"),
        ("io.max", "8:0 rbps=1048576"),
        ("io.max", "8:0 wiops=max"),
        ("hugetlb.2MB.max", str(4 << 20)),
        ("memory.high", "300000000"),
    ]


def test_v2_unlimited_values(tmp_path, writes):
    cg, d = _v2_tree(tmp_path)
    cg.apply({"memory": {"limit": -1}, "cpu": {"quota": -1},
              "pids": {"limit": -1}})
    assert _files(writes, d) == [("memory.swap.max", "max"),
                                 ("memory.max", "max"),
                                 ("cpu.max", "max"), ("pids.max", "max")]
    writes.clear()
    # A period alone keeps the quota that is set.
    _write(d / "cpu.max", "20000 100000")
    cg.apply({"cpu": {"period": 50000}, "pids": {"limit": 0}})
    assert _files(writes, d) == [("cpu.max", "20000 50000"),
                                 ("pids.max", "max")]


@pytest.mark.parametrize("resources,field", [
    ({"cpu": {"realtimeRuntime": 1000}},
     "linux.resources.cpu.realtimeRuntime"),
    ({"memory": {"swap": 100}}, "linux.resources.memory.swap"),
    ({"unified": {"memory.nope": "1"}},
     'linux.resources.unified["memory.nope"]'),
    ({"unified": {"../x.y": "1"}}, 'linux.resources.unified["../x.y"]'),
    ({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]},
     "linux.resources.hugepageLimits[0].pageSize"),
])
def test_v2_invalid(tmp_path, resources, field):
    cg, _ = _v2_tree(tmp_path)
    with pytest.raises(InvalidSpecError) as e:
        cg.apply(resources)
    assert e.value.field_path == field


def test_check_before_update(tmp_path, writes):
    cg, d = _v2_tree(tmp_path)
    _write(d / "memory.current", "8192\n")
    with pytest.raises(InvalidSpecError) as e:
        cg.apply({"memory": {"limit": 4096, "checkBeforeUpdate": True}})
    assert e.value.field_path == "linux.resources.memory.limit"
    assert writes == []
    cg.apply({"memory": {"limit": 4096}})
    assert _files(writes, d) == [("memory.max", "4096")]


def test_v2_stats_from_files(tmp_path):
    cg, d = _v2_tree(tmp_path)
    _write(d / "cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\n"
           "nr_periods 3\nnr_throttled 2\nthrottled_usec 7\n")
    _write(d / "memory.current", "4096\n")
    _write(d / "memory.max", "max\n")
    _write(d / "memory.events", "low 0\nhigh 0\nmax 5\noom 0\n")
    _write(d / "memory.stat", "anon 100\nfile 200\n")
    _write(d / "memory.swap.current", "0\n")
    _write(d / "memory.swap.max", "max\n")
    _write(d / "pids.current", "2\n")
    _write(d / "pids.max", "max\n")
    _write(d / "io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 "
           "dbytes=0 dios=0\n")
    s = cg.stats()
    assert s["cpu"]["usage"]["total"] == 10000
    assert s["cpu"]["usage"]["user"] == 6000
    assert s["cpu"]["throttling"] == {"periods": 3, "throttledPeriods": 2,
                                      "throttledTime": 7000}
    assert s["memory"]["usage"]["usage"] == 4096
    assert s["memory"]["usage"]["failcnt"] == 5
    assert s["memory"]["cache"] == 200
    assert s["memory"]["raw"] == {"anon": 100, "file": 200}
    assert s["pids"] == {"current": 2, "limit": 0}
    assert s["cpuset"] == {"cpus": [], "mems": []}
    assert {"major": 8, "minor": 0, "op": "Write", "value": 1024} in \
        s["blkio"]["ioServiceBytesRecursive"]
    assert {"major": 8, "minor": 0, "op": "Read", "value": 1} in \
        s["blkio"]["ioServicedRecursive"]


def test_v2_freeze_uses_cgroup_freeze(tmp_path, writes):
    cg, d = _v2_tree(tmp_path)
    _write(d / "cgroup.events", "populated 1\nfrozen 1\n")
    cg.freeze()
    assert _files(writes, d) == [("cgroup.freeze", "1")]
    assert cg.state() == "FROZEN"


# -- fake v1


V1_FILES = {
    "memory": ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
               "memory.soft_limit_in_bytes", "memory.swappiness",
               "memory.oom_control", "memory.use_hierarchy"),
    "cpuset": ("cpuset.cpus", "cpuset.mems"),
    "devices": ("devices.allow", "devices.deny"),
    "cpu": ("cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"),
}


def _v1_tree(tmp_path):
    hs = []
    for ctl, files in V1_FILES.items():
        root = tmp_path / ctl
        root.mkdir()
        for name in files + ("cgroup.procs",):
            _write(root / name, "")
        hs.append(Hierarchy(1, str(root), "/", (ctl,), "/"))
    _write(tmp_path / "cpuset" / "cpuset.cpus", "0-3\n")
    _write(tmp_path / "cpuset" / "cpuset.mems", "0\n")
    for ctl in V1_FILES:
        _make_leaf_files(tmp_path, ctl)
    return Cgroup.for_spec("c1", _spec("/p/c1"), layout=Layout(tuple(hs)))


def _make_leaf_files(tmp_path, ctl, values=None):
    d = tmp_path / ctl / "p" / "c1"
    d.mkdir(parents=True, exist_ok=True)
    for name in V1_FILES[ctl] + ("cgroup.procs",):
        _write(d / name, (values or {}).get(name, ""))
    return d


def test_v1_create_copies_cpuset(tmp_path, writes):
    cg = _v1_tree(tmp_path)
    for level in ("p", "p/c1"):
        for name in V1_FILES["cpuset"]:
            _write(tmp_path / "cpuset" / level / name, "")
    cg.create(None)
    for level in ("p", "p/c1"):
        d = tmp_path / "cpuset" / level
        assert (d / "cpuset.cpus").read_text() == "0-3"
        assert (d / "cpuset.mems").read_text() == "0"
    assert (tmp_path / "memory" / "p" / "c1").is_dir()


@pytest.mark.parametrize("current,limit,swap,order", [
    # Growing: memsw first so that limit <= memsw holds throughout.
    ("100", 300, 400, ["memory.memsw.limit_in_bytes",
                       "memory.limit_in_bytes"]),
    # Shrinking: the limit first.
    ("1000", 50, 60, ["memory.limit_in_bytes",
                      "memory.memsw.limit_in_bytes"]),
    ("100", 300, -1, ["memory.memsw.limit_in_bytes",
                      "memory.limit_in_bytes"]),
])
def test_v1_memory_swap_order(tmp_path, writes, current, limit, swap, order):
    cg = _v1_tree(tmp_path)
    d = _make_leaf_files(tmp_path, "memory",
                         {"memory.limit_in_bytes": current})
    cg.apply({"memory": {"limit": limit, "swap": swap}})
    assert [f for f, _ in _files(writes, d)] == order


def test_v1_memory_unlimited_means_swap_too(tmp_path, writes):
    cg = _v1_tree(tmp_path)
    d = _make_leaf_files(tmp_path, "memory")
    cg.apply({"memory": {"limit": -1, "kernel": 1 << 20,
                         "kernelTCP": 1 << 20, "swappiness": 0,
                         "disableOOMKiller": True}})
    # memory.kmem.* do not exist here: skipped like a removed knob.
    assert sorted(_files(writes, d)) == sorted([
        ("memory.memsw.limit_in_bytes", "-1"),
        ("memory.limit_in_bytes", "-1"),
        ("memory.swappiness", "0"), ("memory.oom_control", "1")])


def test_v1_devices_in_order(tmp_path, writes):
    cg = _v1_tree(tmp_path)
    d = _make_leaf_files(tmp_path, "devices")
    cg.apply({"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"},
        {"allow": True, "type": "c", "major": 136, "access": "rwm"},
        {"allow": False, "type": "b", "minor": -1, "major": 8}]})
    assert _files(writes, d) == [
        ("devices.deny", "a"), ("devices.allow", "c 1:3 rw"),
        ("devices.allow", "c 136:* rwm"), ("devices.deny", "b 8:* rwm")]


def test_v1_cpu_shares_clamped_is_an_error(tmp_path, monkeypatch):
    cg = _v1_tree(tmp_path)
    _make_leaf_files(tmp_path, "cpu")
    real = cgroups._write_raw

    def clamp(path, value):
        real(path, "262144" if path.endswith("cpu.shares") else value)
    monkeypatch.setattr(cgroups, "_write_raw", clamp)
    with pytest.raises(InvalidSpecError) as e:
        cg.apply({"cpu": {"shares": 10 ** 7}})
    assert e.value.field_path == "linux.resources.cpu.shares"
    assert "262144" in str(e.value)


def test_v1_missing_controller_is_skipped(tmp_path, writes):
    cg = _v1_tree(tmp_path)
    cg.apply({"pids": {"limit": 10}, "hugepageLimits": [
        {"pageSize": "2MB", "limit": 1}], "network": {"classID": 1}})
    assert writes == []


@pytest.mark.parametrize("resources,field", [
    ({"memory": {"limit": "1g"}}, "linux.resources.memory.limit"),
    ({"memory": {"limit": True}}, "linux.resources.memory.limit"),
    ({"memory": {"limit": -2}}, "linux.resources.memory.limit"),
    ({"memory": {"swappiness": 101}}, "linux.resources.memory.swappiness"),
    ({"memory": {"disableOOMKiller": "yes"}},
     "linux.resources.memory.disableOOMKiller"),
    ({"memory": []}, "linux.resources.memory"),
    ({"cpu": {"cpus": 3}}, "linux.resources.cpu.cpus"),
    ({"pids": {"limit": 1.5}}, "linux.resources.pids.limit"),
    ({"devices": [{"allow": True, "type": "x"}]},
     "linux.resources.devices[0].type"),
    ({"devices": [{"allow": True, "access": "rwx"}]},
     "linux.resources.devices[0].access"),
    ({"devices": [{"type": "c"}]}, "linux.resources.devices[0].allow"),
    ({"blockIO": {"weight": 5000}}, "linux.resources.blockIO.weight"),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": 8}]}},
     "linux.resources.blockIO.throttleReadBpsDevice[0]"),
    ({"unified": {"memory.max": "1"}}, "linux.resources.unified"),
])
def test_v1_invalid_values(tmp_path, resources, field):
    cg = _v1_tree(tmp_path)
    with pytest.raises(InvalidSpecError) as e:
        cg.apply(resources)
    assert e.value.field_path == field


def test_kernel_rejection_names_field_and_file(tmp_path):
    cg = _v1_tree(tmp_path)
    d = _make_leaf_files(tmp_path, "memory")
    os.unlink(d / "memory.limit_in_bytes")
    os.mkdir(d / "memory.limit_in_bytes")      # opening it fails: EISDIR
    with pytest.raises(InvalidSpecError) as e:
        cg.apply({"memory": {"limit": 1}})
    assert str(e.value) == ("linux.resources.memory.limit: writing 1 to "
                            "memory.limit_in_bytes: Is a directory")


def test_parse_list():
    assert cgroups.parse_list("0-2,5\n") == [0, 1, 2, 5]
    assert cgroups.parse_list("") == []


def test_hugepage_sizes(tmp_path):
    for n in ("hugepages-2048kB", "hugepages-1048576kB", "hugepages-64kB",
              "other"):
        (tmp_path / n).mkdir()
    assert cgroups.hugepage_sizes(str(tmp_path)) == ["1GB", "2MB", "64KB"]


def test_destroy_removes_fake_dirs_and_is_idempotent(tmp_path):
    cg = _v1_tree(tmp_path)
    # Regular files make rmdir fail with ENOTEMPTY, so empty the fakes.
    for d in cg.dirs.values():
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))
    os.mkdir(os.path.join(cg.dirs["memory"], "sub"))
    cg.destroy()
    assert not any(os.path.exists(d) for d in cg.dirs.values())
    assert os.path.isdir(tmp_path / "memory" / "p")
    cg.destroy()
