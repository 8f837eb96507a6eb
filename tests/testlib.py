"""Helpers of the integration tests: the CLI runner and the leak checks.

Importable as ``tests.testlib`` (a test module cannot rely on the name
``conftest``: tests/conformance has its own).  The fixtures that use these
live in tests/conftest.py.
"""
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

TEST_TMP = "/tmp"
CGROUP_ROOT = "/sys/fs/cgroup"
CLI_TIMEOUT = 90


def runtime_argv():
    """The runtime under test: pyrunsc of this checkout unless overridden."""
    other = os.environ.get("PYRUNSC_TEST_RUNTIME")
    if other:
        return [other]
    return [sys.executable, "-m", "cli"]


def runtime_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"]
                                if env.get("PYTHONPATH") else "")
    return env


class Result:
    def __init__(self, args, returncode, stdout, stderr):
        self.args, self.returncode = args, returncode
        self.stdout, self.stderr = stdout, stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return (f"<pyrunsc {' '.join(self.args)} -> {self.returncode}\n"
                f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}>")


class Runner:
    """``runner("state", cid)`` runs ``pyrunsc --root <root> state cid``."""

    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "root")
        self.token = "t" + secrets.token_hex(4)
        self.argv0 = runtime_argv()
        self.is_pyrunsc = "PYRUNSC_TEST_RUNTIME" not in os.environ
        self.global_args = []
        self.ids = []
        self.spawned = []

    def new_id(self, name="c"):
        cid = f"{self.token}-{name}"
        self.ids.append(cid)
        return cid

    def __call__(self, *args, check=None, timeout=CLI_TIMEOUT, stdin=None,
                 global_args=()):
        argv = (self.argv0 + ["--root", self.root] + list(self.global_args)
                + list(global_args) + [str(a) for a in args])
        with tempfile.TemporaryFile(dir=self.base) as out, \
                tempfile.TemporaryFile(dir=self.base) as err:
            p = subprocess.Popen(argv, stdin=stdin or subprocess.DEVNULL,
                                 stdout=out, stderr=err, env=runtime_env(),
                                 cwd=self.base, start_new_session=True)
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError(f"{argv} timed out after {timeout}s")
            out.seek(0)
            err.seek(0)
            res = Result([str(a) for a in args], rc,
                         out.read().decode(errors="replace"),
                         err.read().decode(errors="replace"))
        if check is True and rc != 0:
            raise AssertionError(f"command failed: {res!r}")
        if check is False and rc == 0:
            raise AssertionError(f"command unexpectedly succeeded: {res!r}")
        return res

    def spawn(self, *args):
        """Start the CLI in the background (its own session); a Popen.

        The fixture SIGKILLs it on teardown if the test did not reap it.
        """
        argv = (self.argv0 + ["--root", self.root] + list(self.global_args)
                + [str(a) for a in args])
        out = tempfile.TemporaryFile(dir=self.base)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=out, env=runtime_env(), cwd=self.base,
                             start_new_session=True)
        p.output_file = out
        self.spawned.append(p)
        return p

    def ok(self, *args, **kw):
        return self(*args, check=True, **kw)

    def fails(self, *args, **kw):
        return self(*args, check=False, **kw)

    # Helpers ------------------------------------------------------------
    def status(self, cid):
        res = self.ok("state", cid)
        return res.json()["status"]

    def wait_status(self, cid, want, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(cid)
            if st == want or time.monotonic() > deadline:
                return st
            time.sleep(0.05)

    def list_ids(self):
        return [line for line in self.ok("list", "-q").stdout.splitlines()
                if line]


# Leak checks ---------------------------------------------------------------

def _procs_mentioning(text):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found.append((int(name), cmd.strip()))
    return found


def _mounts_under(path):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == path or mp.startswith(path.rstrip("/") + "/"):
                out.append(mp)
    return out


def _cgroups_named(token):
    out = []
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        for d in dirs:
            if token in d:
                out.append(os.path.join(top, d))
    return out


def leaks(runner):
    """What the test left on the host; [] when clean."""
    problems = []
    deadline = time.monotonic() + 5
    while True:
        procs = (_procs_mentioning(runner.base)
                 + _procs_mentioning(runner.token))
        if not procs or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    problems += [f"process {pid}: {cmd}" for pid, cmd in procs]
    problems += [f"mount {m}" for m in _mounts_under(runner.base)]
    problems += [f"cgroup {c}" for c in _cgroups_named(runner.token)]
    if os.path.isdir(runner.root):
        for top, dirs, files in os.walk(runner.root):
            problems += [f"file {os.path.join(top, n)}" for n in dirs + files]
    return problems


def _force_clean(runner):
    """Delete every container of the test; kill and unmount what remains."""
    for p in runner.spawned:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.output_file.close()
    ids = set(runner.ids)
    with contextlib.suppress(Exception):
        ids |= set(runner.list_ids())
    for cid in ids:
        with contextlib.suppress(Exception):
            runner("delete", "--force", cid, timeout=60)


def _hard_clean(runner):
    for pid, _ in (_procs_mentioning(runner.base)
                   + _procs_mentioning(runner.token)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for m in sorted(_mounts_under(runner.base), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], check=False,
                       stderr=subprocess.DEVNULL)
    for c in sorted(_cgroups_named(runner.token), key=len, reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(c)


# Root filesystems and bundles ------------------------------------------------

BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def _build_busybox_rootfs(path):
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev",
              "tmp", "etc", "root", "caps", "mnt"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(path, "bin", "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    for a in applets:
        link = os.path.join(path, "bin", a)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\ntty:x:5:\nnogroup:x:65534:\n")
    with open(os.path.join(path, "etc", "hostname"), "w") as f:
        f.write("busybox\n")


def make_spec(args, root, *, terminal=False):
    """A runc-default spec running ``args`` on ``root`` (read-only)."""
    from runtime import specgen
    spec = specgen.default_spec()
    spec["process"]["args"] = list(args)
    spec["process"]["terminal"] = terminal
    spec["root"] = {"path": root, "readonly": True}
    spec["hostname"] = "pyrunsc-test"
    # Lifecycle tests do not depend on the cgroup mount; cgroup tests own it.
    spec["mounts"] = [m for m in spec["mounts"]
                      if m["destination"] != "/sys/fs/cgroup"]
    return spec


class BundleFactory:
    def __init__(self, base, root):
        self.base, self.root = base, root
        self.n = 0

    def __call__(self, args, *, terminal=False, edit=None):
        """Write a bundle running ``args``; ``edit(spec)`` may change it."""
        self.n += 1
        b = os.path.join(self.base, f"bundle{self.n}")
        os.makedirs(b)
        spec = make_spec(args, self.root, terminal=terminal)
        if edit:
            edit(spec)
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(spec, f, indent=1)
        return b
