"""Spec loading and validation: every problem names its field."""
import copy
import json

import pytest

from runtime import errors, spec

BASE = {
    "ociVersion": "1.0.2",
    "root": {"path": "rootfs", "readonly": True},
    "process": {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin"],
                "user": {"uid": 0, "gid": 0}},
    "hostname": "c",
    "linux": {"namespaces": [{"type": "pid"}, {"type": "uts"},
                             {"type": "mount"}]},
}


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "rootfs").mkdir()
    return tmp_path


def write(bundle, obj):
    (bundle / "config.json").write_text(
        obj if isinstance(obj, str) else json.dumps(obj))


def test_valid_spec_loads(bundle):
    write(bundle, BASE)
    assert spec.load(str(bundle))["hostname"] == "c"
    assert spec.rootfs(BASE, str(bundle)) == str(bundle / "rootfs")


def test_malformed_json_is_named(bundle):
    write(bundle, '{"ociVersion": "1.0.2",')
    with pytest.raises(errors.InvalidSpecError, match="malformed JSON"):
        spec.load(str(bundle))


def test_missing_config(bundle):
    with pytest.raises(errors.InvalidSpecError, match="config.json: no such file"):
        spec.load(str(bundle))


@pytest.mark.parametrize("mutate, field", [
    (lambda s: s["process"].update(args=[]), "process.args"),
    (lambda s: s["process"].update(args=[1]), r"process.args\[0\]"),
    (lambda s: s["process"].update(cwd="rel"), "process.cwd"),
    (lambda s: s["process"]["user"].update(uid=-1), "process.user.uid"),
    (lambda s: s["process"].update(env=["NOEQUALS"]), r"process.env\[0\]"),
    (lambda s: s["root"].update(path="nope"), "root.path"),
    (lambda s: s.pop("root"), "root"),
    (lambda s: s.update(ociVersion=3), "ociVersion"),
    (lambda s: s.update(mounts=[{"destination": "tmp"}]),
     r"mounts\[0\].destination"),
    (lambda s: s["linux"]["namespaces"].append({"type": "bogus"}),
     r"linux.namespaces\[3\].type"),
    (lambda s: s["linux"]["namespaces"].append({"type": "pid"}),
     r"linux.namespaces\[3\].type"),
    (lambda s: s.update(hooks={"prestart": [{"path": "x"}]}),
     r"hooks.prestart\[0\].path"),
    (lambda s: s.update(hooks={"prestart": [{"path": "/x", "timeout": 0}]}),
     r"hooks.prestart\[0\].timeout"),
    (lambda s: s["process"].update(rlimits=[{"type": "RLIMIT_NOFILE",
                                             "soft": 10, "hard": 5}]),
     r"process.rlimits\[0\]"),
    (lambda s: s["process"].update(oomScoreAdj=5000), "process.oomScoreAdj"),
    (lambda s: s["linux"].update(devices=[{"path": "/dev/x", "type": "q"}]),
     r"linux.devices\[0\].type"),
    (lambda s: s["linux"].update(maskedPaths=["proc/kcore"]),
     r"linux.maskedPaths\[0\]"),
    (lambda s: s["linux"].update(namespaces=[{"type": "pid"}]), "hostname"),
])
def test_invalid_field_is_named(bundle, mutate, field):
    s = copy.deepcopy(BASE)
    mutate(s)
    write(bundle, s)
    with pytest.raises(errors.InvalidSpecError, match=f"^{field}"):
        spec.load(str(bundle))


def test_selinux_label_is_not_supported(bundle):
    s = copy.deepcopy(BASE)
    s["process"]["selinuxLabel"] = "system_u:system_r:svirt_lxc_net_t:s0"
    write(bundle, s)
    with pytest.raises(errors.UnsupportedError,
                       match="process.selinuxLabel is not supported"):
        spec.load(str(bundle))


def test_apparmor_profile_warns(bundle, caplog):
    s = copy.deepcopy(BASE)
    s["process"]["apparmorProfile"] = "docker-default"
    write(bundle, s)
    spec.load(str(bundle))
    assert "apparmorProfile" in caplog.text
