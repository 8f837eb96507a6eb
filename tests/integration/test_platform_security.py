"""The sentry is the boundary: path escapes fail on both platforms.

The guest (tests/conformance/guest/sentry_escape.c) runs with the sentry's
root at a tmp dir but is NOT chrooted, so any path the sentry let the
kernel resolve on its own would reach the host's marker file.
"""
import os
import signal
import subprocess

import pytest

import platform_driver as driver

GUEST = os.path.join(os.path.dirname(__file__), "..", "conformance", "guest")
PLATFORMS = ["seccomp", "ptrace"]


@pytest.fixture(scope="module")
def escape_bin(tmp_path_factory):
    out = tmp_path_factory.mktemp("guest") / "sentry_escape"
    subprocess.run(["gcc", "-O2", "-static", "-pthread", "-o", str(out),
                    os.path.join(GUEST, "sentry_escape.c")], check=True)
    return out


@pytest.fixture
def tree(tmp_path, escape_bin):
    host = tmp_path / "host"
    host.mkdir()
    marker = host / "marker"
    marker.write_text("HOST\n")
    root = tmp_path / "r"
    root.mkdir()
    (root / "inside").write_text("INSIDE\n")
    os.symlink(str(host), root / "abs_link")
    os.symlink("../../../../../../../.." + str(marker), root / "rel_link")
    os.symlink("loop_b", root / "loop_a")
    os.symlink("loop_a", root / "loop_b")
    os.link(escape_bin, root / "sentry_escape") if os.stat(escape_bin).st_dev == os.stat(root).st_dev \
        else subprocess.run(["cp", str(escape_bin), str(root / "sentry_escape")], check=True)
    return root, host, marker


@pytest.mark.parametrize("name", PLATFORMS)
def test_escapes_fail(name, tree):
    root, host, marker = tree
    hostfd = os.open(host, os.O_RDONLY | os.O_DIRECTORY)
    try:
        res = driver.run(name, ["./sentry_escape", str(marker), "1.0"],
                         root=str(root), cwd=str(root), pass_fds={3: hostfd})
    finally:
        os.close(hostfd)
    assert res.code == 0, res
    lines = dict(line.split(" ", 1) for line in res.out.decode().splitlines())
    assert "HOST" not in res.out.decode(), res
    assert lines["dotdot"] == "err ENOENT"
    assert lines["absolute"] == "err ENOENT"
    assert lines["abs_symlink"] == "err ENOENT"
    assert lines["rel_symlink"] == "err ENOENT"
    assert lines["dirfd_dotdot"] == "err ENOENT"
    assert lines["dirfd_outside"] == "err EACCES"
    assert lines["inside"] == "ok INSIDE"
    assert lines["loop"] == "err ELOOP"
    assert lines["toolong"] == "err ENAMETOOLONG"
    assert lines["badptr"] == "err EFAULT"
    assert lines["page_edge"] == "ok INSIDE"
    assert lines["page_hole"] == "err EFAULT"
    assert lines["stat_escape"] == "ENOENT"
    assert lines["access_escape"] == "ENOENT"
    assert lines["readlink"] == str(host)
    # as in a chroot, "/.." is "/": the directory lands inside the root
    assert lines["mkdir_escape"] == "ok"
    assert (root / "escape_dir_x").is_dir()
    assert not (root.parent / "escape_dir_x").exists()
    assert lines["flip"].startswith("done "), res
    assert int(lines["flip"].split()[1].split("/")[0]) > 0


@pytest.mark.parametrize("name", PLATFORMS)
def test_native_chroot_agrees(name, tree):
    """The same guest chrooted natively: the sentry matches Linux's answers
    (except the dirfd from outside, the classic chroot escape we refuse)."""
    root, host, marker = tree
    native = driver.run("native", ["/sentry_escape", str(marker)],
                        root=str(root), chroot=True)
    served = driver.run(name, ["/sentry_escape", str(marker)],
                        root=str(root), chroot=True)
    assert native.code == served.code == 0, (native, served)
    nl = native.out.decode().splitlines()
    sl = served.out.decode().splitlines()
    skip = ("dirfd_outside", "mkdir_escape")
    assert [x for x in nl if not x.startswith(skip)] == \
        [x for x in sl if not x.startswith(skip)]


@pytest.fixture(scope="module")
def deny_bin(tmp_path_factory):
    out = tmp_path_factory.mktemp("guest") / "sentry_deny"
    subprocess.run(["gcc", "-O2", "-o", str(out),
                    os.path.join(GUEST, "sentry_deny.c")], check=True)
    return out


@pytest.mark.parametrize("name", PLATFORMS)
def test_denied_and_killed(name, deny_bin):
    from sentry import syscalls
    res = driver.run(name, [str(deny_bin)])
    assert res.code == 0, res
    lines = dict(line.split(" ", 1) for line in res.out.decode().splitlines())
    for call in ("io_uring_setup", "mount", "ptrace"):
        assert lines[call] == str(syscalls.lookup(call).errno), (call, res)
    assert lines["int80"] == f"killed {signal.SIGSYS}"
    assert lines["x32"] == f"killed {signal.SIGSYS}"


@pytest.fixture
def open_tmp():
    """A tmp dir that other users can reach (pytest's are 0700)."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="pyrunsc-h1-cred-", dir="/tmp")
    os.chmod(d, 0o755)
    try:
        yield __import__("pathlib").Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("name", PLATFORMS)
def test_app_credentials(name, open_tmp):
    """A non-root app gets its own permissions, not the sentry's."""
    tmp_path = open_tmp
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    secret = tmp_path / "secret"
    secret.write_text("s")
    secret.chmod(0o600)
    grp = tmp_path / "grp"
    grp.write_text("g")
    grp.chmod(0o640)
    os.chown(grp, 0, 4242)
    tmp_path.chmod(0o755)
    script = (f"cat {secret}; echo r=$?; cat {grp}; echo; "
              f"echo x > {tmp_path}/new; echo w=$?; "
              f"echo y > {shared}/mine && stat -c '%u %g %a' {shared}/mine; "
              f"mkdir {shared}/d && stat -c '%u %g %a' {shared}/d; "
              f"chmod 777 {secret}; echo c=$?; test -r {secret}; echo t=$?; "
              f"ls {tmp_path}/secret >/dev/null; echo l=$?; "
              f"python3 -c 'import os; os.open(\"{secret}\", os.O_PATH); print(\"opath\")'")
    res = {}
    for run_as in ("native", name):
        for p in shared.iterdir():
            os.system(f"rm -rf {p}")
        res[run_as] = driver.run(run_as, ["/bin/sh", "-c", script],
                                 user=(65534, 65534, 4242))
    assert (res[name].out, res[name].err.replace(b"sh: 1: ", b"")) == \
        (res["native"].out, res["native"].err.replace(b"sh: 1: ", b"")), res
    assert b"r=1" in res[name].out and b"t=1" in res[name].out
    assert b"65534 65534 644" in res[name].out


@pytest.mark.parametrize("name", PLATFORMS)
def test_privileged_port_needs_capability(name):
    code = ("import socket, errno\n"
            "s = socket.socket()\n"
            "try:\n s.bind(('127.0.0.1', 1000)); print('bound')\n"
            "except OSError as e:\n print(errno.errorcode[e.errno])\n")
    res = {}
    for run_as in ("native", name):
        res[run_as] = driver.run(run_as, ["/usr/bin/python3", "-c", code],
                                 user=(65534, 65534))
    assert res[name].out == res["native"].out == b"EACCES\n", res
