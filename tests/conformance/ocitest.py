"""Support for the OCI runtime-spec conformance suite.

Owns: the ``Runtime`` driver (one runtime binary, one private ``--root``),
``Container`` (one bundle and its lifecycle calls), the default spec the
suite starts from, the busybox rootfs and the probe build.  Nothing here
knows which runtime it drives beyond its command line: runc and pyrunsc are
called the same way, so the same tests prove both.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE_SRC = Path(__file__).resolve().parent / "probe" / "probe.c"
KNOWN_RUNTIMES = ("runc", "pyrunsc")
CALL_TIMEOUT = 60
STOP_TIMEOUT = 15

# Linux capability numbers - capability.h
CAPS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6,
    "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24,
    "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33,
    "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36,
    "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}

DEFAULT_ENV = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
]
DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
DEFAULT_NAMESPACES = ["pid", "network", "ipc", "uts", "mount", "cgroup"]


def cap_mask(names):
    mask = 0
    for name in names:
        mask |= 1 << CAPS[name]
    return mask


def default_spec(args=("/probe",)):
    """A spec like `runc spec` writes, built here so the suite owes nothing
    to the runtime under test (its `spec` command is tested separately)."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": list(DEFAULT_ENV),
            "cwd": "/",
            "capabilities": {
                "bounding": list(DEFAULT_CAPS),
                "effective": list(DEFAULT_CAPS),
                "permitted": list(DEFAULT_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024,
                         "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "conformance",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                         "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777",
                         "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue",
             "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup",
             "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in DEFAULT_NAMESPACES],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    }


def build_probe(dest):
    """Compile the probe statically into ``dest``."""
    subprocess.run(["gcc", "-static", "-O2", "-o", str(dest), str(PROBE_SRC)],
                   check=True, capture_output=True, timeout=120)
    return dest


def build_rootfs(dest, probe):
    """A busybox-static rootfs: /bin/busybox, one symlink per applet, the
    probe at /probe, and the usual empty directories."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "srv",
              "root", "var", "mnt", "usr/bin"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    for applet in applets:
        link = dest / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    shutil.copy2(probe, dest / "probe")
    (dest / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (dest / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return dest


class Result:
    """What one runtime call did: its exit status and its output."""

    def __init__(self, argv, returncode, stdout, stderr):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def ok(self):
        return self.returncode == 0

    def __repr__(self):
        return (f"<{' '.join(self.argv)}: rc={self.returncode} "
                f"stdout={self.stdout[-2000:]!r} "
                f"stderr={self.stderr[-2000:]!r}>")


class Runtime:
    """One OCI runtime CLI with a private ``--root`` under /tmp.

    ``run(*args)`` calls ``<runtime> --root ROOT args...`` with stdin from
    /dev/null and stdout/stderr into files (never pipes: a created container
    inherits them and would keep a pipe open).
    """

    def __init__(self, name, workdir, rootfs):
        if name not in KNOWN_RUNTIMES:
            raise ValueError(f"unknown runtime {name!r}")
        self.name = name
        self.workdir = Path(workdir)
        self.rootfs = Path(rootfs)
        self.root = Path(tempfile.mkdtemp(prefix=f"oci-conf-{name}-",
                                          dir="/tmp"))
        self.containers = []
        self._n = 0
        if name == "runc":
            self.argv = [shutil.which("runc") or "runc"]
            self.cwd = None
            self.env = None
        else:
            exe = shutil.which("pyrunsc")
            self.argv = [exe] if exe else [sys.executable, "-m", "cli.main"]
            self.cwd = str(REPO)
            self.env = dict(os.environ)
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p])

    def __repr__(self):
        return f"Runtime({self.name})"

    def command(self, *args):
        return self.argv + ["--root", str(self.root)] + [str(a) for a in args]

    def run(self, *args, stdout=None, stderr=None, cwd=None,
            timeout=CALL_TIMEOUT):
        """Run one CLI call; returns a Result.  ``stdout``/``stderr`` may name
        files that then also receive a created container's output."""
        self._n += 1
        out = Path(stdout) if stdout else self.workdir / f"call{self._n}.out"
        err = Path(stderr) if stderr else self.workdir / f"call{self._n}.err"
        argv = self.command(*args)
        with open(out, "ab") as fo, open(err, "ab") as fe:
            start_out, start_err = fo.tell(), fe.tell()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fo,
                                    stderr=fe, cwd=cwd or self.cwd,
                                    env=self.env, start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise AssertionError(f"{' '.join(argv)}: no answer after "
                                     f"{timeout}s")
        with open(out, "rb") as fo:
            fo.seek(start_out)
            o = fo.read().decode(errors="replace")
        with open(err, "rb") as fe:
            fe.seek(start_err)
            e = fe.read().decode(errors="replace")
        return Result(argv, rc, o, e)

    # -- containers -------------------------------------------------------

    def new_id(self):
        return f"conf-{uuid.uuid4().hex[:12]}"

    def container(self, spec=None, cid=None, rootfs=True, parent=None):
        """A new bundle (own rootfs copy + config.json) and its container
        handle, in ``parent`` (default: the test's tmp dir); nothing is
        created yet."""
        c = Container(self, spec if spec is not None else default_spec(),
                      cid or self.new_id(), rootfs, parent)
        self.containers.append(c)
        return c

    def cleanup(self):
        """Kill and delete everything this runtime created; remove --root."""
        for c in self.containers:
            c.destroy()
        shutil.rmtree(self.root, ignore_errors=True)


def _start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Container:
    """A bundle and the lifecycle calls on its container id."""

    def __init__(self, runtime, spec, cid, with_rootfs, parent=None):
        self.rt = runtime
        self.id = cid
        self.spec = spec
        n = len(runtime.containers) + 1
        self.bundle = Path(parent or runtime.workdir) / f"bundle{n}"
        self.bundle.mkdir()
        if with_rootfs:
            shutil.copytree(runtime.rootfs, self.bundle / "rootfs",
                            symlinks=True)
        self.out = runtime.workdir / f"bundle{n}.stdout"
        self.err = runtime.workdir / f"bundle{n}.stderr"
        self.out.touch()
        self.err.touch()
        self.pids = {}              # pid -> start time, for the last resort
        self.write_config()

    @property
    def rootfs(self):
        return self.bundle / "rootfs"

    def write_config(self, spec=None, raw=None):
        path = self.bundle / "config.json"
        if raw is not None:
            path.write_text(raw)
        else:
            path.write_text(json.dumps(spec if spec is not None
                                       else self.spec, indent=2))

    # -- OCI operations ---------------------------------------------------

    def create(self, *extra):
        r = self.rt.run("create", "--bundle", self.bundle, *extra, self.id,
                        stdout=self.out, stderr=self.err)
        if r.ok:
            self._remember_pid()
        return r

    def start(self):
        return self.rt.run("start", self.id)

    def kill(self, sig="KILL"):
        return self.rt.run("kill", self.id, sig)

    def delete(self, force=False):
        return self.rt.run("delete", *(["--force"] if force else []), self.id)

    def run(self, *extra):
        return self.rt.run("run", "--bundle", self.bundle, *extra, self.id,
                           stdout=self.out, stderr=self.err)

    def state_result(self):
        return self.rt.run("state", self.id)

    def state(self):
        """The parsed state JSON; fails the test when `state` fails."""
        r = self.state_result()
        assert r.ok, f"state failed: {r}"
        try:
            st = json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"state printed no JSON: {r}")
        if st.get("pid"):
            self.pids.setdefault(st["pid"], _start_time(st["pid"]))
        return st

    def _remember_pid(self):
        r = self.state_result()
        if r.ok:
            try:
                pid = json.loads(r.stdout).get("pid")
            except ValueError:
                return
            if pid:
                self.pids.setdefault(pid, _start_time(pid))

    # -- helpers ----------------------------------------------------------

    def must(self, result, what):
        assert result.ok, (f"{what} failed: {result}\ncontainer stderr: "
                           f"{self.err.read_text()[-2000:]!r}")
        return result

    def create_ok(self, *extra):
        return self.must(self.create(*extra), "create")

    def start_ok(self):
        return self.must(self.start(), "start")

    def wait_status(self, *statuses, timeout=STOP_TIMEOUT):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.state()
            if st.get("status") in statuses:
                return st
            time.sleep(0.05)
        raise AssertionError(f"container {self.id} never reached "
                             f"{statuses}: last state {st}")

    def output(self):
        return self.out.read_text(errors="replace")

    def probe(self):
        """create, start, wait for stopped, delete; the probe's JSON."""
        self.create_ok()
        self.start_ok()
        self.wait_status("stopped")
        self.must(self.delete(), "delete")
        text = self.output()
        try:
            return Probe(json.loads(text))
        except ValueError:
            raise AssertionError(
                f"probe printed no JSON: {text[-2000:]!r}; stderr "
                f"{self.err.read_text()[-2000:]!r}")

    def destroy(self):
        """Best-effort removal used by fixtures, whatever state we are in."""
        try:
            if self.state_result().ok:
                self.kill("KILL")
                self.delete(force=True)
                if self.state_result().ok:
                    time.sleep(0.2)
                    self.delete(force=True)
        except AssertionError:
            pass
        for pid, start in self.pids.items():
            if start is not None and _start_time(pid) == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


class Probe(dict):
    """The probe's report with helpers for its raw fields."""

    def check(self, verb, arg):
        for c in self["checks"]:
            if c.get("verb") == verb and c.get("arg") == arg:
                return c["result"]
        raise KeyError(f"{verb}={arg} was not asked of the probe")

    def text(self, field, path):
        """A raw file field of the report; a clear failure if the probe
        could not read it."""
        value = self[field]
        if isinstance(value, dict):
            raise AssertionError(f"the probe could not read {path} in the "
                                 f"container: errno {value.get('errno')}")
        return value

    def status_field(self, name):
        for line in self.text("status", "/proc/self/status").splitlines():
            k, _, v = line.partition(":")
            if k == name:
                return v.strip()
        raise KeyError(name)

    def cap(self, name):
        """CapInh/CapPrm/CapEff/CapBnd/CapAmb as an int."""
        return int(self.status_field(name), 16)

    def mounts(self):
        """mountinfo as dicts: mount_point, options, optional (propagation
        tags such as shared:N, master:N), fstype, source, super."""
        out = []
        for line in self.text("mountinfo",
                              "/proc/self/mountinfo").splitlines():
            left, _, right = line.partition(" - ")
            f = left.split()
            r = right.split()
            out.append({"mount_point": f[4], "options": f[5].split(","),
                        "optional": f[6:],
                        "fstype": r[0], "source": r[1] if len(r) > 1 else "",
                        "super": r[2].split(",") if len(r) > 2 else []})
        return out

    def mount_at(self, path):
        """The top-most mount at ``path`` (mountinfo lists it last); fails
        the test when there is none."""
        mounts = self.mounts()
        found = [m for m in mounts if m["mount_point"] == path]
        if not found:
            raise AssertionError(
                f"nothing mounted at {path} in the container; mount points: "
                f"{[m['mount_point'] for m in mounts]}")
        return found[-1]

    def ns_inode(self, kind):
        link = self["ns"][kind]
        return int(link.split("[", 1)[1].rstrip("]")) if link else None


def host_ns_inode(kind, pid="self"):
    return int(os.readlink(f"/proc/{pid}/ns/{kind}").split("[", 1)[1]
               .rstrip("]"))


def probe_spec(*checks, **process):
    """Default spec running the probe with ``checks`` ("verb=arg")."""
    spec = default_spec(["/probe", *checks])
    spec["process"].update(process)
    return spec
