"""The sentry's cache of gofer directories (sentry/emulate/dcache.pxi)
keeps its coherence rule: a cached directory is used only while the
kernel still names it by the path it was cached under.  So changes made
from the host (outside the sandbox) and from inside are seen at once, on
the rootfs and on a bind mount, and an unprivileged caller still needs
search permission on every directory of a path."""
import json
import os
import subprocess

import pytest

from tests.testlib import make_spec

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


@pytest.fixture
def tree(test_dir, busybox_rootfs):
    """A writable copy of the busybox rootfs and a bind-mounted volume."""
    rootfs = os.path.join(test_dir, "rootfs")
    subprocess.run(["cp", "-a", busybox_rootfs, rootfs], check=True)
    vol = os.path.join(test_dir, "vol")
    for base, tag in ((rootfs, "root"), (vol, "vol")):
        _write(f"{base}/d1/sub/f", f"old-{tag}\n")
        _write(f"{base}/s/x", f"s-dir-{tag}\n")
        _write(f"{base}/other/x", f"other-{tag}\n")
    _write(f"{vol}/private/f", "secret\n")
    os.chmod(f"{vol}/private", 0o700)
    _write(f"{vol}/pub/deep/f", "public\n")
    os.chmod(vol, 0o755)
    return rootfs, vol


def _bundle(test_dir, rootfs, vol):
    b = os.path.join(test_dir, "bundle")
    os.makedirs(b)
    spec = make_spec(["sleep", "1000"], rootfs)
    spec["root"]["readonly"] = False
    spec["mounts"].append({"destination": "/vol", "type": "bind",
                           "source": vol, "options": ["rbind", "rw"]})
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(spec, f)
    return b


def _boot_log(logs):
    text = ""
    for name in os.listdir(logs):
        if ".boot." in name:
            with open(os.path.join(logs, name)) as f:
                text += f.read()
    return text


def _stats(text):
    """The last dentry-cache counters boot logged."""
    line = [ln for ln in text.splitlines() if "dentry cache:" in ln][-1]
    # the log line quotes the message: msg="... dentry cache: {\"hits\": ..}"
    text = line.split("dentry cache:", 1)[1].strip().replace('\\"', '"')
    return json.loads(text[:text.rindex("}") + 1] if "{" in text else "null")


@pytest.mark.parametrize("platform", ["seccomp", "ptrace"])
def test_host_and_sandbox_changes_are_seen_at_once(pyrunsc, test_dir, tree,
                                                   platform):
    rootfs, vol = tree
    logs = os.path.join(test_dir, "logs")
    cid = pyrunsc.new_id("dc")
    pyrunsc.ok("--debug-log", logs, "--platform", platform, "run",
               "--detach", "--bundle", _bundle(test_dir, rootfs, vol), cid)

    def sh(script, user=None):
        extra = ["--user", user] if user else []
        r = pyrunsc("exec", *extra, cid, "sh", "-c", script)
        return r.stdout + r.stderr

    before = sh("cat /vol/d1/sub/f /d1/sub/f /vol/s/x /s/x; "
                "cat /vol/d1/sub/f /d1/sub/f; stat -c %s /vol/d1/sub/f; "
                "cat /vol/private/f")
    assert before.split() == ["old-vol", "old-root", "s-dir-vol",
                              "s-dir-root", "old-vol", "old-root", "8",
                              "secret"], before

    # from the host: a directory renamed and a new one in its place, a
    # directory replaced by a symlink, a file grown
    for base, tag in ((vol, "vol"), (rootfs, "root")):
        os.rename(f"{base}/d1", f"{base}/d2")
        _write(f"{base}/d1/sub/f", f"new-{tag}\n")
        with open(f"{base}/d2/sub/f", "a") as f:
            f.write("more\n")
        os.rename(f"{base}/s", f"{base}/s-old")
        os.symlink("other", f"{base}/s")
    after = sh("cat /vol/d1/sub/f /d1/sub/f /vol/d2/sub/f /d2/sub/f "
               "/vol/s/x /s/x; stat -c %s /vol/d2/sub/f; ls /vol/s-old")
    assert after.split() == ["new-vol", "new-root", "old-vol", "more",
                             "old-root", "more", "other-vol", "other-root",
                             "13", "x"], after

    # from inside: rename, rmdir and re-create
    inside = sh("mv /vol/d2 /vol/d3 && mv /d2 /d3 && "
                "cat /vol/d3/sub/f /d3/sub/f; "
                "cat /vol/d2/sub/f /d2/sub/f 2>&1 | wc -l; "
                "rm -r /vol/d1 && mkdir -p /vol/d1/sub && "
                "echo re >/vol/d1/sub/f && cat /vol/d1/sub/f")
    assert inside.split() == ["old-vol", "more", "old-root", "more", "2",
                              "re"], inside
    assert not os.path.exists(f"{vol}/d2")
    with open(f"{vol}/d3/sub/f") as f:
        assert f.read() == "old-vol\nmore\n"

    # an unprivileged user: root's cached walk to /vol/private does not
    # let it through the 0700 directory; a searchable path works
    denied = sh("cat /vol/private/f; stat /vol/private/f; "
                "cat /vol/pub/deep/f", user="1000:1000")
    assert denied.count("Permission denied") == 2, denied
    assert "public" in denied and "secret" not in denied, denied
    os.chmod(f"{vol}/pub", 0o700)
    assert "Permission denied" in sh("cat /vol/pub/deep/f",
                                     user="1000:1000")

    pyrunsc.ok("delete", "--force", cid)
    stats = _stats(_boot_log(logs))
    # the cache served lookups, and caught the host's renames
    assert stats["hits"] > 0 and stats["stale"] > 0, stats


def test_dcache_zero_turns_the_cache_off(pyrunsc, test_dir, tree):
    rootfs, vol = tree
    logs = os.path.join(test_dir, "logs")
    cid = pyrunsc.new_id("nodc")
    pyrunsc.ok("--debug-log", logs, "--dcache", "0", "run", "--detach",
               "--bundle", _bundle(test_dir, rootfs, vol), cid)
    out = pyrunsc.ok("exec", cid, "cat", "/vol/d1/sub/f").stdout
    assert out == "old-vol\n"
    pyrunsc.ok("delete", "--force", cid)
    assert _stats(_boot_log(logs)) is None


def test_dcache_rejects_a_negative_size(pyrunsc):
    r = pyrunsc("--dcache", "-1", "list")
    assert r.returncode == 2 and "--dcache" in r.stderr


@pytest.mark.parametrize("platform", ["seccomp", "ptrace"])
def test_symlinks_resolve_in_c_as_linux_does(pyrunsc, test_dir, tree,
                                             platform):
    """Paths through symlinks are resolved by the sentry's C walk over
    the cache (dc_canonical), clamped at the root, across mounts; Python
    is asked only for paths into the special filesystems."""
    rootfs, vol = tree
    links = {"l1": "d1", "abs": "/d1/sub", "up": "../../../d1",
             "c1": "c2", "c2": "d1/sub", "loop1": "loop2", "loop2": "loop1",
             "shm": "/dev/shm/x", "vl": "/vol/d1", "procl": "/proc/self"}
    for name, target in links.items():
        os.symlink(target, f"{rootfs}/{name}")
    os.symlink("../../d1/sub/f", f"{vol}/back")
    logs = os.path.join(test_dir, "logs")
    cid = pyrunsc.new_id("sl")
    pyrunsc.ok("--debug-log", logs, "--platform", platform, "run",
               "--detach", "--bundle", _bundle(test_dir, rootfs, vol), cid)
    r = pyrunsc("exec", cid, "sh", "-c",
                "cat /l1/sub/f /abs/f /up/sub/f /c1/f /l1/../d1/sub/f; "
                "cat /loop1/x 2>&1; echo shm >/dev/shm/x; cat /shm; "
                "cat /vl/sub/f /vol/back; "
                "cd /l1 && cat sub/../sub/f && cd .. && readlink -f /c1/f")
    assert r.stdout.split("\n") == [
        "old-root", "old-root", "old-root", "old-root", "old-root",
        "cat: can't open '/loop1/x': Too many levels of symbolic links",
        "shm",
        "old-vol", "old-root", "old-root", "/d1/sub/f", ""], r
    before = pyrunsc("exec", cid, "cat", "/procl/comm").stdout
    assert before == "cat\n"
    pyrunsc.ok("delete", "--force", cid)
    stats = _stats(_boot_log(logs))
    # only /procl (into /proc) needed Python
    assert stats["slow"] <= 2 and stats["hits"] > 0, stats


def test_cache_leaves_boot_file_descriptors(pyrunsc, test_dir, tree):
    """With a low RLIMIT_NOFILE the cache holds no fd numbered above three
    quarters of it: boot keeps serving (exec, delete) after the app walked
    more directories than that."""
    import resource
    import subprocess
    from tests.testlib import runtime_argv, runtime_env
    rootfs, vol = tree
    for i in range(300):
        _write(f"{vol}/many/d{i}/f", "x")
    logs = os.path.join(test_dir, "logs")
    cid = pyrunsc.new_id("fds")

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 20000))

    argv = runtime_argv() + ["--root", pyrunsc.root, "--debug-log", logs,
                             "run", "--detach", "--bundle",
                             _bundle(test_dir, rootfs, vol), cid]
    subprocess.run(argv, env=runtime_env(), preexec_fn=low_nofile,
                   check=True, timeout=90, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = pyrunsc("exec", cid, "sh", "-c",
                  "for i in $(seq 0 299); do cat /vol/many/d$i/f; done "
                  "| wc -c")
    assert out.stdout.strip() == "300", out
    assert pyrunsc.ok("exec", cid, "cat", "/vol/d1/sub/f").stdout == \
        "old-vol\n"
    pyrunsc.ok("delete", "--force", cid)
    stats = _stats(_boot_log(logs))
    assert 0 < stats["entries"] < 150, stats
