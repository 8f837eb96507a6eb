"""Shared fixtures: the pyrunsc runner, bundles, and host-side leak checks.

* ``pyrunsc`` — runs the real CLI (``python -m cli`` of this checkout, or
  the binary in ``$PYRUNSC_TEST_RUNTIME``, e.g. ``runc``, to validate the
  tests themselves) with a private ``--root`` under /tmp.  Its stdout and
  stderr go to files, never pipes, so that a detached container holding
  them cannot block a test.  On teardown it force-deletes what the test
  left and then checks from the host side that nothing leaked: no process
  whose cmdline mentions the test's directory, no mount under it, no cgroup
  directory named after one of its containers, no file under its --root.
* ``busybox_rootfs`` — a session-wide rootfs of busybox-static applets.
* ``bundle_factory`` — writes config.json bundles over the host root
  (read-only) or the busybox rootfs.

The helpers behind them are in tests/testlib.py: import them from there
(``from tests.testlib import runtime_env``), never ``from conftest``, which
names tests/conformance/conftest.py once that directory is collected.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from tests.testlib import (  # noqa: E402,F401  (re-exported)
    BUSYBOX, CGROUP_ROOT, REPO, TEST_TMP, BundleFactory, Result, Runner,
    _build_busybox_rootfs, _force_clean, _hard_clean, _mounts_under, leaks,
    make_spec, runtime_argv, runtime_env)


@pytest.fixture
def test_dir():
    base = tempfile.mkdtemp(prefix="pyrunsc-test-", dir=TEST_TMP)
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pyrunsc(test_dir):
    """The CLI runner of one test, with leak checks on teardown."""
    runner = Runner(test_dir)
    try:
        yield runner
    finally:
        _force_clean(runner)
        found = leaks(runner)
        if found:
            _hard_clean(runner)
        # Teardown failures are reported as errors of the test.
        assert not found, "leaked after the test:\n  " + "\n  ".join(found)


@pytest.fixture(scope="session")
def busybox_rootfs():
    if not os.path.exists(BUSYBOX):
        pytest.fail("busybox-static is missing: run scripts/install-deps.sh")
    d = tempfile.mkdtemp(prefix="pyrunsc-busybox-", dir=TEST_TMP)
    os.chmod(d, 0o755)
    rootfs = os.path.join(d, "rootfs")
    try:
        _build_busybox_rootfs(rootfs)
        yield rootfs
    finally:
        leftover = _mounts_under(d)
        for m in sorted(leftover, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=["hostroot", "busybox"])
def rootfs_kind(request):
    return request.param


@pytest.fixture
def bundle_factory(request, test_dir, rootfs_kind):
    """Bundles over the host root read-only, or over the busybox rootfs."""
    if rootfs_kind == "hostroot":
        if "PYRUNSC_TEST_RUNTIME" in os.environ:
            # Validating the tests against runc: runc cannot pivot_root
            # into the host's own root (EBUSY), so only busybox applies.
            pytest.skip("the reference runtime cannot use / as rootfs")
        root = "/"
    else:
        root = request.getfixturevalue("busybox_rootfs")
    f = BundleFactory(test_dir, root)
    f.kind = rootfs_kind
    return f
