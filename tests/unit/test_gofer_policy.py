"""The gofer's privileges after setup: the kept capabilities and the
seccomp allowlist, applied in a forked child."""
import errno
import json
import os
import socket

import pytest

from runtime import gofer_policy
from sentry import _sys
from tests.childlib import child_result, fork_child

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def in_child(fn):
    """Run ``fn`` in a forked child after ``Plan().apply()``; return what
    it returned (one line per check)."""
    plan = gofer_policy.Plan()

    def body():
        plan.apply()
        return fn()

    status, out = child_result(*fork_child(body, output=True))
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out


def errno_name(fn):
    try:
        fn()
    except OSError as e:
        return errno.errorcode[e.errno]
    return "ok"


def test_capabilities_kept():
    keep, drop = gofer_policy.cap_masks()
    assert keep == 0x1f           # CHOWN DAC_OVERRIDE DAC_READ_SEARCH
    assert 27 in drop and 21 in drop and 18 in drop   # MKNOD SYS_ADMIN CHROOT


def test_the_filter_denies_what_the_gofer_never_needs(tmp_path):
    target = str(tmp_path)

    def checks():
        res = {
            "mount": errno_name(lambda: _sys.mount("none", target, "tmpfs")),
            "inet": errno_name(lambda: socket.socket(socket.AF_INET)),
            "exec": errno_name(lambda: os.execv("/bin/true", ["true"])),
            "unix": errno_name(lambda: socket.socket(socket.AF_UNIX).close()),
            "file": errno_name(lambda: os.close(os.open(
                target, os.O_PATH))),
            # the gofer only uses the *at calls
            "mkdir": errno_name(lambda: os.mkdir("x", dir_fd=os.open(
                target, os.O_PATH))),
            "caps": " ".join(ln for ln in open("/proc/self/status")
                             if ln.startswith("CapEff")).split()[-1],
        }
        return json.dumps(res)
    res = json.loads(in_child(checks))
    assert res["mount"] == "EPERM"
    assert res["inet"] == "EPERM"
    assert res["exec"] == "EPERM"
    assert (res["unix"], res["file"], res["mkdir"]) == ("ok",) * 3
    assert int(res["caps"], 16) == 0x1f


def test_threads_can_still_be_started():
    def checks():
        import threading
        out = []
        t = threading.Thread(target=lambda: out.append("ran"))
        t.start()
        t.join()
        return out[0]
    assert in_child(checks) == "ran"
