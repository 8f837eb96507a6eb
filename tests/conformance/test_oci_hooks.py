"""Conformance: config.md "POSIX-platform Hooks" and the hook steps of the
runtime.md lifecycle.

Hooks are tiny shell scripts: each saves the state it reads on stdin to
``<dir>/<name>.json`` and appends ``<name>`` to ``<dir>/order``.  Hooks that
run in the runtime namespace use the host's /bin/sh and write to the test's
tmp dir; startContainer resolves its path in the container, so it uses the
rootfs' busybox sh and writes through a bind mount of the same dir.
"""

import json
import os
import time

import pytest

from ocitest import default_spec

RUNC_POSTSTART = ("runc runs poststart hooks inside `create` (libcontainer "
                  "Start), before startContainer and the user process")

HOOK_DIR_IN_CONTAINER = "/hooklog"


def hook(d, name, *, inside=False, fail=False, extra=""):
    out = HOOK_DIR_IN_CONTAINER if inside else str(d)
    script = f"cat > {out}/{name}.json; echo {name} >> {out}/order{extra}"
    if fail:
        script += "; exit 1"
    return {"path": "/bin/sh", "args": ["sh", "-c", script]}


def hooked_spec(d, args, hooks):
    spec = default_spec(args)
    spec["hooks"] = hooks
    spec["mounts"].append({"destination": HOOK_DIR_IN_CONTAINER,
                           "type": "bind", "source": str(d),
                           "options": ["rbind", "rw"]})
    return spec


def all_hooks(d):
    return {
        "prestart": [hook(d, "prestart")],
        "createRuntime": [hook(d, "createRuntime")],
        "createContainer": [hook(d, "createContainer")],
        "startContainer": [hook(d, "startContainer", inside=True)],
        "poststart": [hook(d, "poststart")],
        "poststop": [hook(d, "poststop")],
    }


def order(d):
    p = d / "order"
    return p.read_text().split() if p.exists() else []


def test_hooks_called_in_lifecycle_order(rt, hook_dir):
    """hooks: prestart, createRuntime, createContainer at create;
    startContainer at start; poststop at delete"""
    hooks = all_hooks(hook_dir)
    del hooks["poststart"]      # its timing has a test of its own
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"], hooks))
    c.create_ok()
    assert order(hook_dir) == ["prestart", "createRuntime",
                               "createContainer"]
    c.start_ok()
    assert order(hook_dir)[3:] == ["startContainer"]
    c.wait_status("stopped")
    c.must(c.delete(), "delete")
    # poststop MUST be called before delete returns
    assert order(hook_dir) == ["prestart", "createRuntime", "createContainer",
                               "startContainer", "poststop"]


@pytest.mark.runc_deviation(RUNC_POSTSTART)
def test_poststart_called_after_start(rt, hook_dir):
    """poststart: called after the user process is executed, before start
    returns (not at create)"""
    hooks = {"startContainer": [hook(hook_dir, "startContainer",
                                     inside=True)],
             "poststart": [hook(hook_dir, "poststart")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    c.create_ok()
    assert order(hook_dir) == [], "a start hook ran at create"
    c.start_ok()
    assert order(hook_dir) == ["startContainer", "poststart"]
    st = json.loads((hook_dir / "poststart.json").read_text())
    assert st["pid"] == c.state()["pid"]


def test_hooks_receive_state_on_stdin(rt, hook_dir):
    """hooks: the container state MUST be passed to every hook on stdin"""
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"], all_hooks(hook_dir)))
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    c.must(c.delete(), "delete")
    for name in ("prestart", "createRuntime", "createContainer",
                 "startContainer", "poststart", "poststop"):
        text = (hook_dir / f"{name}.json").read_text()
        try:
            st = json.loads(text)
        except ValueError:
            raise AssertionError(f"{name} hook got no state JSON: {text!r}")
        assert st["id"] == c.id, name
        assert st["bundle"] == str(c.bundle), name
        assert st["ociVersion"], name
        assert "status" in st, name
        if name != "poststop":
            assert isinstance(st.get("pid"), int) and st["pid"] > 0, name


def test_hooks_same_kind_called_in_listed_order(rt, hook_dir):
    """hooks: hooks of one kind MUST be called in the listed order"""
    hooks = {"createRuntime": [hook(hook_dir, n) for n in ("a", "b", "c")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"], hooks))
    c.create_ok()
    assert order(hook_dir) == ["a", "b", "c"]


def test_hook_args_and_env(rt, hook_dir):
    """hooks: path is executed with args (argv[0] first) and env"""
    h = {"path": "/bin/sh",
         "args": ["sh", "-c", f'echo "$0 $FOO" > {hook_dir}/argv', "zero"],
         "env": ["FOO=bar"]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"],
                                 {"createRuntime": [h]}))
    c.create_ok()
    assert (hook_dir / "argv").read_text().strip() == "zero bar"


def test_start_container_hook_before_user_process(rt, hook_dir):
    """startContainer: called in the container before the user process is
    executed"""
    args = ["/bin/sh", "-c",
            f"test -e {HOOK_DIR_IN_CONTAINER}/startContainer.json "
            f"&& echo seen > {HOOK_DIR_IN_CONTAINER}/process"]
    hooks = {"startContainer": [hook(hook_dir, "startContainer",
                                     inside=True)]}
    c = rt.container(hooked_spec(hook_dir, args, hooks))
    c.create_ok()
    assert order(hook_dir) == [], "startContainer ran at create"
    c.start_ok()
    c.wait_status("stopped")
    assert (hook_dir / "process").read_text().strip() == "seen"


def test_hook_relative_path_fails(rt, hook_dir):
    """hooks: path MUST be absolute; a relative path MUST generate an error"""
    bad = {"path": "bin/sh", "args": ["sh", "-c", "true"]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"],
                                 {"createRuntime": [bad]}))
    assert not c.create().ok
    assert not c.state_result().ok


def test_prestart_failure_aborts_create(rt, hook_dir):
    """prestart: a failing hook MUST make create error; the container is
    stopped and deleted"""
    hooks = {"prestart": [hook(hook_dir, "prestart", fail=True)],
             "createContainer": [hook(hook_dir, "createContainer")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    r = c.create()
    assert not r.ok, "create succeeded although prestart failed"
    assert "createContainer" not in order(hook_dir)
    assert not c.state_result().ok, "a container was left behind"
    assert not (rt.root / c.id).exists(), "state directory left behind"


def test_create_runtime_failure_aborts_create(rt, hook_dir):
    """createRuntime: a failing hook MUST make create error, nothing left
    behind"""
    hooks = {"createRuntime": [hook(hook_dir, "createRuntime", fail=True)]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    assert not c.create().ok
    assert not c.state_result().ok, "a container was left behind"


def test_prestart_failure_runs_poststop(rt, hook_dir):
    """lifecycle: after a failing prestart the runtime continues at delete, so
    poststop runs"""
    hooks = {"prestart": [hook(hook_dir, "prestart", fail=True)],
             "poststop": [hook(hook_dir, "poststop")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    assert not c.create().ok
    assert "poststop" in order(hook_dir)


def test_hook_timeout_fails_create(rt, hook_dir):
    """hooks: a hook that exceeds its timeout is aborted and fails the
    operation"""
    slow = {"path": "/bin/sh", "args": ["sh", "-c", "exec sleep 20"],
            "timeout": 1}
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"],
                                 {"createRuntime": [slow]}))
    t0 = time.monotonic()
    r = c.create()
    took = time.monotonic() - t0
    assert not r.ok, "create succeeded although its hook timed out"
    assert took < 15, f"the hook was not aborted at its timeout ({took:.1f}s)"
    assert not c.state_result().ok


@pytest.mark.runc_deviation(RUNC_POSTSTART + "; so a failing poststart "
                            "fails create")
def test_poststart_failure_only_warns(rt, hook_dir):
    """poststart: a failing hook MUST only log a warning; start succeeds"""
    hooks = {"poststart": [hook(hook_dir, "p1", fail=True),
                           hook(hook_dir, "p2")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    c.create_ok()
    c.start_ok()
    assert c.state()["status"] == "running"


@pytest.mark.runc_deviation(RUNC_POSTSTART + "; so a failing poststart "
                            "fails create")
def test_poststart_failure_continues_remaining_hooks(rt, hook_dir):
    """poststart: after a failing hook the remaining hooks MUST still run"""
    hooks = {"poststart": [hook(hook_dir, "p1", fail=True),
                           hook(hook_dir, "p2")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    c.create_ok()
    c.start_ok()
    assert order(hook_dir) == ["p1", "p2"]


def test_poststop_failure_only_warns(rt, hook_dir):
    """poststop: a failing hook MUST only log a warning; delete succeeds"""
    hooks = {"poststop": [hook(hook_dir, "s1", fail=True),
                          hook(hook_dir, "s2")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"], hooks))
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    c.must(c.delete(), "delete")
    assert not c.state_result().ok


@pytest.mark.runc_deviation("runc stops at the first failing poststop hook")
def test_poststop_failure_continues_remaining_hooks(rt, hook_dir):
    """poststop: after a failing hook the remaining hooks MUST still run"""
    hooks = {"poststop": [hook(hook_dir, "s1", fail=True),
                          hook(hook_dir, "s2")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"], hooks))
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    c.delete()
    assert order(hook_dir) == ["s1", "s2"]


def test_poststop_runs_on_force_delete(rt, hook_dir):
    """poststop: called when a running container is deleted with --force"""
    hooks = {"poststop": [hook(hook_dir, "poststop")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    c.create_ok()
    c.start_ok()
    c.must(c.delete(force=True), "delete --force")
    assert order(hook_dir) == ["poststop"]


def ns_hook(d, name, *, inside=False):
    out = HOOK_DIR_IN_CONTAINER if inside else str(d)
    script = (f"cat > /dev/null; for n in mnt net uts; do "
              f"readlink /proc/self/ns/$n >> {out}/{name}.ns; done")
    return {"path": "/bin/sh", "args": ["sh", "-c", script]}


def read_ns(d, name):
    return (d / f"{name}.ns").read_text().split()


def container_ns(pid):
    return [os.readlink(f"/proc/{pid}/ns/{n}") for n in ("mnt", "net", "uts")]


def host_ns():
    return container_ns("self")


def test_create_runtime_hook_in_runtime_namespace(rt, hook_dir):
    """createRuntime: MUST be executed in the runtime namespace"""
    hooks = {"createRuntime": [ns_hook(hook_dir, "createRuntime")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    c.create_ok()
    assert read_ns(hook_dir, "createRuntime") == host_ns()


def test_create_container_hook_in_container_namespace(rt, hook_dir):
    """createContainer: MUST be executed in the container namespace"""
    hooks = {"createContainer": [ns_hook(hook_dir, "createContainer")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    c.create_ok()
    assert read_ns(hook_dir, "createContainer") == \
        container_ns(c.state()["pid"])


def test_start_container_hook_in_container_namespace(rt, hook_dir):
    """startContainer: path resolves and MUST be executed in the container
    namespace"""
    hooks = {"startContainer": [ns_hook(hook_dir, "startContainer",
                                        inside=True)]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/sleep", "30"], hooks))
    c.create_ok()
    pid = c.state()["pid"]
    c.start_ok()
    assert read_ns(hook_dir, "startContainer") == container_ns(pid)


def test_poststop_hook_in_runtime_namespace(rt, hook_dir):
    """poststop: MUST be executed in the runtime namespace"""
    hooks = {"poststop": [ns_hook(hook_dir, "poststop")]}
    c = rt.container(hooked_spec(hook_dir, ["/bin/true"], hooks))
    c.create_ok()
    c.start_ok()
    c.wait_status("stopped")
    c.must(c.delete(), "delete")
    assert read_ns(hook_dir, "poststop") == host_ns()
