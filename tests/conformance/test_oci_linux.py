"""Conformance: config-linux.md "Namespaces", "User namespace mappings",
"Sysctl", "Control groups" and config.md "Hostname", checked from inside by
the probe and from the host through /proc and the cgroup filesystem.
"""

import contextlib
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest

from ocitest import default_spec, host_ns_inode, probe_spec

NS_OF_TYPE = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts",
              "mount": "mnt", "cgroup": "cgroup", "user": "user"}
CGROUP = Path("/sys/fs/cgroup")


def without_ns(spec, *types):
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"]
                                   if n["type"] not in types]
    return spec


# -- namespaces -----------------------------------------------------------

def test_namespaces_created(rt):
    """namespaces: without path, the runtime MUST create a new namespace of
    each listed type"""
    p = rt.container(probe_spec()).probe()
    for t in ("pid", "network", "ipc", "uts", "mount", "cgroup"):
        kind = NS_OF_TYPE[t]
        assert p.ns_inode(kind) != host_ns_inode(kind), f"{t} not new"
    assert p["pid"] == 1, "not pid 1 of a new pid namespace"


def test_namespaces_not_listed_inherited(rt):
    """namespaces: a type not listed MUST be inherited from the runtime"""
    spec = without_ns(probe_spec(), "network", "ipc")
    p = rt.container(spec).probe()
    for kind in ("net", "ipc", "user"):
        assert p.ns_inode(kind) == host_ns_inode(kind), f"{kind} not shared"
    assert p.ns_inode("uts") != host_ns_inode("uts")


def test_namespace_path_joined(rt, netns):
    """namespaces: with path, the process MUST be placed in that namespace"""
    spec = probe_spec()
    for n in spec["linux"]["namespaces"]:
        if n["type"] == "network":
            n["path"] = str(netns)
    p = rt.container(spec).probe()
    assert p.ns_inode("net") == os.stat(netns).st_ino
    assert p.ns_inode("net") != host_ns_inode("net")


def test_namespace_path_wrong_type_fails(rt, netns):
    """namespaces: a path not associated with a namespace of `type` MUST
    generate an error"""
    spec = probe_spec()
    for n in spec["linux"]["namespaces"]:
        if n["type"] == "uts":
            n["path"] = str(netns)
    c = rt.container(spec)
    assert not c.create().ok
    assert not c.state_result().ok


def test_namespace_path_not_a_namespace_fails(rt, tmp_path):
    """namespaces: a path that is no namespace at all MUST generate an error"""
    bogus = tmp_path / "not-a-ns"
    bogus.write_text("")
    spec = probe_spec()
    for n in spec["linux"]["namespaces"]:
        if n["type"] == "network":
            n["path"] = str(bogus)
    c = rt.container(spec)
    assert not c.create().ok
    assert not c.state_result().ok


@pytest.fixture
def public_dir():
    """A 0755 dir under /tmp: a mapped root must be able to reach the
    bundle, which pytest's 0700 tmp dirs forbid."""
    d = Path(tempfile.mkdtemp(prefix="oci-conf-userns-", dir="/tmp"))
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_user_namespace_mappings(rt, public_dir):
    """linux.uidMappings/gidMappings: a user namespace with the given maps"""
    spec = probe_spec("read=/proc/self/uid_map", "read=/proc/self/gid_map")
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000,
                                     "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000,
                                     "size": 65536}]
    # /sys and its cgroup mount are not needed here; leaving them out keeps
    # the test about the mappings alone
    spec["mounts"] = [m for m in spec["mounts"]
                      if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
    c = rt.container(spec, parent=public_dir)
    os.chmod(c.bundle, 0o755)
    os.chmod(c.rootfs, 0o755)
    p = c.probe()
    assert p.ns_inode("user") != host_ns_inode("user")
    assert p["uid"] == 0 and p["gid"] == 0
    uid_map = p.check("read", "/proc/self/uid_map")["data"].split()
    gid_map = p.check("read", "/proc/self/gid_map")["data"].split()
    assert uid_map == ["0", "200000", "65536"]
    assert gid_map == ["0", "200000", "65536"]


# -- hostname -------------------------------------------------------------

def test_hostname(rt):
    """hostname: the container's hostname as seen by its processes"""
    host_before = socket.gethostname()
    spec = probe_spec()
    spec["hostname"] = "oci-conformance-host"
    try:
        p = rt.container(spec).probe()
    finally:
        changed = socket.gethostname() != host_before
        if changed:     # a runtime that set it outside its uts namespace
            socket.sethostname(host_before)
    assert not changed, "the runtime changed the host's hostname"
    assert p["hostname"] == "oci-conformance-host"


# -- sysctl ---------------------------------------------------------------

@contextlib.contextmanager
def host_values_guarded(values):
    """Fails the test if the host's sysctls changed, after putting them
    back: a runtime that applies a container's sysctl outside the
    container's namespaces must not leave this machine altered."""
    changed = []
    try:
        yield
    finally:
        for name, value in values.items():
            path = Path("/proc/sys") / name
            if path.read_text().strip() != value:
                changed.append(name)
                path.write_text(value + "\n")
    assert not changed, f"the runtime changed host sysctls: {changed}"


def test_sysctl_namespaced(rt):
    """linux.sysctl: namespaced kernel parameters are set for the container
    only"""
    host_fwd = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    host_msgmax = Path("/proc/sys/kernel/msgmax").read_text().strip()
    want_fwd = "0" if host_fwd == "1" else "1"
    want_msgmax = str(int(host_msgmax) - 1)
    spec = probe_spec("sysctl=net.ipv4.ip_forward", "sysctl=kernel.msgmax")
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": want_fwd,
                               "kernel.msgmax": want_msgmax}
    with host_values_guarded({"net/ipv4/ip_forward": host_fwd,
                              "kernel/msgmax": host_msgmax}):
        p = rt.container(spec).probe()
    assert p.check("sysctl", "net.ipv4.ip_forward")["value"] == want_fwd
    assert p.check("sysctl", "kernel.msgmax")["value"] == want_msgmax


def test_sysctl_not_namespaced_refused(rt):
    """linux.sysctl: a host-wide parameter (kernel.panic) is refused, not set
    on the host"""
    # The value is the host's own, so a runtime that wrongly applies it
    # changes nothing on this machine.
    current = Path("/proc/sys/kernel/panic").read_text().strip()
    spec = probe_spec()
    spec["linux"]["sysctl"] = {"kernel.panic": current}
    c = rt.container(spec)
    assert not c.create().ok
    assert not c.state_result().ok


def test_sysctl_net_without_netns_refused(rt):
    """linux.sysctl: a net.* parameter without a private network namespace is
    refused"""
    current = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    spec = without_ns(probe_spec(), "network")
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": current}
    c = rt.container(spec)
    assert not c.create().ok
    assert not c.state_result().ok


# -- cgroups --------------------------------------------------------------

def v1(controller, name, filename):
    return CGROUP / controller / name.lstrip("/") / filename


def cgroup_of(pid, controller):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctls, path = line.rstrip("\n").split(":", 2)
            if controller in ctls.split(","):
                return path
    return None


def running(rt, spec):
    c = rt.container(spec)
    c.create_ok()
    return c, c.state()["pid"]


def test_cgroups_path_attach(rt, cgroup_name):
    """linux.cgroupsPath: an absolute path is relative to the cgroup mount; the
    process MUST be in it"""
    spec = default_spec(["/bin/sleep", "30"])
    spec["linux"]["cgroupsPath"] = cgroup_name
    c, pid = running(rt, spec)
    for ctl in ("memory", "pids", "cpu", "devices"):
        assert cgroup_of(pid, ctl) == cgroup_name, ctl
        procs = v1(ctl, cgroup_name, "cgroup.procs").read_text().split()
        assert str(pid) in procs, ctl


def test_cgroup_memory_limit(rt, cgroup_name):
    """linux.resources.memory.limit: set in the container's memory cgroup"""
    spec = default_spec(["/bin/sleep", "30"])
    spec["linux"]["cgroupsPath"] = cgroup_name
    spec["linux"]["resources"]["memory"] = {"limit": 64 << 20,
                                            "reservation": 32 << 20}
    c, pid = running(rt, spec)
    limit = v1("memory", cgroup_name, "memory.limit_in_bytes")
    assert int(limit.read_text()) == 64 << 20
    soft = v1("memory", cgroup_name, "memory.soft_limit_in_bytes")
    assert int(soft.read_text()) == 32 << 20


def test_cgroup_memory_limit_inside(rt, cgroup_name):
    """linux.resources.memory.limit: visible inside the container through its
    cgroup mount"""
    spec = probe_spec("read=/sys/fs/cgroup/memory/memory.limit_in_bytes")
    spec["linux"]["cgroupsPath"] = cgroup_name
    spec["linux"]["resources"]["memory"] = {"limit": 48 << 20}
    p = rt.container(spec).probe()
    r = p.check("read", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert r["errno"] == 0, r
    assert int(r["data"]) == 48 << 20


def test_cgroup_pids_limit(rt, cgroup_name):
    """linux.resources.pids.limit: set as pids.max of the container's cgroup"""
    spec = default_spec(["/bin/sleep", "30"])
    spec["linux"]["cgroupsPath"] = cgroup_name
    spec["linux"]["resources"]["pids"] = {"limit": 32}
    running(rt, spec)
    assert v1("pids", cgroup_name, "pids.max").read_text().strip() == "32"


def test_cgroup_pids_limit_enforced(rt, cgroup_name):
    """linux.resources.pids.limit: forks beyond the limit fail inside the
    container"""
    spec = default_spec(["/bin/sh", "-c",
                         "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; "
                         "wait; echo done"])
    spec["linux"]["cgroupsPath"] = cgroup_name
    spec["linux"]["resources"]["pids"] = {"limit": 4}
    c = rt.container(spec)
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped", timeout=30)
    err = c.err.read_text()
    assert "fork" in err.lower() or "resource" in err.lower(), \
        f"no fork failure reported: {err[-500:]!r}"


def test_cgroup_cpu(rt, cgroup_name):
    """linux.resources.cpu: shares, quota and period in the cpu cgroup"""
    spec = default_spec(["/bin/sleep", "30"])
    spec["linux"]["cgroupsPath"] = cgroup_name
    spec["linux"]["resources"]["cpu"] = {"shares": 512, "quota": 50000,
                                         "period": 100000}
    running(rt, spec)
    assert v1("cpu", cgroup_name, "cpu.shares").read_text().strip() == "512"
    assert v1("cpu", cgroup_name,
              "cpu.cfs_quota_us").read_text().strip() == "50000"
    assert v1("cpu", cgroup_name,
              "cpu.cfs_period_us").read_text().strip() == "100000"


def test_cgroup_namespace_root(rt):
    """cgroup namespace: the container sees its own cgroup as /"""
    p = rt.container(probe_spec()).probe()
    for line in p.text("cgroup", "/proc/self/cgroup").splitlines():
        assert line.rsplit(":", 1)[1] == "/", line


def test_cgroups_path_same_value_same_place(rt, cgroup_name):
    """linux.cgroupsPath: the same value MUST attach to the same place in the
    hierarchy"""
    for _ in range(2):
        spec = default_spec(["/bin/sleep", "30"])
        spec["linux"]["cgroupsPath"] = cgroup_name
        c, pid = running(rt, spec)
        assert cgroup_of(pid, "pids") == cgroup_name
        c.must(c.kill("KILL"), "kill")
        c.wait_status("stopped")
        c.must(c.delete(), "delete")
        deadline = time.monotonic() + 5
        while v1("pids", cgroup_name, "").exists() and \
                time.monotonic() < deadline:
            time.sleep(0.05)
