"""Helpers of tests/engines: private engine daemons that run pyrunsc.

Each engine runs privately under one temporary directory of the session
(``/tmp/pyrunsc-eng-<hex>``): its own data root, state, sockets, pid file,
config file, runtime ``--root`` and cgroup parent
(``/pyrunsc-eng-<hex>-<engine>``).  Nothing talks to a system-wide daemon,
/var/lib/docker, /etc or the network: Docker runs with ``--bridge=none
--iptables=false --ip-masq=false --ip6tables=false`` and containers with
``--network none``; images are imported from a busybox-static tarball built
here, never pulled.

The runtime the engines call is a wrapper script running this checkout's
CLI (``python -m cli``), or ``$PYRUNSC_TEST_RUNTIME`` (e.g. runc, to check
the tests themselves).  Tests of an engine whose packages are missing are
skipped, naming the missing program and scripts/engines-setup.sh.

Teardown (even after a failure): the engine's containers are removed, the
daemon gets SIGTERM then SIGKILL by its pid, every process whose command
line names the private directory is killed by pid, mounts under it are
unmounted, the cgroups of the private cgroup parent are removed, and the
directory is deleted.
"""
import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUSYBOX = "/bin/busybox"
CMD_TIMEOUT = 90
IMAGE = "pyrunsc-busybox:latest"
CGROUP_ROOT = "/sys/fs/cgroup"


def need(*programs):
    """Skip unless every program is installed."""
    missing = [p for p in programs if not _which(p)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (engine packages: "
                    "run scripts/engines-setup.sh)")
    if os.geteuid() != 0:
        pytest.skip("engines need root")


def _which(prog):
    # The Debian packages' binaries; /usr/local/bin may hold other builds.
    for d in ("/usr/bin", "/usr/sbin"):
        p = os.path.join(d, prog)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(prog)


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.returncode, self.stdout, self.stderr = \
            argv, rc, out, err

    def __repr__(self):
        return (f"<{' '.join(self.argv)} -> {self.returncode}\n"
                f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}>")


def run_cmd(argv, *, env=None, input=None, timeout=CMD_TIMEOUT, cwd=None):
    """Run a client command; stdout/stderr through files, never pipes (a
    detached container holding them cannot block us)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None
                             else subprocess.DEVNULL, stdout=out, stderr=err,
                             env=env, cwd=cwd, start_new_session=True)
        try:
            p.communicate(input.encode() if input is not None else None,
                          timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise AssertionError(f"timed out after {timeout}s: "
                                 f"{' '.join(argv)}")
        out.seek(0)
        err.seek(0)
        return Result(argv, p.returncode, out.read().decode(errors="replace"),
                      err.read().decode(errors="replace"))


def run_in_pty(argv, *, env=None, timeout=CMD_TIMEOUT):
    """Run a client with a pty as its stdio; (status, output)."""
    import pty
    import select
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                         env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:     # EIO: every slave fd is closed
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        else:
            raise AssertionError(f"timed out: {' '.join(argv)}")
        return p.wait(timeout=10), out.decode(errors="replace")
    finally:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        os.close(master)


# -- the image ---------------------------------------------------------------

def _rootfs_tar():
    """A busybox-static rootfs as an uncompressed tar (bytes)."""
    buf = io.BytesIO()
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    with tarfile.open(fileobj=buf, mode="w") as t:
        def add_dir(name, mode=0o755):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode = tarfile.DIRTYPE, mode
            t.addfile(ti)

        def add_file(name, data, mode=0o644):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), mode
            t.addfile(ti, io.BytesIO(data))

        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc",
                  "sys", "dev", "root", "var", "run"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        with open(BUSYBOX, "rb") as f:
            add_file("bin/busybox", f.read(), 0o755)
        for a in applets:
            if a == "busybox":
                continue
            ti = tarfile.TarInfo(f"bin/{a}")
            ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, "busybox", 0o777
            t.addfile(ti)
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                 b"nobody:x:65534:65534:nobody:/:/bin/false\n")
        add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return buf.getvalue()


def _docker_archive(layer, repo_tag):
    """A `docker save` archive of one layer, which `ctr images import`
    reads."""
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
            "/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "pyrunsc tests/engines"}],
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_dir = diff_id.split(":")[1]
    manifest = json.dumps([{"Config": config_name, "RepoTags": [repo_tag],
                            "Layers": [f"{layer_dir}/layer.tar"]}]).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in ((config_name, config),
                           (f"{layer_dir}/layer.tar", layer),
                           ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


# -- the private directory and its clean-up ---------------------------------

def _procs_mentioning(text):
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found.append(int(d))
    return found


def _mounts_under(path):
    out = []
    prefix = path.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(prefix):
                out.append(mp)
    return out


def _cgroup_dirs(name):
    """Directories named ``name`` right under a hierarchy root."""
    out = []
    with contextlib.suppress(OSError):
        for h in os.listdir(CGROUP_ROOT):
            d = os.path.join(CGROUP_ROOT, h, name)
            if os.path.isdir(d):
                out.append(d)
    d = os.path.join(CGROUP_ROOT, name)     # a pure cgroup2 mount
    if os.path.isdir(d) and os.path.exists(os.path.join(CGROUP_ROOT,
                                                        "cgroup.procs")):
        out.append(d)
    return out


def _remove_cgroups(name):
    for top in _cgroup_dirs(name):
        for d, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def _kill_pid(pid, sig):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _wait_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    return False


class Private:
    """One engine's private directory, cgroup parent and clean-up."""

    def __init__(self, engine):
        self.token = secrets.token_hex(4)
        self.dir = tempfile.mkdtemp(prefix=f"pyrunsc-eng-{engine}-",
                                    dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.cgroup_name = f"pyrunsc-eng-{self.token}-{engine}"
        self.daemons = []       # Popen objects we started
        # containerd 1.6 puts shim sockets in /run/containerd/s whatever
        # its config says: remove what was not there before, once empty.
        self.system_dirs = [d for d in ("/run/containerd/s",
                                        "/run/containerd/fifo",
                                        "/run/containerd")
                            if not os.path.exists(d)]
        self.runtime = self._runtime_wrapper()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def _runtime_wrapper(self, name="pyrunsc", args=""):
        other = os.environ.get("PYRUNSC_TEST_RUNTIME")
        w = self.path(name)
        with open(w, "w") as f:
            if other:
                f.write(f"#!/bin/sh\nexec {shutil.which(other) or other} "
                        f"{args} \"$@\"\n")
            else:
                f.write("#!/bin/sh\n"
                        f"PYTHONPATH={REPO}${{PYTHONPATH:+:$PYTHONPATH}}\n"
                        "export PYTHONPATH\n"
                        f"exec {sys.executable} -m cli {args} \"$@\"\n")
        os.chmod(w, 0o755)
        return w

    @property
    def runtime_root_wrapper(self):
        """The runtime with a private --root.  Podman passes none (the
        runtime's default /run/pyrunsc) and its exit command (``podman
        container cleanup``) drops ``--runtime-flag``, so the flag is in
        the wrapper."""
        w = self.path("pyrunsc-root")
        if not os.path.exists(w):
            self._runtime_wrapper("pyrunsc-root",
                                  f"--root {self.path('runtime-root')}")
        return w

    def start_daemon(self, argv, log_name):
        log = open(self.path(log_name), "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, start_new_session=True)
        log.close()
        self.daemons.append(p)
        return p

    def log_tail(self, name, n=30):
        with contextlib.suppress(OSError):
            with open(self.path(name), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        return ""

    def cleanup(self):
        for p in reversed(self.daemons):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        # Shims, conmon, boots, waiters of our runs: their command lines
        # name our private directory.
        for _ in range(3):
            pids = _procs_mentioning(self.dir)
            if not pids:
                break
            for pid in pids:
                _kill_pid(pid, signal.SIGKILL)
            for pid in pids:
                _wait_gone(pid, 5)
        for m in sorted(_mounts_under(self.dir), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], check=False,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        _remove_cgroups(self.cgroup_name)
        shutil.rmtree(self.dir, ignore_errors=True)
        for d in self.system_dirs:
            with contextlib.suppress(OSError):
                os.rmdir(d)

    def leftovers(self):
        """What the engine left behind after its containers were removed."""
        found = [f"process {pid}" for pid in _procs_mentioning(self.dir)
                 if all(pid != d.pid for d in self.daemons)
                 and not _is_daemon_child(pid, self.daemons)]
        return found

    def check_no_leftovers(self, timeout=15):
        """Once every container is removed, no shim, conmon, boot or waiter
        of ours may remain."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.leftovers()
            if not found or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        details = []
        for item in found:
            pid = int(item.split()[1])
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    details.append(f"{pid}: " + f.read().replace(
                        b"\0", b" ").decode(errors="replace")[:300])
        assert not found, "left after removing every container:\n  " + \
            "\n  ".join(details or found)


def _is_daemon_child(pid, daemons):
    # dockerd's own containerd is a daemon of ours too.
    try:
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return False
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        comm = ""
    return comm == "containerd" and any(ppid == d.pid for d in daemons)


def wait_until(pred, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class _Client:
    """An engine's command line; subclasses give ``argv`` (and ``env``)."""
    env = None

    def argv(self, *args):
        raise NotImplementedError

    def __call__(self, *args, **kw):
        return run_cmd(self.argv(*args), env=self.env, **kw)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, r
        return r

    def wait_daemon(self, daemon, log, what):
        """Wait until ``daemon`` (its Popen) answers ``version``."""
        def up():
            if daemon.poll() is not None:
                raise AssertionError(f"{what} exited:\n"
                                     + self.priv.log_tail(log))
            return self("version").returncode == 0
        wait_until(up, 60, what)


class Docker(_Client):
    def __init__(self, priv, image):
        self.priv, self.image = priv, image
        self.sock = priv.path("docker.sock")
        self.client = _which("docker")

    def argv(self, *args):
        return [self.client, "-H", f"unix://{self.sock}"] \
            + [str(a) for a in args]

    def run_args(self):
        return ["--runtime", "pyrunsc", "--network", "none"]


class Ctr(_Client):
    def __init__(self, priv, image):
        self.priv, self.image = priv, image
        self.sock = priv.path("containerd.sock")
        self.ns = priv.cgroup_name      # cgroups go to /<namespace>/<id>
        self.client = _which("ctr")

    def argv(self, *args):
        return [self.client, "--address", self.sock, "-n", self.ns] \
            + [str(a) for a in args]

    def run_args(self):
        return ["--runtime", "io.containerd.runc.v2",
                "--runc-binary", self.priv.runtime,
                "--runc-root", self.priv.path("runc"),
                "--fifo-dir", self.priv.path("fifo")]


class Podman(_Client):
    def __init__(self, priv, image):
        self.priv, self.image = priv, image
        self.client = _which("podman")
        self.env = dict(os.environ,
                        CONTAINERS_CONF=priv.path("containers.conf"),
                        CONTAINERS_STORAGE_CONF=priv.path("storage.conf"))

    def argv(self, *args):
        p = self.priv
        return [self.client, "--root", p.path("root"),
                "--runroot", p.path("runroot"),
                "--tmpdir", p.path("tmp"),
                "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                "--runtime", p.runtime_root_wrapper,
                "--storage-driver", "overlay"] \
            + [str(a) for a in args]

    def run_args(self):
        # N.B. podman's default rlimits as root (nofile and nproc 1048576+)
        # need CAP_SYS_RESOURCE, which runc needs as well; ask for limits
        # the caller has.
        import resource
        lims = []
        for name, rl in (("nofile", resource.RLIMIT_NOFILE),
                         ("nproc", resource.RLIMIT_NPROC)):
            hard = resource.getrlimit(rl)[1]
            v = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
            lims += ["--ulimit", f"{name}={v}:{v}"]
        return ["--network", "none",
                "--cgroup-parent", f"/{self.priv.cgroup_name}"] + lims
