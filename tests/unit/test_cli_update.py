"""``pyrunsc update``: the resources it builds from --resources and flags."""
import json

import pytest

from cli.commands import update
from tests.unit.cli_fakes import invoke


class _Updated:
    def __init__(self):
        self.got = []

    def update(self, resources):
        self.got.append(resources)


@pytest.fixture
def target(monkeypatch):
    t = _Updated()
    seen = []

    def load(config, cid):
        seen.append(cid)
        return t
    monkeypatch.setattr("cli.commands._util.load", load)
    t.seen = seen
    return t


@pytest.mark.parametrize("text,want", [
    ("64m", 64 << 20), ("1g", 1 << 30), ("512k", 512 << 10), ("100", 100),
    ("2MiB", 2 << 20), ("1.5g", 3 << 29), ("-1", -1)])
def test_sizes_as_runc_takes_them(text, want):
    assert update.parse_size(text) == want


def test_flags_become_linux_resources(target, capsys):
    code, out, err = invoke(capsys, [
        "update", "--memory", "64m", "--memory-swap", "-1",
        "--cpu-quota", "50000", "--cpu-period", "100000",
        "--cpuset-cpus", "0", "--pids-limit", "20", "c1"])
    assert (code, out, err) == (0, "", "")
    assert target.seen == ["c1"]
    assert target.got == [{
        "memory": {"limit": 64 << 20, "swap": -1},
        "cpu": {"quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 20}}]


def test_resources_file_and_stdin_with_flag_override(target, capsys,
                                                     tmp_path, monkeypatch):
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"memory": {"limit": 1000, "swap": 2000}}))
    code, _, err = invoke(capsys, ["update", "--resources", str(f),
                                   "--memory", "4096", "c1"])
    assert code == 0, err
    assert target.got[-1] == {"memory": {"limit": 4096, "swap": 2000}}

    import io
    monkeypatch.setattr("sys.stdin", io.StringIO('{"pids": {"limit": 9}}'))
    code, _, err = invoke(capsys, ["update", "-r", "-", "c1"])
    assert code == 0, err
    assert target.got[-1] == {"pids": {"limit": 9}}


def test_bad_input_is_an_error(target, capsys, tmp_path):
    code, _, err = invoke(capsys, ["update", "--memory", "lots", "c1"])
    assert code == 2 and "invalid" in err
    f = tmp_path / "r.json"
    f.write_text("[1]")
    code, _, err = invoke(capsys, ["update", "-r", str(f), "c1"])
    assert code == 1 and "not a JSON object" in err
    code, _, err = invoke(capsys, ["update", "-r", str(tmp_path / "none"),
                                   "c1"])
    assert code == 1 and "No such file" in err
    assert target.got == []
