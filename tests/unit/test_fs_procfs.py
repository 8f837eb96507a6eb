"""sentry.fs.procfs: the /proc files that describe the container's cgroup
limits rather than the host (pure renderers on sample host files)."""
from types import SimpleNamespace

import pytest

from sentry.fs import procfs, sysfs

HOST_MEMINFO = (b"MemTotal:       24683656 kB\n"
                b"MemFree:        23651300 kB\n"
                b"MemAvailable:   23900000 kB\n"
                b"Buffers:          100000 kB\n"
                b"Cached:           400000 kB\n"
                b"SwapCached:            0 kB\n"
                b"HugePages_Total:       0\n"
                b"Hugepagesize:       2048 kB\n")

HOST_CPUINFO = b"".join(b"processor\t: %d\nvendor_id\t: X\nflags\t\t: fpu\n\n"
                        % i for i in range(4))

HOST_STAT = (b"cpu  40 0 40 400 0 0 0 0 0 0\n"
             b"cpu0 10 0 10 100 0 0 0 0 0 0\n"
             b"cpu1 11 0 11 101 0 0 0 0 0 0\n"
             b"cpu2 9 0 9 99 0 0 0 0 0 0\n"
             b"cpu3 10 0 10 100 0 0 0 0 0 0\n"
             b"intr 5 0 0\nctxt 77\nbtime 1700000000\nprocesses 9\n")


def _fields(text):
    out = {}
    for line in text.decode().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def test_meminfo_limit_is_memtotal():
    out = procfs.render_meminfo(HOST_MEMINFO, 256 << 20, 16 << 20, 4 << 20,
                                2 << 20)
    f = _fields(out)
    assert f["MemTotal"] == ["262144", "kB"]
    assert f["MemFree"] == [str(262144 - 16384), "kB"]
    assert f["MemAvailable"] == [str(262144 - 16384 + 2048), "kB"]
    assert f["Cached"] == ["4096", "kB"]
    assert f["Buffers"] == ["0", "kB"]
    # untouched lines stay as the kernel wrote them
    assert b"HugePages_Total:       0\n" in out
    assert b"MemTotal:         262144 kB\n" in out      # kernel layout


def test_meminfo_limit_above_host_memory():
    out = procfs.render_meminfo(HOST_MEMINFO, 1 << 50, 0, 0, 0)
    assert _fields(out)["MemTotal"] == ["24683656", "kB"]
    # MemAvailable never exceeds the host's
    assert _fields(out)["MemAvailable"] == ["23900000", "kB"]


def test_meminfo_usage_above_limit_clamps():
    out = procfs.render_meminfo(HOST_MEMINFO, 64 << 20, 100 << 20, 0, 0)
    f = _fields(out)
    assert f["MemFree"] == ["0", "kB"] and f["MemTotal"] == ["65536", "kB"]


def test_cpuinfo_keeps_virtual_cpus():
    out = procfs.render_cpuinfo(HOST_CPUINFO, {0, 2})
    assert out.count(b"processor") == 2
    assert b"processor\t: 0" in out and b"processor\t: 2" in out
    assert b"processor\t: 1" not in out
    assert out.endswith(b"\n\n")


def test_stat_sums_virtual_cpus():
    out = procfs.render_stat(HOST_STAT, {1, 3})
    lines = out.decode().splitlines()
    assert lines[0].split() == ["cpu", "21", "0", "21", "201", "0", "0",
                                "0", "0", "0", "0"]
    assert [ln.split()[0] for ln in lines[1:3]] == ["cpu1", "cpu3"]
    assert "cpu0" not in out.decode() and "ctxt 77" in lines


@pytest.mark.parametrize("cpus,text", [([0], b"0\n"), ([0, 1, 2], b"0-2\n"),
                                       ([0, 2, 3, 5], b"0,2-3,5\n")])
def test_format_cpus(cpus, text):
    assert procfs.format_cpus(cpus) == text


class _Ctx(SimpleNamespace):
    pass


def _ctx(monkeypatch, quota, real=(0, 1, 2, 3)):
    monkeypatch.setattr(procfs, "cgroup_dir", lambda pid, c: (None, 0))
    monkeypatch.setattr(procfs.os, "sched_getaffinity", lambda pid: set(real))
    return _Ctx(init_pid=1, cpu_quota=quota, memory_limit=None)


@pytest.mark.parametrize("quota,want", [(None, [0, 1, 2, 3]),
                                        ((100000, 100000), [0]),
                                        ((150000, 100000), [0, 1]),
                                        ((10000, 100000), [0]),
                                        ((900000, 100000), [0, 1, 2, 3]),
                                        (2.0, [0, 1])])
def test_virtual_cpus_from_quota(monkeypatch, quota, want):
    assert procfs.cpus(_ctx(monkeypatch, quota)) == want


def test_virtual_cpus_follow_cpuset(monkeypatch):
    assert procfs.cpus(_ctx(monkeypatch, (100000, 100000), (2, 3))) == [2]


def test_sys_cpu_lists(monkeypatch):
    ctx = _ctx(monkeypatch, (200000, 100000))
    assert sysfs.content(ctx, "devices/system/cpu/online") == b"0-1\n"
    assert sysfs.content(ctx, "devices/system/cpu/possible") == b"0-1\n"
    assert sysfs.content(ctx, "devices/system/cpu/cpu0/online") is None
    assert sysfs.content(_ctx(monkeypatch, None),
                         "devices/system/cpu/online") is None


def test_no_limits_means_the_kernel_files(monkeypatch):
    ctx = _ctx(monkeypatch, None, real=sorted(procfs.os.sched_getaffinity(0)))
    assert procfs.meminfo(ctx) is None
