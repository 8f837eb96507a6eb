"""The CLI's global flags, its registry and its one error path."""
import json
import logging

import pytest

from cli import main as climain
from runtime import errors
from tests.unit.cli_fakes import FakeContainer, invoke


@pytest.fixture
def fake(monkeypatch, tmp_path):
    FakeContainer.reset()
    monkeypatch.setattr("cli.commands._util.container_class",
                        lambda: FakeContainer)
    yield FakeContainer
    logging.getLogger().handlers[:] = [
        h for h in logging.getLogger().handlers
        if not getattr(h, "_pyrunsc", False)]


def test_help_lists_sections_and_hides_internal_commands(capsys):
    code, out, _ = invoke(capsys, ["--help"])
    assert code == 0
    for section in ("OCI lifecycle", "runc and runsc", "extras"):
        assert f"Commands ({section})" in out
    for name in ("create", "start", "run", "exec", "do", "syscalls"):
        assert f"\n  {name} " in out
    assert "\n  boot " not in out and "\n  gofer " not in out


def test_every_registered_command_loads():
    ctx = None
    for name in climain._command_names():
        cmd = climain.cli.get_command(ctx, name)
        assert cmd is not None and cmd.name == name


def test_version(capsys):
    code, out, _ = invoke(capsys, ["--version"])
    assert code == 0 and out.startswith("pyrunsc version ")
    assert "spec: 1.0" in out


def test_unknown_flag_is_usage_error(capsys):
    code, _, err = invoke(capsys, ["--no-such-flag", "list"])
    assert code == 2
    assert "No such option" in err


def test_unknown_command_is_usage_error(capsys):
    code, _, err = invoke(capsys, ["frobnicate"])
    assert code == 2


def test_sandbox_error_exits_1_with_one_line(fake, capsys):
    code, out, err = invoke(capsys, ["state", "nope"])
    assert code == 1
    assert out == ""
    assert err == 'error: container "nope" does not exist\n'


def test_no_traceback_without_debug(fake, capsys, monkeypatch):
    def boom(config, cid):
        raise RuntimeError("bug here")
    monkeypatch.setattr(FakeContainer, "load", classmethod(
        lambda cls, config, cid: boom(config, cid)))
    code, _, err = invoke(capsys, ["state", "x"])
    assert code == 1
    assert "Traceback" not in err
    assert "error: internal error: RuntimeError: bug here" in err


def test_traceback_with_debug(fake, capsys, tmp_path):
    code, _, err = invoke(capsys, ["--debug", "--root", str(tmp_path),
                                   "state", "nope"])
    assert code == 1
    assert "Traceback" in err
    assert err.count('error: container "nope" does not exist') == 1


def test_json_log_line_for_containerd(fake, capsys, tmp_path):
    log = tmp_path / "log.json"
    code, _, err = invoke(capsys, ["--log", str(log), "--log-format", "json",
                                   "delete", "gone"])
    assert code == 1
    assert "error:" in err
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    errs = [rec for rec in lines if rec["level"] == "error"]
    assert errs[-1]["msg"] == 'container "gone" does not exist'
    assert errs[-1]["time"].endswith("Z")


def test_text_log(fake, capsys, tmp_path):
    log = tmp_path / "log.txt"
    invoke(capsys, ["--log", str(log), "kill", "gone"])
    text = log.read_text()
    assert "level=error" in text and "does not exist" in text


def test_debug_log_dir_gets_one_file_per_process(fake, capsys, tmp_path):
    d = tmp_path / "logs"
    FakeContainer.add("c1")
    code, _, _ = invoke(capsys, ["--debug-log", str(d), "pause", "c1"])
    assert code == 0
    files = list(d.iterdir())
    assert len(files) == 1
    assert ".pause.cli." in files[0].name


def test_unwritable_log_is_an_error(fake, capsys, tmp_path):
    code, _, err = invoke(capsys, ["--log", str(tmp_path / "no" / "f"),
                                   "list"])
    assert code == 1
    assert err.startswith("error: opening log file")


@pytest.mark.parametrize("argv", [
    ["--rootless", "list"], ["--rootless", "true", "list"],
    ["--rootless=true", "list"], ["-rootless", "list"]])
def test_rootless_not_supported(fake, capsys, argv):
    code, _, err = invoke(capsys, argv)
    assert code == 1
    assert err == "error: rootless mode is not supported yet\n"


@pytest.mark.parametrize("argv", [
    ["--rootless", "false", "list"], ["--rootless=auto", "list"],
    ["--rootless", "auto", "list"]])
def test_rootless_false_and_auto_accepted_as_root(fake, capsys, argv):
    code, _, _ = invoke(capsys, argv)
    assert code == 0


def test_rootless_bad_value(fake, capsys):
    code, _, err = invoke(capsys, ["--rootless=maybe", "list"])
    assert code == 2


def test_global_flags_build_the_config(fake, capsys, monkeypatch, tmp_path):
    seen = {}

    def load(cls, config, cid):
        seen["config"] = config
        return FakeContainer(cid)
    monkeypatch.setattr(FakeContainer, "load", classmethod(load))
    code, _, _ = invoke(capsys, [
        "--root", str(tmp_path / "r"), "--platform", "ptrace",
        "--network", "host", "--systemd-cgroup", "--strace",
        "--strace-syscalls", "open,read", "--directfs", "--overlay",
        "--criu", "/x/criu", "--log-level", "warn", "pause", "c"])
    assert code == 0
    c = seen["config"]
    assert c.root == str(tmp_path / "r")
    assert (c.platform, c.network) == ("ptrace", "host")
    assert c.systemd_cgroup and c.strace and c.directfs and c.overlay
    assert c.strace_syscalls == "open,read"
    assert c.rootless is False


def test_bad_platform_is_usage_error(capsys):
    code, _, err = invoke(capsys, ["--platform", "kvm", "list"])
    assert code == 2


def test_normalize_argv():
    n = climain.normalize_argv
    assert n(["--rootless", "list"]) == ["--rootless=true", "list"]
    assert n(["--rootless", "false", "list"]) == ["--rootless=false", "list"]
    assert n(["--debug=true", "list"]) == ["--debug", "list"]
    assert n(["--debug=false", "list"]) == ["list"]
    assert n(["-root", "/x", "list"]) == ["--root", "/x", "list"]
    # A value that looks like a command name stays a value.
    assert n(["--root", "list", "list"]) == ["--root", "list", "list"]
    # Nothing after the command is touched.
    assert n(["spec", "--rootless"]) == ["spec", "--rootless"]
    assert n(["exec", "c", "--debug=true"]) == ["exec", "c", "--debug=true"]


def test_sandbox_error_subclasses_exit_1(fake, capsys, monkeypatch):
    def start(self):
        raise errors.InvalidStateError("start", self.id, "stopped")
    FakeContainer.add("c1", status="stopped")
    monkeypatch.setattr(FakeContainer, "start", start)
    code, _, err = invoke(capsys, ["start", "c1"])
    assert code == 1
    assert err == 'error: cannot start container "c1" in state stopped\n'


def test_broken_pipe_is_quiet(fake, capsys, monkeypatch):
    def broken(cls, config):
        raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(FakeContainer, "list", classmethod(broken))
    code, out, err = invoke(capsys, ["list"])
    assert code == 1 and err == ""
