"""The waiter an engine reaps (runtime/waiter.py), without an engine.

A helper process plays the engine: a child subreaper that runs ``create
--pid-file`` and ``exec --detach --pid-file`` with PYRUNSC_WAITER=1, then
reaps the pid of the pid file itself, as containerd's shim and conmon do.
Runs whether or not the engine packages are installed.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.testlib import BundleFactory, runtime_env

# The "engine": argv = root bundle id; prints JSON lines of what it saw.
_ENGINE = textwrap.dedent(r'''
    import ctypes, json, os, signal, subprocess, sys, time
    root, bundle, cid = sys.argv[1:4]
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(36, 1, 0, 0, 0) == 0      # PR_SET_CHILD_SUBREAPER
    cli = [sys.executable, "-m", "cli", "--root", root]
    env = dict(os.environ, PYRUNSC_WAITER="1")

    def rt(*a):
        # Files, not pipes: the sandbox keeps the CLI's stdio.
        import tempfile, types
        with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
            p = subprocess.run(cli + list(a), env=env, stdout=o, stderr=e,
                               stdin=subprocess.DEVNULL, timeout=60)
            o.seek(0)
            e.seek(0)
            return types.SimpleNamespace(returncode=p.returncode,
                                         stdout=o.read().decode(),
                                         stderr=e.read().decode())

    def reap(pid, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got, status = os.waitpid(-1, os.WNOHANG)
            if got == pid:
                return os.waitstatus_to_exitcode(status)
            if got == 0:
                time.sleep(0.02)
        return None

    def out(**kw):
        print(json.dumps(kw), flush=True)

    pf = os.path.join(root, "..", "init.pid")
    r = rt("create", "--bundle", bundle, "--pid-file", pf, cid)
    assert r.returncode == 0, r.stderr
    waiter = int(open(pf).read())
    state = json.loads(rt("state", cid).stdout)
    ns = {n: os.readlink(f"/proc/{waiter}/ns/{n}")
          for n in ("mnt", "net", "pid")}
    init_ns = {n: os.readlink(f"/proc/{state['pid']}/ns/{n}")
               for n in ("mnt", "net", "pid")}
    assert rt("start", cid).returncode == 0
    xf = os.path.join(root, "..", "exec.pid")
    r = rt("exec", "--detach", "--pid-file", xf, cid, "sh", "-c",
           "trap 'exit 42' USR1; while true; do sleep 0.05; done")
    assert r.returncode == 0, r.stderr
    xwaiter = int(open(xf).read())
    time.sleep(0.5)
    os.kill(xwaiter, signal.SIGUSR1)            # as the shim kills execs
    xstatus = reap(xwaiter)
    assert rt("kill", cid, "TERM").returncode == 0
    status = reap(waiter)
    out(waiter=waiter, init=state["pid"], ns=ns, init_ns=init_ns,
        exec_status=xstatus, status=status)
    rt("delete", "--force", cid)
''')


def test_engine_reaps_waiters_with_the_real_statuses(pyrunsc, busybox_rootfs,
                                                      test_dir):
    if not pyrunsc.is_pyrunsc:
        pytest.skip("the waiter is pyrunsc's own (PYRUNSC_TEST_RUNTIME set)")
    cid = pyrunsc.new_id("waiter")
    b = BundleFactory(test_dir, busybox_rootfs)(["sh", "-c", "trap 'exit 7' TERM; "
                        "while true; do sleep 0.05; done"])
    r = subprocess.run([sys.executable, "-c", _ENGINE, pyrunsc.root, b, cid],
                       env=runtime_env(), capture_output=True, text=True,
                       timeout=180, cwd=test_dir)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[-1])
    # The pid file names the waiter, not init; the engine reaped both
    # waiters with the statuses of the processes they stand for.
    assert got["waiter"] != got["init"]
    assert got["exec_status"] == 42
    assert got["status"] == 7
    # The stand-in shares the container's mount and network namespaces but
    # not the host's pid namespace.
    assert got["ns"]["mnt"] == got["init_ns"]["mnt"]
    assert got["ns"]["net"] == got["init_ns"]["net"]
    assert got["ns"]["pid"] != os.readlink("/proc/self/ns/pid")
