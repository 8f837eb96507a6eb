"""Default specs: runc's defaults, the do spec, exec processes."""
import json
import os
import shutil
import subprocess

import pytest

from runtime import spec as specmod
from runtime import specgen
from runtime.errors import InvalidSpecError


def test_default_spec_is_valid_and_has_runc_defaults(tmp_path):
    s = specgen.default_spec()
    (tmp_path / "rootfs").mkdir()
    specmod.validate(s, str(tmp_path))
    p = s["process"]
    assert p["args"] == ["sh"] and p["terminal"] is True
    assert p["user"] == {"uid": 0, "gid": 0} and p["cwd"] == "/"
    for caps in p["capabilities"].values():
        assert caps == ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    assert s["root"] == {"path": "rootfs", "readonly": True}
    dests = [m["destination"] for m in s["mounts"]]
    assert dests == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                     "/sys", "/sys/fs/cgroup"]
    ns = [n["type"] for n in s["linux"]["namespaces"]]
    assert sorted(ns) == ["ipc", "mount", "network", "pid", "uts"]
    assert "/proc/kcore" in s["linux"]["maskedPaths"]
    assert "/proc/sys" in s["linux"]["readonlyPaths"]


@pytest.mark.skipif(shutil.which("runc") is None, reason="runc not here")
def test_default_spec_matches_runc_spec(tmp_path):
    """Same content as `runc spec` except the hostname and version."""
    subprocess.run(["runc", "spec", "--bundle", str(tmp_path)], check=True)
    theirs = json.loads((tmp_path / "config.json").read_text())
    ours = specgen.default_spec()
    for s in (theirs, ours):
        s.pop("hostname")
        s.pop("ociVersion")
    assert ours == theirs


@pytest.mark.skipif(shutil.which("runc") is None, reason="runc not here")
def test_rootless_spec_matches_runc(tmp_path):
    subprocess.run(["runc", "spec", "--rootless", "--bundle", str(tmp_path)],
                   check=True)
    theirs = json.loads((tmp_path / "config.json").read_text())
    ours = specgen.default_spec(rootless=True)
    for s in (theirs, ours):
        s.pop("hostname")
        s.pop("ociVersion")
    assert ours == theirs


def test_default_spec_is_fresh():
    a = specgen.default_spec()
    a["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    assert "CAP_SYS_ADMIN" not in \
        specgen.default_spec()["process"]["capabilities"]["bounding"]


def test_do_spec():
    s = specgen.do_spec(["ls", "-l"], cwd="/work", env={"A": "1"})
    specmod.validate(s, "/")
    assert s["root"] == {"path": "/", "readonly": True}
    assert s["process"]["args"] == ["ls", "-l"]
    assert s["process"]["cwd"] == "/work"
    assert "A=1" in s["process"]["env"]
    assert any(e.startswith("PATH=") for e in s["process"]["env"])
    assert s["hostname"] == "pyrunsc"
    tmp = [m for m in s["mounts"] if m["destination"] == "/tmp"]
    assert tmp and tmp[0]["type"] == "tmpfs"
    assert {"type": "network"} in s["linux"]["namespaces"]


def test_do_spec_host_network_and_writable():
    s = specgen.do_spec(["true"], cwd="/", env=[], network="host",
                        readonly=False)
    assert {"type": "network"} not in s["linux"]["namespaces"]
    assert s["root"]["readonly"] is False


def test_do_spec_needs_command():
    with pytest.raises(InvalidSpecError):
        specgen.do_spec([], cwd="/", env={})


BASE = {"process": {"args": ["sleep", "1"], "env": ["PATH=/bin", "A=1"],
                    "cwd": "/srv", "user": {"uid": 5, "gid": 6},
                    "capabilities": {"bounding": ["CAP_KILL"],
                                     "effective": ["CAP_KILL"],
                                     "permitted": ["CAP_KILL"],
                                     "ambient": []},
                    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 10,
                                 "soft": 10}],
                    "noNewPrivileges": True}}


def test_exec_process_inherits_from_spec():
    p = specgen.exec_process(BASE, ["ps"])
    assert p["args"] == ["ps"] and p["cwd"] == "/srv"
    assert p["env"] == ["PATH=/bin", "A=1"]
    assert p["user"] == {"uid": 5, "gid": 6}
    assert p["capabilities"]["bounding"] == ["CAP_KILL"]
    assert p["rlimits"] == BASE["process"]["rlimits"]
    assert p["noNewPrivileges"] is True and p["terminal"] is False
    specmod.validate_process(p, "process")


def test_exec_process_flags_override():
    p = specgen.exec_process(BASE, ["id"], env=["A=2", "B=3"], cwd="/",
                             user="343", caps=["dac_override"], tty=True,
                             additional_gids=[7])
    assert p["env"] == ["PATH=/bin", "A=2", "B=3"]
    assert p["user"] == {"uid": 343, "gid": 0, "additionalGids": [7]}
    for s in ("bounding", "effective", "permitted", "ambient",
              "inheritable"):
        assert "CAP_DAC_OVERRIDE" in p["capabilities"][s]
    assert p["terminal"] is True
    # The container's spec is not modified.
    assert BASE["process"]["env"] == ["PATH=/bin", "A=1"]
    assert "CAP_DAC_OVERRIDE" not in \
        BASE["process"]["capabilities"]["bounding"]


@pytest.mark.parametrize("user,want", [("343", {"uid": 343}),
                                       ("343:2401", {"uid": 343,
                                                     "gid": 2401})])
def test_parse_user(user, want):
    assert specgen.parse_user(user) == want


@pytest.mark.parametrize("user", ["bob", "1:x", "-1", ":5", "1:2:3"])
def test_parse_user_rejects(user):
    with pytest.raises(InvalidSpecError):
        specgen.parse_user(user)


def test_exec_process_bad_env():
    with pytest.raises(InvalidSpecError):
        specgen.exec_process(BASE, ["x"], env=["NOEQUALS"])


def test_exec_process_needs_args():
    with pytest.raises(InvalidSpecError):
        specgen.exec_process(BASE, [])


def test_rootless_maps_the_caller():
    s = specgen.default_spec(rootless=True)
    assert s["linux"]["uidMappings"][0]["hostID"] == os.getuid()
    assert {"type": "user"} in s["linux"]["namespaces"]
