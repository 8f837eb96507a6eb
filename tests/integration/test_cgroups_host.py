"""runtime/cgroups.py on the host's real cgroups (root).

Every test works below its own /pyrunsc-test-<random> parent, which the
fixture removes from every hierarchy and then checks is gone.
"""
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from runtime import cgroups
from runtime.cgroups import Cgroup
from runtime.errors import InvalidSpecError

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]

LAYOUT = cgroups.discover()
V1 = LAYOUT.mode in ("hybrid", "legacy")
MIB = 1 << 20


@pytest.fixture
def parent():
    name = f"/pyrunsc-test-{uuid.uuid4().hex[:12]}"
    made = []
    try:
        yield name, made
    finally:
        for cg in made:
            cg.destroy()
        for h in LAYOUT.hierarchies:
            d = h.dir_of(name)
            if os.path.isdir(d):
                os.rmdir(d)
        left = [h.dir_of(name) for h in LAYOUT.hierarchies
                if os.path.exists(h.dir_of(name))]
        assert not left, f"left behind: {left}"


def _new(parent, cid="c1", resources=None):
    name, made = parent
    cg = Cgroup.for_spec(cid, {"linux": {"cgroupsPath": f"{name}/{cid}"}})
    made.append(cg)
    cg.create(resources)
    return cg


def _kernel(cg, controller, name):
    with open(os.path.join(cg._dir(controller), name)) as f:
        return f.read().strip()


def _spawn_member(cg, code):
    """A python3 child that joins ``cg`` itself (writing "0" to every
    cgroup.procs, as init does) before it runs ``code``."""
    # PR_SET_PDEATHSIG(SIGKILL): the child dies with the test process.
    join = ("import ctypes, os\n"
            "ctypes.CDLL(None).prctl(1, 9)\n"
            "for f in os.environ['PROCS'].split(':'):\n"
            "    open(f, 'w').write('0')\n")
    env = dict(os.environ, PROCS=":".join(cg.procs_files()))
    p = subprocess.Popen([sys.executable, "-c", join + code], env=env,
                         stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\n"
    return p


def _reap(p, cg=None):
    """Kill and collect ``p``; thaw its cgroup first, as a frozen task
    (cgroup v1) cannot act on SIGKILL and wait() would block forever."""
    if cg is not None:
        try:
            cg.thaw()
        except Exception:
            pass
    if p.poll() is None:
        p.kill()
    p.wait(timeout=30)
    p.stdout.close()


RESOURCES = {"memory": {"limit": 256 * MIB},
             "cpu": {"quota": 50000, "period": 100000},
             "pids": {"limit": 10}}


def test_create_writes_limits(parent):
    cg = _new(parent, resources=RESOURCES)
    for _, d in cg._hier_dirs():
        assert os.path.isdir(d)
    if V1:
        assert _kernel(cg, "memory", "memory.limit_in_bytes") == \
            str(256 * MIB)
        assert _kernel(cg, "cpu", "cpu.cfs_quota_us") == "50000"
        assert _kernel(cg, "cpu", "cpu.cfs_period_us") == "100000"
    else:
        assert _kernel(cg, "memory", "memory.max") == str(256 * MIB)
        assert _kernel(cg, "cpu", "cpu.max") == "50000 100000"
    assert _kernel(cg, "pids", "pids.max") == "10"
    assert cg.memory_limit() == 256 * MIB
    assert cg.cpu_quota() == 0.5


def test_limits_of_an_unlimited_cgroup(parent):
    cg = _new(parent)
    # The host may limit an ancestor; the test parent is directly below
    # the root, so nothing limits it.
    assert cg.memory_limit() is None
    assert cg.cpu_quota() is None


def test_update_changes_limits(parent):
    cg = _new(parent, resources=RESOURCES)
    cg.apply({"memory": {"limit": 128 * MIB}, "cpu": {"quota": -1},
              "pids": {"limit": -1}})
    assert cg.memory_limit() == 128 * MIB
    assert cg.cpu_quota() is None
    assert _kernel(cg, "pids", "pids.max") == "max"


def test_cpuset_cgroup_accepts_processes(parent):
    # A fresh v1 cpuset cgroup needs cpus and mems before it takes a pid.
    cg = _new(parent, resources={"cpu": {"cpus": "0"}})
    p = _spawn_member(cg, "print('ready', flush=True)\n"
                      "import sys; sys.stdin.read()")
    try:
        assert os.sched_getaffinity(p.pid) == {0}
    finally:
        _reap(p, cg)


def test_processes_freeze_thaw_stats(parent, tmp_path):
    cg = _new(parent, resources=RESOURCES)
    out = tmp_path / "ticks"
    p = _spawn_member(cg, (
        "buf = bytearray(8 << 20)\n"
        "for i in range(0, len(buf), 4096): buf[i] = 1\n"
        "import os, time\n"
        f"fd = os.open({str(out)!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND)\n"
        "os.write(fd, b'x')\n"
        # Ready only once the file exists: the test may freeze at once.
        "print('ready', flush=True)\n"
        "while True:\n"
        "    os.write(fd, b'x'); time.sleep(0.005)\n"))
    try:
        assert p.pid in cg.pids()
        assert cg.state() == "THAWED"

        cg.freeze()
        assert cg.state() == "FROZEN"
        if V1:
            with open(f"/proc/{p.pid}/stat") as f:
                assert f.read().rsplit(")", 1)[1].split()[0] == "D"
        size = out.stat().st_size
        time.sleep(0.2)
        assert out.stat().st_size == size, "a frozen process made progress"

        cg.thaw()
        assert cg.state() == "THAWED"
        deadline = time.monotonic() + 10
        while out.stat().st_size == size:
            assert time.monotonic() < deadline, "no progress after thaw"
            time.sleep(0.01)

        s = cg.stats()
        assert s["pids"]["current"] >= 1
        assert s["pids"]["limit"] == 10
        assert s["memory"]["usage"]["usage"] >= 8 * MIB
        assert s["memory"]["usage"]["limit"] == 256 * MIB
        assert s["memory"]["raw"]
        assert s["cpu"]["usage"]["total"] > 0
        assert set(s) == {"cpu", "cpuset", "memory", "pids", "blkio",
                          "hugetlb"}
        assert s["cpuset"]["cpus"] == sorted(os.sched_getaffinity(p.pid))
    finally:
        _reap(p, cg)


def test_destroy_kills_members_and_removes_dirs(parent):
    cg = _new(parent)
    p = _spawn_member(cg, "print('ready', flush=True)\n"
                      "import time; time.sleep(600)")
    # A sub-cgroup the container made itself goes too.
    sub = os.path.join(cg._dir("memory"), "inner")
    os.mkdir(sub)
    try:
        cg.freeze()
        # Persisted and loaded again, as `pyrunsc delete` would.
        again = Cgroup.from_dict(cg.to_dict())
        again.destroy()
        assert p.wait(timeout=10) == -signal.SIGKILL
        assert not [d for _, d in cg._hier_dirs() if os.path.exists(d)]
        again.destroy()
    finally:
        _reap(p, cg)


def test_destroy_spares_processes_outside(parent):
    cg = _new(parent)
    outsider = subprocess.Popen(["sleep", "600"])
    try:
        cg._kill_member(outsider.pid)
        cg.destroy()
        assert outsider.poll() is None
    finally:
        outsider.kill()
        outsider.wait()


def test_kernel_rejection_is_invalid_spec(parent):
    cg = _new(parent)
    with pytest.raises(InvalidSpecError) as e:
        # Quotas below 1 ms are refused - sched(7), CFS bandwidth control.
        cg.apply({"cpu": {"quota": 500, "period": 100000}})
    assert e.value.field_path == "linux.resources.cpu.quota"
    assert "Invalid argument" in str(e.value)


def test_failed_create_leaves_nothing(parent):
    name, made = parent
    cg = Cgroup.for_spec("c1", {"linux": {"cgroupsPath": f"{name}/c1"}})
    made.append(cg)
    with pytest.raises(InvalidSpecError):
        cg.create({"pids": {"limit": 5}, "cpu": {"period": 10}})
    assert not [d for _, d in cg._hier_dirs() if os.path.exists(d)]


@pytest.mark.skipif(not V1, reason="cgroup v2 memory.max never refuses")
def test_memory_limit_below_usage_is_busy(parent):
    cg = _new(parent)
    p = _spawn_member(cg, "buf = bytearray(8 << 20)\n"
                      "for i in range(0, len(buf), 4096): buf[i] = 1\n"
                      "print('ready', flush=True)\n"
                      "import sys; sys.stdin.read()")
    try:
        with pytest.raises(InvalidSpecError) as e:
            cg.apply({"memory": {"limit": 1}})
        assert str(e.value) == (
            "linux.resources.memory.limit: writing 1 to "
            "memory.limit_in_bytes: Device or resource busy")
    finally:
        _reap(p, cg)


@pytest.mark.skipif(LAYOUT.controller("devices") is None,
                    reason="no v1 devices controller (v2 needs BPF)")
def test_devices_rules(parent):
    cg = _new(parent, resources={"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3,
         "access": "rwm"},
        {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "r"}]})
    assert _kernel(cg, "devices", "devices.list").splitlines() == [
        "c 1:3 rwm", "c 5:0 r"]


def test_unified_key_missing_is_invalid(parent):
    cg = _new(parent)
    with pytest.raises(InvalidSpecError) as e:
        cg.apply({"unified": {"memory.nonexistent": "1"}})
    assert e.value.field_path.startswith("linux.resources.unified")


@pytest.mark.skipif(LAYOUT.mode != "hybrid",
                    reason="needs a v2 mount beside v1 controllers")
def test_v2_paths_on_the_hybrid_unified_mount(parent, monkeypatch, tmp_path):
    # The unified mount of a hybrid host has no (or few) controllers, but
    # its core files are real cgroup v2: drive the v2 code paths on it.
    # Enabling controllers would write the host root's subtree_control.
    monkeypatch.setattr(Cgroup, "_enable_controllers", staticmethod(
        lambda d: None))
    name, made = parent
    layout = cgroups.Layout((), LAYOUT.v2)
    assert layout.mode == "unified"
    cg = Cgroup.for_spec("c1", {"linux": {"cgroupsPath": f"{name}/c1"}},
                         layout=layout)
    made.append(cg)
    cg.create({"devices": [{"allow": False, "access": "rwm"}]})
    out = tmp_path / "ticks"
    p = _spawn_member(cg, (
        "print('ready', flush=True)\n"
        "import os, time\n"
        f"fd = os.open({str(out)!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND)\n"
        "while True:\n"
        "    os.write(fd, b'x'); time.sleep(0.005)\n"))
    try:
        assert cg.pids() == [p.pid]
        cg.freeze()
        assert cg.state() == "FROZEN"
        size = out.stat().st_size if out.exists() else 0
        time.sleep(0.2)
        assert (out.stat().st_size if out.exists() else 0) == size
        cg.thaw()
        assert cg.state() == "THAWED"
        s = cg.stats()
        assert s["pids"]["current"] == 1
        cg.freeze()
        cg.destroy()
        assert p.wait(timeout=10) == -signal.SIGKILL
        assert not os.path.exists(cg.dirs["unified"])
    finally:
        _reap(p, cg)
