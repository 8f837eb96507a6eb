"""Conformance: runtime.md - state, lifecycle, operations and their errors.

Each test checks one requirement of the OCI runtime spec (v1.0.2) from the
outside, through the runtime's CLI; docstrings quote or paraphrase the
requirement.
"""

import json
import os
import signal
import time

import pytest

from ocitest import default_spec

SLEEP = ["/bin/sleep", "30"]
# pid 1 ignores signals it has no handler for, so a TERM test needs a trap
TRAP_TERM = ["/bin/sh", "-c", "trap 'exit 42' TERM; sleep 30 & wait"]


def sleeper(rt, **kw):
    return rt.container(default_spec(SLEEP), **kw)


def alive(pid):
    """True when ``pid`` exists and is not a zombie (a zombie is dead; its
    reaping belongs to whoever its parent is)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_dead(pid, timeout=5):
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def assert_gone(c):
    r = c.state_result()
    assert not r.ok, f"container {c.id} still exists: {r}"


# -- state ----------------------------------------------------------------

def check_state_fields(c, st, status):
    assert st["ociVersion"], "state.ociVersion is empty"
    assert st["id"] == c.id
    assert st["status"] == status
    assert st["bundle"] == str(c.bundle)
    assert os.path.isabs(st["bundle"])


def test_state_created(rt):
    """state: ociVersion, id, status=created, pid of the container process,
    bundle"""
    c = sleeper(rt)
    c.create_ok()
    st = c.state()
    check_state_fields(c, st, "created")
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert os.path.exists(f"/proc/{st['pid']}"), "state.pid is not a host pid"


def test_state_running(rt):
    """state: status=running after start, pid is the host pid of the user
    process"""
    c = sleeper(rt)
    c.create_ok()
    created_pid = c.state()["pid"]
    c.start_ok()
    st = c.state()
    check_state_fields(c, st, "running")
    assert st["pid"] == created_pid, "the container process changed at start"
    deadline = time.monotonic() + 5
    cmd = b""
    while time.monotonic() < deadline:
        with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
            cmd = f.read()
        if cmd.split(b"\0")[:2] == [b"/bin/sleep", b"30"]:
            break
        time.sleep(0.05)
    assert cmd.split(b"\0")[:2] == [b"/bin/sleep", b"30"]


def test_state_stopped(rt):
    """state: status=stopped once the container process has exited"""
    c = rt.container(default_spec(["/bin/true"]))
    c.create_ok()
    c.start_ok()
    st = c.wait_status("stopped")
    check_state_fields(c, st, "stopped")


def test_state_annotations(rt):
    """state: annotations are those of config.json"""
    spec = default_spec(SLEEP)
    spec["annotations"] = {"org.example.conformance": "yes",
                           "com.example.other": "1"}
    c = rt.container(spec)
    c.create_ok()
    assert c.state().get("annotations") == spec["annotations"]


def test_state_unknown_id_fails(rt):
    """state: querying a container that does not exist MUST generate an error
    """
    assert not rt.run("state", "conf-does-not-exist").ok


@pytest.mark.parametrize("op", ["create", "state", "start", "kill", "delete"])
def test_operation_without_id_fails(rt, op, tmp_path):
    """create/state/start/kill/delete MUST generate an error without a
    container id"""
    assert not rt.run(op, cwd=tmp_path).ok


@pytest.mark.parametrize("op", [("start",), ("kill", "KILL"), ("delete",)],
                         ids=["start", "kill", "delete"])
def test_operation_on_unknown_id_fails(rt, op):
    """start/kill/delete of a container that does not exist MUST generate an
    error"""
    assert not rt.run(op[0], "conf-does-not-exist", *op[1:]).ok


# -- create ---------------------------------------------------------------

def test_create_does_not_run_user_process(rt, tmp_path):
    """create: the user-specified program MUST NOT be run until start"""
    shared = tmp_path / "shared"
    shared.mkdir()
    spec = default_spec(["/bin/sh", "-c", "echo ran > /shared/marker"])
    spec["mounts"].append({"destination": "/shared", "type": "bind",
                           "source": str(shared), "options": ["rbind", "rw"]})
    c = rt.container(spec)
    c.create_ok()
    time.sleep(0.3)
    assert not (shared / "marker").exists(), "process ran at create"
    c.start_ok()
    c.wait_status("stopped")
    assert (shared / "marker").read_text() == "ran\n"


def test_create_existing_id_fails(rt):
    """create: an id that is not unique MUST generate an error and no new
    container"""
    first = sleeper(rt)
    first.create_ok()
    before = first.state()
    second = rt.container(default_spec(["/bin/true"]), cid=first.id)
    r = second.create()
    assert not r.ok, "create with a duplicate id succeeded"
    after = first.state()
    assert after["pid"] == before["pid"] and after["status"] == "created"
    assert after["bundle"] == str(first.bundle)


def test_create_invalid_id_fails(rt):
    """create: an id that is not valid MUST generate an error"""
    c = rt.container(default_spec(["/bin/true"]), cid="conf/../bad id")
    assert not c.create().ok


def test_create_status_is_created(rt):
    """create: on success the status property MUST be created"""
    c = sleeper(rt)
    c.create_ok()
    assert c.state()["status"] == "created"


def test_config_updates_after_create_have_no_effect(rt):
    """lifecycle: updates to config.json after create MUST NOT affect the
    container"""
    c = rt.container(default_spec(["/bin/echo", "original"]))
    c.create_ok()
    changed = default_spec(["/bin/echo", "changed"])
    c.write_config(changed)
    c.start_ok()
    c.wait_status("stopped")
    assert c.output().strip() == "original"


def test_pid_file(rt, tmp_path):
    """create --pid-file: the file holds the host pid of the container process
    """
    c = sleeper(rt)
    pid_file = tmp_path / "pidfile"
    c.create_ok("--pid-file", str(pid_file))
    assert int(pid_file.read_text().strip()) == c.state()["pid"]


# -- start ----------------------------------------------------------------

def test_start_sets_running(rt):
    """start: on success the status property MUST be running"""
    c = sleeper(rt)
    c.create_ok()
    c.start_ok()
    assert c.state()["status"] == "running"


def test_start_running_fails(rt, tmp_path):
    """start: starting an already started container MUST error and have no
    effect"""
    c = sleeper(rt)
    c.create_ok()
    c.start_ok()
    before = c.state()
    assert not c.start().ok, "second start succeeded"
    after = c.state()
    assert after["status"] == "running" and after["pid"] == before["pid"]


def test_start_stopped_fails(rt, tmp_path):
    """start: starting a stopped container MUST error and not run the process
    again"""
    shared = tmp_path / "shared"
    shared.mkdir()
    spec = default_spec(["/bin/sh", "-c", "echo ran >> /shared/count"])
    spec["mounts"].append({"destination": "/shared", "type": "bind",
                           "source": str(shared), "options": ["rbind", "rw"]})
    c = rt.container(spec)
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    assert not c.start().ok, "start of a stopped container succeeded"
    time.sleep(0.2)
    assert c.state()["status"] == "stopped"
    assert (shared / "count").read_text() == "ran\n"


# -- kill -----------------------------------------------------------------

def test_kill_created(rt):
    """kill: a created container MUST receive the signal (KILL stops it)"""
    c = sleeper(rt)
    c.create_ok()
    c.must(c.kill("KILL"), "kill")
    c.wait_status("stopped")


def test_kill_running_sends_signal(rt, tmp_path):
    """kill: MUST send the specified signal (USR1 reaches the process's
    handler)"""
    shared = tmp_path / "shared"
    shared.mkdir()
    spec = default_spec(["/bin/sh", "-c",
                         "trap 'echo USR1 >> /shared/got' USR1; "
                         "echo ready > /shared/ready; "
                         "while :; do sleep 0.1; done"])
    spec["mounts"].append({"destination": "/shared", "type": "bind",
                           "source": str(shared), "options": ["rbind", "rw"]})
    c = rt.container(spec)
    c.create_ok()
    c.start_ok()
    deadline = time.monotonic() + 10
    while not (shared / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    c.must(c.kill("USR1"), "kill USR1")
    while not (shared / "got").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (shared / "got").exists(), "the handler never saw SIGUSR1"
    assert (shared / "got").read_text() == "USR1\n"
    assert c.state()["status"] == "running"


def test_kill_running_sigterm_stops(rt):
    """kill: TERM to a process that handles it by exiting; status MUST become
    stopped"""
    c = rt.container(default_spec(TRAP_TERM))
    c.create_ok()
    c.start_ok()
    time.sleep(0.3)     # let sh install its trap
    c.must(c.kill("TERM"), "kill TERM")
    c.wait_status("stopped")


def test_kill_running_sigkill(rt):
    """kill: KILL to a running container stops it; status MUST become stopped
    """
    c = sleeper(rt)
    c.create_ok()
    c.start_ok()
    c.must(c.kill("KILL"), "kill")
    c.wait_status("stopped")


def test_kill_signal_number(rt):
    """kill: a signal given by number (9) is delivered"""
    c = sleeper(rt)
    c.create_ok()
    c.start_ok()
    c.must(c.kill("9"), "kill 9")
    c.wait_status("stopped")


def test_process_exit_outside_runtime_means_stopped(rt):
    """state: when the process stops for any reason (killed from the host),
    status MUST be stopped"""
    c = sleeper(rt)
    c.create_ok()
    c.start_ok()
    os.kill(c.state()["pid"], signal.SIGKILL)
    c.wait_status("stopped")


def test_kill_stopped_fails(rt):
    """kill: signalling a container that is neither created nor running MUST
    error, no effect"""
    c = rt.container(default_spec(["/bin/true"]))
    c.create_ok()
    c.start_ok()
    before = c.wait_status("stopped")
    assert not c.kill("KILL").ok, "kill of a stopped container succeeded"
    assert c.state() == before


# -- delete ---------------------------------------------------------------

def test_delete_stopped(rt):
    """delete: a stopped container is deleted; state then MUST error"""
    c = rt.container(default_spec(["/bin/true"]))
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    c.must(c.delete(), "delete")
    assert_gone(c)


def test_delete_running_fails(rt):
    """delete: deleting a container that is not stopped MUST error and have no
    effect"""
    c = sleeper(rt)
    c.create_ok()
    c.start_ok()
    before = c.state()
    assert not c.delete().ok, "delete of a running container succeeded"
    after = c.state()
    assert after["status"] == "running" and after["pid"] == before["pid"]
    assert alive(before["pid"])


@pytest.mark.runc_deviation(
    "runc deletes a created container without --force (it kills it first)")
def test_delete_created_fails(rt):
    """delete: deleting a created (not stopped) container MUST error and have
    no effect"""
    c = sleeper(rt)
    c.create_ok()
    before = c.state()
    assert not c.delete().ok, "delete of a created container succeeded"
    assert c.state()["pid"] == before["pid"]


def test_delete_force_running(rt):
    """delete --force: a running container is killed and deleted"""
    c = sleeper(rt)
    c.create_ok()
    c.start_ok()
    pid = c.state()["pid"]
    c.must(c.delete(force=True), "delete --force")
    assert_gone(c)
    assert wait_dead(pid), "container process survived delete --force"


def test_delete_force_created(rt):
    """delete --force: a created container is killed and deleted"""
    c = sleeper(rt)
    c.create_ok()
    c.must(c.delete(force=True), "delete --force")
    assert_gone(c)


def test_delete_frees_id(rt):
    """delete: once deleted, the id MAY be used by a new container"""
    c = rt.container(default_spec(["/bin/true"]))
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    c.must(c.delete(), "delete")
    again = rt.container(default_spec(SLEEP), cid=c.id)
    again.create_ok()
    assert again.state()["bundle"] == str(again.bundle)


def test_delete_removes_resources(rt, cgroup_name):
    """delete: MUST delete the resources created at create (process, cgroup)"""
    spec = default_spec(SLEEP)
    spec["linux"]["cgroupsPath"] = cgroup_name
    spec["linux"]["resources"]["pids"] = {"limit": 64}
    c = rt.container(spec)
    c.create_ok()
    c.start_ok()
    pid = c.state()["pid"]
    cg = f"/sys/fs/cgroup/pids{cgroup_name}"
    assert os.path.isdir(cg), "no cgroup at cgroupsPath"
    c.must(c.kill("KILL"), "kill")
    c.wait_status("stopped")
    c.must(c.delete(), "delete")
    assert wait_dead(pid), "container process survived delete"
    assert not os.path.exists(cg), "cgroup left behind after delete"


# -- runtime extensions ---------------------------------------------------

def freezer_state(pid):
    """freezer.state of the v1 freezer cgroup that ``pid`` is in."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctls, path = line.rstrip("\n").split(":", 2)
            if "freezer" in ctls.split(","):
                with open(f"/sys/fs/cgroup/freezer{path}/freezer.state") as s:
                    return s.read().strip()
    raise AssertionError(f"process {pid} is in no freezer cgroup")


def test_pause_resume_extension_state(rt):
    """extension: pause/resume; a new status (paused) is only used for a
    state the spec does not define"""
    c = sleeper(rt)
    c.create_ok()
    c.start_ok()
    c.must(rt.run("pause", c.id), "pause")
    st = c.state()
    assert st["status"] == "paused"
    assert freezer_state(st["pid"]) == "FROZEN"
    c.must(rt.run("resume", c.id), "resume")
    assert c.state()["status"] == "running"
    assert freezer_state(st["pid"]) == "THAWED"


# -- run ------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 3, 123])
def test_run_exit_code(rt, code):
    """run: the exit status of the container process is the runtime's exit
    status"""
    c = rt.container(default_spec(["/bin/sh", "-c", f"exit {code}"]))
    r = c.run()
    assert r.returncode == code, r


def test_run_detach(rt):
    """run --detach: the container is running when run returns"""
    c = sleeper(rt)
    c.must(c.run("--detach"), "run --detach")
    c._remember_pid()
    assert c.state()["status"] == "running"


# -- the spec command -----------------------------------------------------

def test_spec_writes_valid_config(rt, tmp_path):
    """spec: writes a config.json that is a valid runtime spec"""
    d = tmp_path / "specdir"
    d.mkdir()
    r = rt.run("spec", cwd=d)
    assert r.ok, r
    spec = json.loads((d / "config.json").read_text())
    assert isinstance(spec["ociVersion"], str) and spec["ociVersion"]
    assert spec["process"]["args"], "process.args is empty"
    assert os.path.isabs(spec["process"]["cwd"])
    assert spec["root"]["path"]
    for m in spec.get("mounts", []):
        assert os.path.isabs(m["destination"])
    types = [n["type"] for n in spec["linux"]["namespaces"]]
    assert len(types) == len(set(types)), "duplicate namespace types"


def test_spec_refuses_to_overwrite(rt, tmp_path):
    """spec: refuses to overwrite an existing config.json"""
    d = tmp_path / "specdir"
    d.mkdir()
    (d / "config.json").write_text("{\"mine\": true}")
    r = rt.run("spec", cwd=d)
    assert not r.ok, "spec overwrote an existing config.json"
    assert (d / "config.json").read_text() == "{\"mine\": true}"


def test_spec_generated_config_runs(rt, tmp_path):
    """spec: the generated config.json runs a container with our rootfs"""
    d = tmp_path / "specdir"
    d.mkdir()
    assert rt.run("spec", cwd=d).ok
    spec = json.loads((d / "config.json").read_text())
    spec["process"]["args"] = ["/bin/echo", "from-spec"]
    spec["process"]["terminal"] = False
    c = rt.container(spec)
    r = c.run()
    assert r.ok, r
    assert c.output().strip() == "from-spec"


# -- invalid configuration ------------------------------------------------

def assert_create_fails_cleanly(rt, c):
    r = c.create()
    assert not r.ok, "create succeeded with an invalid config"
    assert_gone(c)
    listed = rt.run("list", "--format", "json")
    if listed.ok and listed.stdout.strip() not in ("", "null"):
        ids = [x["id"] for x in json.loads(listed.stdout)]
        assert c.id not in ids
    assert not (rt.root / c.id).exists(), "state directory left behind"


def test_invalid_json_fails(rt):
    """create: a malformed config.json MUST generate an error, nothing left
    behind"""
    c = rt.container(default_spec(["/bin/true"]))
    c.write_config(raw='{"ociVersion": "1.0.2", "process": {')
    assert_create_fails_cleanly(rt, c)


def test_missing_process_args_fails(rt):
    """create: process.args requires at least one entry; without it create MUST
    error"""
    spec = default_spec(["/bin/true"])
    del spec["process"]["args"]
    c = rt.container(spec)
    assert_create_fails_cleanly(rt, c)


def test_missing_root_path_fails(rt):
    """create: root.path MUST name an existing directory, else create MUST
    error"""
    spec = default_spec(["/bin/true"])
    spec["root"]["path"] = "no-such-rootfs"
    c = rt.container(spec)
    assert_create_fails_cleanly(rt, c)


def test_missing_executable_fails(rt):
    """create/start: an executable not found in the rootfs is an error"""
    c = rt.container(default_spec(["/no/such/binary"]))
    r = c.create()
    if r.ok:
        assert not c.start().ok, "start of a missing executable succeeded"
    else:
        assert_gone(c)


@pytest.mark.runc_deviation("runc 1.1.5 does not validate ociVersion")
def test_invalid_oci_version_fails(rt):
    """config: ociVersion MUST be SemVer; invalid values MUST generate an error
    """
    spec = default_spec(["/bin/true"])
    spec["ociVersion"] = "invalid"
    c = rt.container(spec)
    assert_create_fails_cleanly(rt, c)


def test_relative_cwd_fails(rt):
    """process.cwd MUST be an absolute path; a relative one MUST generate an
    error"""
    spec = default_spec(["/bin/true"])
    spec["process"]["cwd"] = "relative/dir"
    c = rt.container(spec)
    assert_create_fails_cleanly(rt, c)


def test_unknown_properties_ignored(rt):
    """config: unknown properties and annotation keys MUST NOT generate an
    error"""
    spec = default_spec(["/bin/true"])
    spec["unknownProperty"] = {"x": 1}
    spec["process"]["unknownToo"] = "yes"
    spec["annotations"] = {"org.example.unknown-key": ""}
    c = rt.container(spec)
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    c.must(c.delete(), "delete")


def test_duplicate_namespace_fails(rt):
    """linux.namespaces: duplicated namespace types MUST generate an error"""
    spec = default_spec(["/bin/true"])
    spec["linux"]["namespaces"].append({"type": "uts"})
    c = rt.container(spec)
    assert_create_fails_cleanly(rt, c)
