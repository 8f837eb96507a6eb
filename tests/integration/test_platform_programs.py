"""Real programs give the same output and exit code natively and under
both platforms (root "/", the host's own tree, as `runsc do` would)."""
import os
import shutil
import subprocess

import pytest

import platform_driver as driver

GUEST = os.path.join(os.path.dirname(__file__), "..", "conformance", "guest")
# "+gofer": files served through a gofer and the mount table (issue 4)
PLATFORMS = ["seccomp", "ptrace", "seccomp+gofer", "ptrace+gofer"]


def same(name, argv, **kw):
    native = driver.run("native", argv, **kw)
    served = driver.run(name, argv, **kw)
    assert (served.code, served.out, served.err) == \
        (native.code, native.out, native.err), (native, served)
    return served


@pytest.fixture
def tree(tmp_path):
    """A small tree with files, dirs, symlinks and a hard link."""
    t = tmp_path / "tree"
    for d in ("a/b/c", "a/d", "e"):
        (t / d).mkdir(parents=True)
    for i, f in enumerate(("a/x", "a/b/y", "a/b/c/z", "e/w")):
        (t / f).write_text(f"file {i}\n" * (i + 1))
    os.symlink("b/y", t / "a/link_rel")
    os.symlink("/nonexistent", t / "a/dangling")
    os.link(t / "a/x", t / "e/hard")
    os.chmod(t / "e/w", 0o640)
    for p in t.rglob("*"):
        os.utime(p, (1700000000, 1700000000), follow_symlinks=False)
    os.utime(t, (1700000000, 1700000000))
    return t


@pytest.mark.parametrize("name", PLATFORMS)
def test_busybox_script(name, tmp_path):
    script = (
        "set -e; cd /usr; echo $PWD; ls -d bin lib >/dev/null; "
        f"cd {tmp_path}; mkdir -p d/e; echo hi > d/f; cat d/f; "
        "ln -s f d/l; readlink d/l; cat d/l; mv d/f d/g; ls d; "
        "test -e d/l || echo dangling; rm -r d; ls; "
        "for i in 1 2 3; do echo $i; done | sort -r; "
        "[ -x /bin/sh ] && echo exec-ok; "
        "(exit 7) || echo sub=$?")
    same(name, ["/bin/busybox", "sh", "-c", script])


@pytest.mark.parametrize("name", PLATFORMS)
def test_python_imports(name):
    code = ("import json, email, sqlite3, asyncio, os; "
            "db = sqlite3.connect(':memory:'); "
            "print(json.dumps(db.execute('select 1+1').fetchall())); "
            "print(os.path.exists('/etc/passwd'), os.getcwd())")
    res = same(name, ["/usr/bin/env", "python3", "-c", code])
    assert res.out.startswith(b"[[2]]")


@pytest.mark.parametrize("name", PLATFORMS)
def test_ls_and_find(name, tree):
    same(name, ["/bin/ls", "-laR", "--time-style=+%s", str(tree)])
    same(name, ["/usr/bin/find", str(tree), "-printf", "%p %y %m %s %l\n"])


@pytest.mark.parametrize("name", PLATFORMS)
def test_tar_roundtrip(name, tree, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    arc = tmp_path / f"t-{name}.tar"
    res = driver.run(name, ["/bin/tar", "-C", str(tree), "-cf", str(arc), "."])
    assert res.code == 0, res
    res = driver.run(name, ["/bin/tar", "-C", str(out), "-xpf", str(arc)])
    assert res.code == 0, res
    diff = subprocess.run(["diff", "-r", "--no-dereference", str(tree), str(out)],
                          capture_output=True)
    assert diff.returncode == 0, diff.stdout
    listing = same(name, ["/bin/tar", "-tvf", str(arc)])
    assert b"link_rel -> b/y" in listing.out


@pytest.fixture(scope="module")
def threads_bin(tmp_path_factory):
    out = tmp_path_factory.mktemp("guest") / "sentry_threads"
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(out),
                    os.path.join(GUEST, "sentry_threads.c")], check=True)
    return out


@pytest.mark.parametrize("name", PLATFORMS)
def test_threads_open_at_once(name, threads_bin, tree):
    files = [str(p) for p in sorted(tree.rglob("*")) if p.is_file()]
    res = same(name, [str(threads_bin), "16", "200"] + files)
    assert b"errors 0" in res.out


@pytest.mark.parametrize("name", PLATFORMS)
def test_fork_exec_storm(name):
    script = ("i=0; while [ $i -lt 60 ]; do /bin/true & /bin/echo -n . ; "
              "i=$((i+1)); done; wait; echo; "
              "echo $(/bin/sh -c 'echo nested; /bin/sh -c \"echo deeper\"')")
    res = same(name, ["/bin/sh", "-c", script])
    assert res.out.count(b".") == 60


@pytest.mark.parametrize("name", PLATFORMS)
def test_exec_kinds(name, tmp_path):
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho script \"$@\" $0\n")
    script.chmod(0o755)
    same(name, [str(script), "arg"])                  # #! script
    same(name, ["/bin/busybox", "echo", "static"])    # static binary
    same(name, ["/bin/sh", "-c", f"exec {script} via-exec"])
    res = driver.run(name, ["/bin/sh", "-c", "/nonexistent/x; echo $?"])
    assert res.out == b"127\n"


@pytest.mark.parametrize("name", PLATFORMS)
def test_signals(name):
    script = ("trap 'echo got-term' TERM; trap 'echo got-usr1' USR1; "
              "kill -USR1 $$; kill -TERM $$; "
              "sh -c 'sleep 5 & p=$!; kill -TERM $p; wait $p; echo sleep=$?'; "
              "sh -c 'kill -9 $$'; echo killed=$?; "
              "sh -c 'sleep 0.3 & p=$!; kill -STOP $p; sleep 0.2; kill -CONT $p; "
              "wait $p; echo cont=$?'")
    same(name, ["/bin/sh", "-c", script])


@pytest.mark.parametrize("name", PLATFORMS)
def test_exit_codes_and_cwd(name, tree):
    same(name, ["/bin/sh", "-c", "ls nope; exit 3"], cwd=str(tree))
    same(name, ["/bin/sh", "-c", "cd a/b && cat y ../x && pwd && cd .. && "
                "ls -1 && cat link_rel"], cwd=str(tree))


@pytest.mark.parametrize("name", PLATFORMS)
def test_sockets(name, tmp_path):
    prog = os.path.join(GUEST, "sentry_sockets.py")
    outs = []
    for run_as in ("native", name):
        d = tmp_path / run_as
        d.mkdir()
        res = driver.run(run_as, ["/usr/bin/python3", os.path.abspath(prog), str(d)])
        assert res.code == 0, res
        outs.append(res.out)
    assert outs[0] == outs[1]
    assert b"nope 2" in outs[1]


@pytest.mark.parametrize("name", PLATFORMS)
def test_fifo_open_blocks_for_peer(name, tmp_path):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    script = f"(sleep 0.2; echo through > {fifo}) & cat {fifo}; wait"
    res = same(name, ["/bin/sh", "-c", script])
    assert res.out == b"through\n"


@pytest.mark.parametrize("name", PLATFORMS)
def test_strace_logs_paths(name, tmp_path, caplog):
    import logging
    log = logging.getLogger(f"test-strace-{name}")
    target = tmp_path / "traced-file"
    target.write_text("x")
    with caplog.at_level(logging.DEBUG, logger=log.name):
        res = driver.run(name, ["/bin/cat", str(target)], strace=True, log=log)
    assert res.code == 0, res
    lines = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert any(f'openat(AT_FDCWD, "{target}", O_RDONLY' in l and l.endswith("= 3")
               for l in lines), lines[-10:]
    if name.startswith("ptrace"):        # untrapped calls too
        assert any(l.split("] ", 1)[1].startswith("write(1, ") for l in lines), lines[-10:]
