"""File semantics: guest/fs_semantics.c gives the same output natively and
in containers, on both platforms, with the gofer or --directfs.

Natively it runs in a private mount namespace (``unshare -m``) with a
read-only bind mount as its read-only directory and /dev/shm as the other
filesystem (EXDEV).  In a container the same three directories are a
read-write bind mount and a read-only bind mount of host directories
(served by the gofer unless --directfs) and the container's /dev/shm.
"""
import difflib
import os
import shutil
import subprocess
import tempfile

import pytest

from tests.testlib import make_spec

GUEST_SRC = os.path.join(os.path.dirname(__file__), "guest", "fs_semantics.c")
ALL_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
            "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
            "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
            "CAP_SYS_ADMIN", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
            "CAP_LINUX_IMMUTABLE", "CAP_SYS_CHROOT"]


@pytest.fixture(scope="module")
def guest_bin():
    d = tempfile.mkdtemp(prefix="pyrunsc-fsguest-")
    os.chmod(d, 0o755)
    try:
        out = os.path.join(d, "fs_semantics")
        subprocess.run(["gcc", "-O2", "-static", "-o", out, GUEST_SRC],
                       check=True)
        yield out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _dirs(base):
    rw = os.path.join(base, "rw")
    ro = os.path.join(base, "ro")
    os.makedirs(rw)
    os.makedirs(ro)
    with open(os.path.join(ro, "f"), "w") as f:
        f.write("ro\n")
    os.chmod(base, 0o755)
    return rw, ro


@pytest.fixture(scope="module")
def native_output(guest_bin):
    base = tempfile.mkdtemp(prefix="pyrunsc-fsnative-")
    other = tempfile.mkdtemp(prefix="pyrunsc-fsnative-", dir="/dev/shm")
    try:
        rw, ro = _dirs(base)
        script = (f"mount --make-rprivate / && mount --bind {ro} {ro} && "
                  f"mount -o remount,bind,ro {ro} && "
                  f"exec {guest_bin} {rw} {ro} {other}")
        p = subprocess.run(["unshare", "-m", "sh", "-c", script],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert p.stdout.count("\n") > 100
        return p.stdout
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(other, ignore_errors=True)


def _container_spec(guest_bin, rw, ro, rootfs):
    spec = make_spec(["/mnt/guest/fs_semantics", "/mnt/rw", "/mnt/ro",
                      "/dev/shm"], rootfs)
    caps = spec["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k] = list(ALL_CAPS)
    spec["mounts"] += [
        {"destination": "/mnt/guest", "type": "bind",
         "source": os.path.dirname(guest_bin), "options": ["rbind", "ro"]},
        {"destination": "/mnt/rw", "type": "bind", "source": rw,
         "options": ["rbind", "rw"]},
        {"destination": "/mnt/ro", "type": "bind", "source": ro,
         "options": ["rbind", "ro"]},
    ]
    return spec


@pytest.mark.parametrize("mode", ["gofer", "directfs"])
@pytest.mark.parametrize("platform", ["seccomp", "ptrace"])
def test_fs_semantics(pyrunsc, test_dir, busybox_rootfs, guest_bin,
                      native_output, platform, mode):
    import json
    base = os.path.join(test_dir, "fs")
    rw, ro = _dirs(base)
    bundle = os.path.join(test_dir, "bundle")
    os.makedirs(bundle)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(_container_spec(guest_bin, rw, ro, busybox_rootfs), f)
    cid = pyrunsc.new_id("fs")
    flags = ["--platform", platform] + (["--directfs"] if mode == "directfs"
                                        else [])
    res = pyrunsc(*flags, "run", "-b", bundle, cid, timeout=120)
    pyrunsc("delete", "-f", cid)
    assert res.returncode == 0, res
    if res.stdout != native_output:
        diff = "\n".join(difflib.unified_diff(
            native_output.splitlines(), res.stdout.splitlines(), "native",
            f"{platform}-{mode}", lineterm="", n=0))
        pytest.fail(f"differs from native:\n{diff}\nstderr: {res.stderr}")
