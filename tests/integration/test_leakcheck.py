"""The host-side leak check (tests/testlib.py) finds what it looks for."""
import os
import subprocess

from tests import testlib as conftest


def test_leak_check_sees_processes_mounts_cgroups_and_files(test_dir):
    runner = conftest.Runner(test_dir)
    assert conftest.leaks(runner) == []
    mnt = os.path.join(test_dir, "m")
    os.mkdir(mnt)
    cg = os.path.join(conftest.CGROUP_ROOT, "pids", f"{runner.token}-x")
    os.makedirs(os.path.join(runner.root, "c1"))
    proc = subprocess.Popen(["sh", "-c", "sleep 60", runner.base], cwd="/")
    try:
        subprocess.run(["mount", "-t", "tmpfs", "leak", mnt], check=True)
        os.mkdir(cg)
        found = conftest.leaks(runner)
        kinds = sorted({f.split()[0] for f in found})
        assert kinds == ["cgroup", "file", "mount", "process"], found
    finally:
        proc.kill()
        proc.wait()
        subprocess.run(["umount", mnt], check=False)
        if os.path.isdir(cg):
            os.rmdir(cg)
        os.rmdir(os.path.join(runner.root, "c1"))
    assert conftest.leaks(runner) == []
