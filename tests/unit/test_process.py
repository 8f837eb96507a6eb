"""Pure logic of container process setup: PATH lookup, capabilities,
rlimits, sysctl namespacing, namespace plans, error reports.  No root."""
import errno
import resource

import pytest

from runtime import caps, init, process
from runtime.errors import InvalidSpecError, ProcessError

ENV = ["HOME=/root", "PATH=/usr/local/bin:/usr/bin:/bin"]


def test_lookup_path_searches_container_path():
    have = {"/usr/bin/sh", "/bin/sh", "/bin/ls"}
    assert process.lookup_path("sh", ENV, have.__contains__) == "/usr/bin/sh"
    assert process.lookup_path("ls", ENV, have.__contains__) == "/bin/ls"


def test_lookup_path_not_found_names_it():
    with pytest.raises(InvalidSpecError) as e:
        process.lookup_path("nope", ENV, lambda p: False)
    assert str(e.value) == 'process.args[0]: "nope" not found in $PATH'


def test_lookup_path_without_path_env():
    with pytest.raises(InvalidSpecError, match="not found in"):
        process.lookup_path("sh", ["HOME=/"], lambda p: p == "/bin/sh")


def test_lookup_path_with_slash_is_used_as_is():
    assert process.lookup_path("./run", ENV, lambda p: p == "./run") == "./run"
    with pytest.raises(InvalidSpecError,
                       match=r'^process.args\[0\]: "/no/such": no such file'):
        process.lookup_path("/no/such", ENV, lambda p: False)


def test_env_value_last_wins():
    assert process.env_value(["A=1", "B=2", "A=3", "C"], "A") == "3"
    assert process.env_value(["A=1"], "B") is None


def test_cap_numbers():
    assert caps.cap_number("CAP_CHOWN") == 0
    assert caps.cap_number("CAP_SYS_ADMIN") == 21
    assert caps.cap_number("net_raw") == 13
    assert caps.cap_number("CAP_CHECKPOINT_RESTORE") == 40
    with pytest.raises(InvalidSpecError, match="unknown capability 'CAP_X'"):
        caps.cap_number("CAP_X")


def test_caps_plan_masks_and_kernel_limit():
    plan = caps.plan({"bounding": ["CAP_KILL", "CAP_BPF"],
                      "effective": ["CAP_KILL"]}, kernel_last=38)
    assert plan["bounding"] == 1 << 5       # CAP_BPF (39) unknown to kernel
    assert plan["effective"] == 1 << 5
    assert plan["permitted"] == plan["inheritable"] == plan["ambient"] == 0
    with pytest.raises(InvalidSpecError,
                       match=r"^process.capabilities.ambient\[1\]: "):
        caps.plan({"ambient": ["CAP_KILL", "CAP_NOPE"]})


def test_ambient_needs_permitted_and_inheritable():
    m = caps.plan({s: ["CAP_KILL", "CAP_CHOWN"] for s in caps.SETS})
    m["inheritable"] = 1 << 5
    assert caps.raisable_ambient(m) == 1 << 5


def test_cap_names_roundtrip():
    assert caps.names((1 << 0) | (1 << 21)) == ["CAP_CHOWN", "CAP_SYS_ADMIN"]


def test_plan_rlimits():
    got = process.plan_rlimits([
        {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
        {"type": "RLIMIT_CORE", "soft": 2 ** 64 - 1, "hard": 2 ** 64 - 1}])
    assert got == [
        (resource.RLIMIT_NOFILE, 1024, 4096, "process.rlimits[0]"),
        (resource.RLIMIT_CORE, resource.RLIM_INFINITY, resource.RLIM_INFINITY,
         "process.rlimits[1]")]
    with pytest.raises(InvalidSpecError,
                       match=r"^process.rlimits\[0\].type: unknown rlimit"):
        process.plan_rlimits([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}])
    with pytest.raises(InvalidSpecError,
                       match=r"^process.rlimits\[1\].type: duplicate rlimit"):
        process.plan_rlimits([{"type": "RLIMIT_AS", "soft": 1, "hard": 1},
                              {"type": "RLIMIT_AS", "soft": 2, "hard": 2}])
    with pytest.raises(InvalidSpecError, match="unknown rlimit 'getpid'"):
        process.plan_rlimits([{"type": "getpid", "soft": 1, "hard": 1}])


def test_failed_setrlimit_names_the_field():
    # soft above hard: refused before anything changes - setrlimit(2)
    with pytest.raises(ProcessError) as e:
        process._setrlimit(resource.RLIMIT_NOFILE, 8, 4, "process.rlimits[2]")
    assert str(e.value).startswith("process.rlimits[2]: setrlimit: ")
    assert e.value.stage == "rlimits"


@pytest.mark.parametrize("key,needs", [
    ("kernel.shmmax", "ipc"), ("kernel.msgmnb", "ipc"), ("kernel.sem", "ipc"),
    ("fs.mqueue.queues_max", "ipc"), ("net.ipv4.ip_forward", "network"),
    ("kernel.hostname", "uts"), ("kernel.domainname", "uts")])
def test_sysctl_namespaced(key, needs):
    process.check_sysctl(key, {needs})
    with pytest.raises(InvalidSpecError, match=f"needs an? {needs} namespace"):
        process.check_sysctl(key, {"pid", "mount"})


@pytest.mark.parametrize("key", ["vm.swappiness", "kernel.pid_max",
                                 "fs.file-max", "kernel.shm"])
def test_sysctl_not_namespaced(key):
    with pytest.raises(InvalidSpecError,
                       match=f"^linux.sysctl.{key}: is not namespaced"):
        process.check_sysctl(key, {"ipc", "network", "uts"})


def _spec(*nss):
    return {"linux": {"namespaces": list(nss)}}


def test_namespace_plan_new_and_joined():
    plan = init.namespace_plan(_spec({"type": "pid"}, {"type": "mount"},
                                     {"type": "network",
                                      "path": "/var/run/netns/x"}))
    assert plan == [("pid", None), ("mount", None),
                    ("network", "/var/run/netns/x")]
    assert init.new_namespaces(plan) == {"pid", "mount"}


def test_namespace_plan_host_network_overrides():
    plan = init.namespace_plan(_spec({"type": "network"}, {"type": "mount"}),
                               netns_path="/proc/1/ns/net")
    assert ("network", "/proc/1/ns/net") in plan
    plan = init.namespace_plan(_spec({"type": "mount"}),
                               netns_path="/proc/1/ns/net")
    assert plan[-1] == ("network", "/proc/1/ns/net")


def test_namespace_plan_rejects():
    with pytest.raises(InvalidSpecError, match="unknown namespace type"):
        init.namespace_plan(_spec({"type": "bogus"}))
    with pytest.raises(InvalidSpecError, match="given twice"):
        init.namespace_plan(_spec({"type": "pid"}, {"type": "pid"}))


def test_error_message_shapes():
    process.Stage.name = "mounts"
    e = ProcessError("mounts[3]: mounting tmpfs on /tmp: Permission denied",
                     stage="mounts", errno=errno.EACCES)
    assert process.error_message(e) == {
        "type": "error", "stage": "mounts",
        "message": "mounts[3]: mounting tmpfs on /tmp: Permission denied"}
    oe = OSError(errno.ENOENT, "No such file or directory", "/x")
    assert process.error_message(oe)["message"] == \
        "mounts: /x: No such file or directory"
    assert process.error_message(ValueError("bad"))["message"] == \
        "mounts: internal error: ValueError: bad"


def test_spawn_init_refuses_host_uts_changes(tmp_path):
    (tmp_path / "rootfs").mkdir()
    spec = {"root": {"path": "rootfs"}, "process": {"args": ["true"]},
            "domainname": "x",
            "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}}
    with pytest.raises(InvalidSpecError,
                       match="^domainname: needs a new uts namespace$"):
        init.spawn_init(spec, str(tmp_path), "c")
    spec["linux"]["namespaces"] = [{"type": "pid"}]
    del spec["domainname"]
    with pytest.raises(InvalidSpecError, match="mount namespace is required"):
        init.spawn_init(spec, str(tmp_path), "c")


PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000::/home/app:/bin/sh
"""
GROUP = """root:x:0:
wheel:x:10:root,app
audio:x:29:app
other:x:30:daemon
"""


def test_passwd_and_group_lookup():
    assert process.passwd_entry(1000, PASSWD) == ("app", "/home/app")
    assert process.passwd_entry(4242, PASSWD) == (None, None)
    assert process.member_gids("app", GROUP) == [10, 29]
    assert process.member_gids("nobody", GROUP) == []


def test_exec_app_reports_stage_errno():
    import os
    from sentry import _sys
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _sys.exec_app("/nonexistent/pyrunsc-x", ["x"], ["A=1"], w)
        except OSError as e:
            os._exit(100 + e.errno)
        os._exit(1)
    os.close(w)
    try:
        report = os.read(r, 64)
    finally:
        os.close(r)
    _, st = os.waitpid(pid, 0)
    assert report == b"exec:%d" % errno.ENOENT
    assert os.waitstatus_to_exitcode(st) == 100 + errno.ENOENT


def test_exec_app_passes_argv_and_env(tmp_path):
    import os
    from sentry import _sys
    out = tmp_path / "out"
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(fd, 1)
            _sys.exec_app("/bin/sh", ["sh", "-c", 'echo "$0|$V"', "zero"],
                          ["V=ü"])
        finally:
            os._exit(127)
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 0
    assert out.read_text() == "zero|ü\n"
