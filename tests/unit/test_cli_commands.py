"""Each command's parsing, the runtime call it makes and its output."""
import json
import logging
import os
import signal
import threading

import pytest

from cli.commands import _util
from tests.unit.cli_fakes import FakeContainer, invoke, write_bundle


@pytest.fixture
def fake(monkeypatch):
    FakeContainer.reset()
    monkeypatch.setattr("cli.commands._util.container_class",
                        lambda: FakeContainer)
    yield FakeContainer
    logging.getLogger().handlers[:] = [
        h for h in logging.getLogger().handlers
        if not getattr(h, "_pyrunsc", False)]


def calls(name):
    return [c for c in FakeContainer.calls if c[0] == name]


# create / start / state / delete / pause / resume ----------------------------

def test_create_passes_absolute_paths(fake, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(capsys, ["create", "--bundle", "b",
                                     "--pid-file", "p", "--console-socket",
                                     "s", "c1"])
    assert (code, out, err) == (0, "", "")
    assert calls("create") == [("create", "c1", str(tmp_path / "b"),
                                str(tmp_path / "s"), str(tmp_path / "p"))]


def test_create_bundle_defaults_to_cwd(fake, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, _ = invoke(capsys, ["create", "c1"])
    assert code == 0
    assert calls("create")[0][2] == str(tmp_path)


def test_create_existing_is_error(fake, capsys):
    FakeContainer.add("c1")
    code, _, err = invoke(capsys, ["create", "-b", "/x", "c1"])
    assert code == 1
    assert err == 'error: container "c1" already exists\n'


@pytest.mark.parametrize("cid", ["a/b", "..", "a b", "", "x;y"])
def test_invalid_id_message(fake, capsys, cid):
    code, _, err = invoke(capsys, ["create", "-b", "/x", cid])
    assert code == 1
    assert err.startswith("error: invalid container id")
    assert calls("create") == []


def test_invalid_id_rejected_before_load(fake, capsys):
    code, _, err = invoke(capsys, ["state", "../etc"])
    assert code == 1 and "invalid container id" in err
    assert calls("load") == []


def test_create_preserve_fds_unsupported(fake, capsys):
    code, _, err = invoke(capsys, ["create", "--preserve-fds", "2", "c1"])
    assert code == 1 and "--preserve-fds" in err and "not supported" in err


def test_create_accepts_runc_flags(fake, capsys):
    code, _, _ = invoke(capsys, ["create", "--no-pivot", "--no-new-keyring",
                                 "-b", "/x", "c1"])
    assert code == 0


def test_create_requires_id(fake, capsys):
    code, _, err = invoke(capsys, ["create"])
    assert code == 2 and "Missing argument" in err


@pytest.mark.parametrize("verb", ["start", "pause", "resume"])
def test_simple_verbs(fake, capsys, verb):
    FakeContainer.add("c1", status="created" if verb == "start" else
                      "running")
    code, out, _ = invoke(capsys, [verb, "c1"])
    assert (code, out) == (0, "")
    assert calls(verb) == [(verb, "c1")]


def test_state_prints_indented_oci_json(fake, capsys):
    FakeContainer.add("c1", pid=7)
    code, out, _ = invoke(capsys, ["state", "c1"])
    assert code == 0
    st = json.loads(out)
    assert st["id"] == "c1" and st["pid"] == 7 and st["status"] == "running"
    assert out.startswith('{\n  "ociVersion"')


@pytest.mark.parametrize("argv,force", [(["delete", "c1"], False),
                                        (["delete", "--force", "c1"], True),
                                        (["delete", "-f", "c1"], True)])
def test_delete(fake, capsys, argv, force):
    FakeContainer.add("c1")
    code, _, _ = invoke(capsys, argv)
    assert code == 0
    assert calls("destroy") == [("destroy", "c1", force)]


def test_delete_missing(fake, capsys):
    code, _, err = invoke(capsys, ["delete", "nope"])
    assert code == 1 and "does not exist" in err


def test_delete_force_missing_removes_leftover_dir(fake, capsys, tmp_path):
    root = tmp_path / "root"
    (root / "half").mkdir(parents=True)
    (root / "half" / "lock").write_text("")
    code, _, err = invoke(capsys, ["--root", str(root), "delete", "--force",
                                   "half"])
    assert (code, err) == (0, "")
    assert not (root / "half").exists()
    code, _, _ = invoke(capsys, ["--root", str(root), "delete", "-f", "none"])
    assert code == 0


# kill and signal parsing -----------------------------------------------------

@pytest.mark.parametrize("text,num", [
    ("KILL", 9), ("SIGKILL", 9), ("kill", 9), ("sigkill", 9), ("9", 9),
    ("TERM", 15), ("15", 15), ("hup", 1), ("SIGUSR1", 10), ("USR2", 12),
    ("RTMIN", int(signal.SIGRTMIN)), ("RTMIN+2", int(signal.SIGRTMIN) + 2),
    ("SIGRTMAX-1", int(signal.SIGRTMAX) - 1), ("IOT", 6), ("64", 64)])
def test_parse_signal(text, num):
    assert _util.parse_signal(text) == num


@pytest.mark.parametrize("text", ["0", "65", "FOO", "SIGFOO", "-9", "9x",
                                  "RTMIN+99", ""])
def test_parse_signal_rejects(text):
    with pytest.raises(ValueError):
        _util.parse_signal(text)


def test_kill_default_is_sigterm(fake, capsys):
    FakeContainer.add("c1")
    code, _, _ = invoke(capsys, ["kill", "c1"])
    assert code == 0
    assert calls("signal") == [("signal", "c1", 15, False)]


@pytest.mark.parametrize("argv", [["kill", "--all", "c1", "KILL"],
                                  ["kill", "-a", "c1", "9"]])
def test_kill_all(fake, capsys, argv):
    FakeContainer.add("c1")
    code, _, _ = invoke(capsys, argv)
    assert code == 0
    assert calls("signal") == [("signal", "c1", 9, True)]


def test_kill_bad_signal_is_usage_error(fake, capsys):
    FakeContainer.add("c1")
    code, _, err = invoke(capsys, ["kill", "c1", "NOPE"])
    assert code == 2 and "unknown signal 'NOPE'" in err
    assert calls("signal") == []


# list ------------------------------------------------------------------------

def test_list_table_like_runc(fake, capsys):
    FakeContainer.add("c1", pid=11, bundle="/bundles/one")
    FakeContainer.add("a-much-longer-container-id", status="stopped", pid=12,
                      bundle="/b2")
    code, out, _ = invoke(capsys, ["list"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED",
                                "OWNER"]
    rows = [line.split() for line in lines[1:]]
    assert rows[0][:4] == ["a-much-longer-container-id", "0", "stopped",
                           "/b2"]
    assert rows[1][:4] == ["c1", "11", "running", "/bundles/one"]
    # Columns line up: every row starts its PID at the same offset.
    starts = {line.index(line.split()[1], len(line.split()[0]))
              for line in lines}
    assert len(starts) == 1


def test_list_empty_table_has_header_only(fake, capsys):
    code, out, _ = invoke(capsys, ["list"])
    assert code == 0 and out.splitlines()[0].startswith("ID")
    assert len(out.splitlines()) == 1


def test_list_json_like_runc(fake, capsys):
    FakeContainer.add("c1", pid=11, annotations={"k": "v"})
    code, out, _ = invoke(capsys, ["list", "--format", "json"])
    assert code == 0
    [entry] = json.loads(out)
    assert set(entry) >= {"ociVersion", "id", "pid", "status", "bundle",
                          "rootfs", "created", "owner"}
    assert entry["annotations"] == {"k": "v"}


def test_list_json_empty_is_array(fake, capsys):
    code, out, _ = invoke(capsys, ["list", "-f", "json"])
    assert json.loads(out) == []


def test_list_quiet(fake, capsys):
    FakeContainer.add("b")
    FakeContainer.add("a")
    code, out, _ = invoke(capsys, ["list", "-q"])
    assert out == "a\nb\n"


# ps / wait / events ----------------------------------------------------------

PROCS = [{"pid": 1, "host_pid": 1001, "ppid": 0, "uid": 0, "stime": "22:00",
          "time": "00:00:00", "tty": "?", "cmd": "sleep 100"},
         {"pid": 2, "host_pid": 1002, "ppid": 0, "uid": 343, "stime": "22:01",
          "time": "00:00:00", "tty": "?", "cmd": "sleep 200"}]


def test_ps_table(fake, capsys):
    FakeContainer.add("c1").procs = PROCS
    code, out, _ = invoke(capsys, ["ps", "c1"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TIME",
                                "CMD"]
    assert lines[2].split(None, 6) == ["343", "2", "0", "0", "22:01",
                                       "00:00:00", "sleep 200"]


def test_ps_json_is_host_pids(fake, capsys):
    FakeContainer.add("c1").procs = PROCS
    code, out, _ = invoke(capsys, ["ps", "--format", "json", "c1"])
    assert json.loads(out) == [1001, 1002]


def test_wait_prints_runsc_json(fake, capsys):
    FakeContainer.add("c1").exit_status = 123
    code, out, _ = invoke(capsys, ["wait", "c1"])
    assert code == 0
    assert json.loads(out) == {"id": "c1", "exitStatus": 123}


def test_wait_pid(fake, capsys):
    FakeContainer.add("c1").exit_status = 3
    code, out, _ = invoke(capsys, ["wait", "--pid", "2", "c1"])
    assert json.loads(out)["exitStatus"] == 3
    assert calls("wait_pid") == [("wait_pid", "c1", 2)]


def test_events_stats_once(fake, capsys):
    FakeContainer.add("c1")
    code, out, _ = invoke(capsys, ["events", "--stats", "c1"])
    assert code == 0
    ev = json.loads(out)
    assert ev["type"] == "stats" and ev["id"] == "c1"


def test_events_stream_until_stopped(fake, capsys, monkeypatch):
    c = FakeContainer.add("c1")
    n = {"k": 0}

    def event():
        n["k"] += 1
        if n["k"] == 3:
            c.status = "stopped"
        return {"type": "stats", "id": "c1", "data": {"n": n["k"]}}
    c.event = event
    code, out, _ = invoke(capsys, ["events", "--interval", "10ms", "c1"])
    assert code == 0
    assert [json.loads(line)["data"]["n"] for line in out.splitlines()] == \
        [1, 2, 3]


@pytest.mark.parametrize("text,secs", [("5s", 5.0), ("500ms", 0.5),
                                       ("2", 2.0), ("1m", 60.0),
                                       ("0.25s", 0.25)])
def test_events_interval_durations(text, secs):
    from cli.commands.events import Duration
    assert Duration().convert(text, None, None) == secs


@pytest.mark.parametrize("text", ["0", "-1s", "5x", "s", ""])
def test_events_interval_rejects(fake, capsys, text):
    FakeContainer.add("c1")
    code, _, _ = invoke(capsys, ["events", "--interval", text, "c1"])
    assert code == 2


# spec ------------------------------------------------------------------------

def test_spec_writes_config_and_refuses_overwrite(capsys, tmp_path,
                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(capsys, ["spec"])
    assert (code, out) == (0, "")
    spec = json.loads((tmp_path / "config.json").read_text())
    assert spec["process"]["args"] == ["sh"]
    before = (tmp_path / "config.json").read_text()
    code, _, err = invoke(capsys, ["spec"])
    assert code == 1
    assert err == "error: file config.json exists: remove it first\n"
    assert (tmp_path / "config.json").read_text() == before


def test_spec_bundle_and_rootless(capsys, tmp_path):
    code, _, _ = invoke(capsys, ["spec", "--rootless", "--bundle",
                                 str(tmp_path)])
    assert code == 0
    spec = json.loads((tmp_path / "config.json").read_text())
    assert {"type": "user"} in spec["linux"]["namespaces"]


def test_spec_missing_bundle_dir(capsys, tmp_path):
    code, _, err = invoke(capsys, ["spec", "-b", str(tmp_path / "nope")])
    assert code == 1 and "not a directory" in err


def test_spec_with_command(capsys, tmp_path):
    code, _, _ = invoke(capsys, ["spec", "-b", str(tmp_path), "--",
                                 "/bin/echo", "-n", "hi"])
    spec = json.loads((tmp_path / "config.json").read_text())
    assert spec["process"]["args"] == ["/bin/echo", "-n", "hi"]
    assert spec["process"]["terminal"] is False


# run -------------------------------------------------------------------------

def test_run_detach_uses_container_run(fake, capsys, tmp_path):
    b = write_bundle(str(tmp_path / "b"))
    code, _, _ = invoke(capsys, ["run", "-d", "-b", b, "--pid-file",
                                 str(tmp_path / "pid"), "c1"])
    assert code == 0
    assert calls("run") == [("run", "c1", b, None, str(tmp_path / "pid"),
                             True)]


def test_run_detach_terminal_needs_console_socket(fake, capsys, tmp_path):
    b = write_bundle(str(tmp_path / "b"), terminal=True)
    code, _, err = invoke(capsys, ["run", "-d", "-b", b, "c1"])
    assert code == 1 and "--console-socket" in err


def test_run_attached_returns_status_and_deletes(fake, capsys, tmp_path,
                                                 monkeypatch):
    b = write_bundle(str(tmp_path / "b"))
    orig = FakeContainer.create.__func__

    def create(cls, *a, **kw):
        c = orig(cls, *a, **kw)
        c.exit_status = 123
        return c
    monkeypatch.setattr(FakeContainer, "create", classmethod(create))
    code, _, _ = invoke(capsys, ["run", "-b", b, "c1"])
    assert code == 123
    assert [c[0] for c in FakeContainer.calls] == ["create", "start", "wait",
                                                   "destroy"]
    assert calls("destroy") == [("destroy", "c1", True)]


def test_run_keep(fake, capsys, tmp_path):
    b = write_bundle(str(tmp_path / "b"))
    code, _, _ = invoke(capsys, ["run", "--keep", "-b", b, "c1"])
    assert code == 0 and calls("destroy") == []


def test_run_deletes_when_start_fails(fake, capsys, tmp_path, monkeypatch):
    from runtime import errors
    b = write_bundle(str(tmp_path / "b"))

    def start(self):
        raise errors.ProcessError("exec: no such file")
    monkeypatch.setattr(FakeContainer, "start", start)
    code, _, err = invoke(capsys, ["run", "-b", b, "c1"])
    assert code == 1 and err == "error: exec: no such file\n"
    assert calls("destroy") == [("destroy", "c1", True)]


def test_run_forwards_signals_while_waiting(fake, capsys, tmp_path):
    b = write_bundle(str(tmp_path / "b"))
    got = threading.Event()

    def wait_hook():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGHUP)
        assert got.wait(10)
        return 143

    def on_signal(self, sig, all=False):
        FakeContainer.calls.append(("signal", self.id, sig, all))
        if len(calls("signal")) == 2:
            got.set()
    FakeContainer.wait_hook = staticmethod(wait_hook)
    orig = FakeContainer.signal
    FakeContainer.signal = on_signal
    try:
        code, _, _ = invoke(capsys, ["run", "-b", b, "c1"])
    finally:
        FakeContainer.signal = orig
    assert code == 143
    assert sorted(c[2] for c in calls("signal")) == [signal.SIGHUP,
                                                     signal.SIGTERM]
    # The mask is restored: SIGTERM is deliverable again.
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_signals_at_exit_do_not_kill_the_cli(fake, capsys, tmp_path):
    b = write_bundle(str(tmp_path / "b"))

    def wait_hook():
        os.kill(os.getpid(), signal.SIGTERM)
        return 0
    FakeContainer.wait_hook = staticmethod(wait_hook)
    code, _, _ = invoke(capsys, ["run", "-b", b, "c1"])
    assert code == 0


# exec ------------------------------------------------------------------------

def test_exec_builds_process_from_spec_and_flags(fake, capsys):
    FakeContainer.add("c1").exit_status = 5
    code, _, _ = invoke(capsys, [
        "exec", "--user", "343:2401", "--cwd", "/tmp", "-e", "A=2",
        "-e", "B=3", "--cap", "CAP_DAC_OVERRIDE", "-g", "10", "-g", "11",
        "c1", "sleep", "-x", "100"])
    assert code == 5
    [(_, _, proc, sock, detach, pf)] = calls("execute")
    assert proc["args"] == ["sleep", "-x", "100"]
    assert proc["user"] == {"uid": 343, "gid": 2401,
                            "additionalGids": [10, 11]}
    assert proc["cwd"] == "/tmp"
    assert proc["env"] == ["PATH=/bin", "A=2", "B=3"]
    assert "CAP_DAC_OVERRIDE" in proc["capabilities"]["effective"]
    assert "CAP_KILL" in proc["capabilities"]["bounding"]
    assert proc["terminal"] is False
    # Attached: started detached with a private pid file, then waited on.
    assert detach is True and pf
    assert calls("wait_pid") == [("wait_pid", "c1", 4242)]


def test_exec_defaults_from_container(fake, capsys):
    FakeContainer.add("c1")
    invoke(capsys, ["exec", "c1", "true"])
    proc = calls("execute")[0][2]
    assert proc["cwd"] == "/work" and proc["user"] == {"uid": 0, "gid": 0}


def test_exec_detach_with_pid_file(fake, capsys, tmp_path):
    FakeContainer.add("c1")
    pf = str(tmp_path / "pid")
    code, _, _ = invoke(capsys, ["exec", "-d", "--pid-file", pf, "c1",
                                 "sleep", "1"])
    assert code == 0
    assert calls("execute")[0][4:] == (True, pf)
    assert calls("wait_pid") == []


def test_exec_process_file(fake, capsys, tmp_path):
    FakeContainer.add("c1")
    p = tmp_path / "process.json"
    p.write_text(json.dumps({"args": ["/bin/true"], "cwd": "/",
                             "user": {"uid": 1, "gid": 1}}))
    code, _, _ = invoke(capsys, ["exec", "--process", str(p), "c1"])
    assert code == 0
    assert calls("execute")[0][2]["args"] == ["/bin/true"]


def test_exec_bad_process_file(fake, capsys, tmp_path):
    FakeContainer.add("c1")
    p = tmp_path / "process.json"
    p.write_text("{nope")
    code, _, err = invoke(capsys, ["exec", "-p", str(p), "c1"])
    assert code == 1 and "malformed JSON" in err


def test_exec_needs_command(fake, capsys):
    FakeContainer.add("c1")
    code, _, err = invoke(capsys, ["exec", "c1"])
    assert code == 2


def test_exec_bad_user(fake, capsys):
    FakeContainer.add("c1")
    code, _, err = invoke(capsys, ["exec", "-u", "bob", "c1", "true"])
    assert code == 1 and "uid[:gid]" in err


def test_exec_detached_tty_needs_console_socket(fake, capsys):
    FakeContainer.add("c1")
    code, _, err = invoke(capsys, ["exec", "-d", "-t", "c1", "sh"])
    assert code == 1 and "--console-socket" in err


def test_exec_harmless_runc_flags(fake, capsys):
    FakeContainer.add("c1")
    code, _, _ = invoke(capsys, ["exec", "--no-new-privs", "--apparmor",
                                 "p", "--ignore-paused", "-d", "c1", "true"])
    assert code == 0
    proc = calls("execute")[0][2]
    assert proc["noNewPrivileges"] is True
    assert proc["apparmorProfile"] == "p"


def test_exec_process_label_unsupported(fake, capsys):
    FakeContainer.add("c1")
    code, _, err = invoke(capsys, ["exec", "--process-label", "x", "c1",
                                   "true"])
    assert code == 1 and "not supported" in err


# do --------------------------------------------------------------------------

def test_do_runs_throwaway_container(fake, capsys, monkeypatch):
    seen = {}
    orig = FakeContainer.create.__func__

    def create(cls, config, cid, bundle, **kw):
        with open(os.path.join(bundle, "config.json")) as f:
            seen["spec"] = json.load(f)
        seen["bundle"] = bundle
        c = orig(cls, config, cid, bundle, **kw)
        c.exit_status = 7
        return c
    monkeypatch.setattr(FakeContainer, "create", classmethod(create))
    code, _, _ = invoke(capsys, ["do", "-e", "X=1", "/bin/sh", "-c",
                                 "exit 7"])
    assert code == 7
    spec = seen["spec"]
    assert spec["process"]["args"] == ["/bin/sh", "-c", "exit 7"]
    assert "X=1" in spec["process"]["env"]
    assert spec["root"] == {"path": "/", "readonly": True}
    assert spec["hostname"] == "pyrunsc"
    assert {"type": "network"} in spec["linux"]["namespaces"]
    cid = calls("create")[0][1]
    assert cid.startswith("do-")
    assert calls("destroy") == [("destroy", cid, True)]
    assert not os.path.exists(seen["bundle"])


def test_do_network_host(fake, capsys, monkeypatch):
    seen = {}
    orig = FakeContainer.create.__func__

    def create(cls, config, cid, bundle, **kw):
        with open(os.path.join(bundle, "config.json")) as f:
            seen["spec"] = json.load(f)
        return orig(cls, config, cid, bundle, **kw)
    monkeypatch.setattr(FakeContainer, "create", classmethod(create))
    invoke(capsys, ["--network", "host", "do", "true"])
    assert {"type": "network"} not in seen["spec"]["linux"]["namespaces"]


def test_do_needs_command(fake, capsys):
    code, _, _ = invoke(capsys, ["do"])
    assert code == 2


# internal and extras ---------------------------------------------------------

def test_boot_calls_runtime_boot(fake, capsys, monkeypatch):
    seen = {}

    def boot_main(config, cid, bundle, sync_fd, console_fd):
        seen.update(cid=cid, bundle=bundle, sync=sync_fd, console=console_fd)
        return 3
    import runtime.boot
    monkeypatch.setattr(runtime.boot, "main", boot_main)
    code, _, _ = invoke(capsys, ["boot", "--bundle", "/b", "--sync-fd", "5",
                                 "--console-fd", "6", "c1"])
    assert code == 3
    assert seen == {"cid": "c1", "bundle": "/b", "sync": 5, "console": 6}


def test_forked_boot_logs_to_its_own_debug_file(fake, capsys, tmp_path):
    """The CLI gives runtime.sandbox the logging setup of a forked boot:
    its own file in --debug-log, nothing in --log."""
    import logging
    from runtime import sandbox
    FakeContainer.add("c1")
    d, log = tmp_path / "dl", tmp_path / "log"
    code, _, _ = invoke(capsys, ["--debug-log", str(d), "--log", str(log),
                                 "pause", "c1"])
    assert code == 0
    assert sandbox.boot_logging is not None
    log.write_text("")
    from runtime.config import RuntimeConfig
    sandbox.boot_logging(RuntimeConfig(debug_log=str(d), log=str(log)))
    logging.getLogger("runtime.boot").debug("hello from boot")
    names = sorted(p.name for p in d.iterdir())
    # Named after the command that forked it.
    assert any(n.startswith("pyrunsc.pause.boot.") for n in names), names
    boot_file = [p for p in d.iterdir() if ".pause.boot." in p.name][0]
    assert "hello from boot" in boot_file.read_text()
    assert log.read_text() == ""


def test_gofer_calls_runtime_gofer(capsys, monkeypatch):
    import runtime.gofer
    seen = {}

    def gofer_main(bundle, sock_fd, spec_path=None, seccomp=True):
        seen.update(bundle=bundle, fd=sock_fd, spec=spec_path, sc=seccomp)
        return 0
    monkeypatch.setattr(runtime.gofer, "main", gofer_main)
    code, _, _ = invoke(capsys, ["gofer", "--bundle", "/b", "--sock-fd",
                                 "4", "--sock-fd", "5", "--spec", "/s.json",
                                 "--no-seccomp"])
    assert code == 0
    assert seen == {"bundle": "/b", "fd": [4, 5], "spec": "/s.json",
                    "sc": False}


def test_gofer_needs_its_fd(capsys):
    code, _, _ = invoke(capsys, ["gofer", "--bundle", "/b"])
    assert code == 2


def test_syscalls_prints_the_table(capsys, monkeypatch):
    import types
    import sys
    fake_mod = types.SimpleNamespace(
        format_table=lambda fmt: f"TABLE {fmt}")
    monkeypatch.setitem(sys.modules, "sentry.syscalls", fake_mod)
    import sentry
    monkeypatch.setattr(sentry, "syscalls", fake_mod, raising=False)
    code, out, _ = invoke(capsys, ["syscalls", "--format", "json"])
    assert (code, out) == (0, "TABLE json\n")


def test_syscalls_unknown_format(capsys, monkeypatch):
    import types
    import sys

    def fmt_table(fmt):
        raise ValueError(f"unknown format {fmt!r}")
    fake_mod = types.SimpleNamespace(format_table=fmt_table)
    monkeypatch.setitem(sys.modules, "sentry.syscalls", fake_mod)
    import sentry
    monkeypatch.setattr(sentry, "syscalls", fake_mod, raising=False)
    code, _, err = invoke(capsys, ["syscalls", "-f", "xml"])
    assert code == 2 and "unknown format" in err
