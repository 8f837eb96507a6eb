"""The columns of the benchmark: one Runtime per way of running the driver.

A column is native (the driver run directly) or an OCI runtime driven by
its runc-compatible CLI: runc, runsc (Debian 12, ptrace), runsc-new with
systrap (directfs, and its gofer mode), and the pyrunsc platforms.  Every
container runtime goes through OciRuntime, so a new one is one entry in
make_columns().  A column whose binary is missing or that fails the smoke
test is skipped with a note, never an error.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from . import procmem
from .workspace import CONTAINER_DATA, CONTAINER_WORK, ENV, REPO

RUNSC_NEW = "/opt/anchors/runsc-new/runsc"


class RunResult:
    """What one driver run printed."""

    def __init__(self, rc, stdout, stderr, seconds):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.seconds = seconds

    def results(self):
        """{name: ns} from the driver's `R name ns n` lines."""
        out = {}
        for line in self.stdout.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == "R":
                out[parts[1]] = float(parts[2])
        return out

    def errors(self):
        """['name: errno N (what)'] from the driver's `E` lines."""
        errs = []
        for line in self.stdout.splitlines():
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[0] == "E":
                what = parts[3] if len(parts) > 3 else ""
                errs.append(f"{parts[1]}: errno {parts[2]} ({what})")
        return errs

    def tail(self, n=3):
        lines = (self.stderr or "").strip().splitlines()
        return " | ".join(lines[-n:]) or f"exit {self.rc}"


class Runtime:
    """One column.  Subclasses say how to run argv in a fresh container."""

    name = "?"
    container = True

    def __init__(self, name):
        self.name = name
        self.note = ""

    def missing(self):
        """A reason this column cannot run here, or None."""
        return None

    def version(self):
        return ""

    def driver_args(self, ws):
        return [f"{CONTAINER_DATA}/driver", "--work", CONTAINER_WORK,
                "--data", CONTAINER_DATA]

    def run(self, ws, argv, timeout):
        raise NotImplementedError

    def run_driver(self, ws, args, timeout):
        return self.run(ws, self.driver_args(ws) + list(args), timeout)

    def smoke(self, ws):
        """None when the driver runs and reports; else why not."""
        try:
            r = self.run_driver(ws, ["--target-ms", "1", "micro", "getpid",
                                     "stat3"], timeout=60)
        except subprocess.TimeoutExpired:
            return "smoke test timed out"
        except OSError as e:
            return f"smoke test: {e}"
        res = r.results()
        if r.rc != 0 or "getpid" not in res or "stat3" not in res:
            return f"smoke test failed: {'; '.join(r.errors()) or r.tail()}"
        return None

    def cleanup(self, ws):
        pass


class Native(Runtime):
    """The driver run directly on the host: the baseline."""

    container = False

    def driver_args(self, ws):
        return [ws.driver, "--work", ws.work_dir(self.name), "--data", ws.data]

    def version(self):
        return os.uname().release

    def run(self, ws, argv, timeout):
        t0 = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, env=ENV, cwd="/")
        return RunResult(p.returncode, p.stdout, p.stderr,
                         time.perf_counter() - t0)

    def time_run_true(self, ws):
        """The native counterpart of `run /bin/true`: spawn it and wait."""
        t0 = time.perf_counter()
        subprocess.run(["/bin/true"], check=True, env=ENV)
        return time.perf_counter() - t0


class OciRuntime(Runtime):
    """A runc-compatible CLI: `<cmd> --root R <flags> run --bundle B ID`."""

    def __init__(self, name, command, flags=(), own_processes=True, env=None):
        super().__init__(name)
        self.env = dict(os.environ, **env) if env else None
        self.command = list(command)
        self.flags = list(flags)
        # runc leaves no process of its own behind a running container.
        self.own_processes = own_processes
        self._live = set()

    def missing(self):
        exe = self.command[0]
        if os.path.isabs(exe):
            return None if os.access(exe, os.X_OK) else f"{exe} not found"
        return None if shutil.which(exe) else f"{exe} not on PATH"

    def version(self):
        try:
            p = subprocess.run(self.command + ["--version"],
                               capture_output=True, text=True, timeout=20,
                               env=self.env)
            if p.returncode:
                return "?"
            return p.stdout.strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "?"

    def cli(self, ws, *args):
        return (self.command + ["--root", ws.root_dir(self.name)] + self.flags
                + list(args))

    def run(self, ws, argv, timeout, cwd="/", env=None, capture=True):
        """Run argv in a fresh container; capture=False passes stdio on."""
        bdir, cid = ws.bundle(self.name, argv, cwd=cwd, env=env)
        t0 = time.perf_counter()
        self._live.add(cid)
        try:
            p = subprocess.run(self.cli(ws, "run", "--bundle", bdir, cid),
                               capture_output=capture, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL,
                               env=self.env)
            dt = time.perf_counter() - t0
        finally:
            self.delete(ws, cid)
        return RunResult(p.returncode, p.stdout, p.stderr, dt)

    def delete(self, ws, cid):
        subprocess.run(self.cli(ws, "delete", "--force", cid),
                       capture_output=True, timeout=60, env=self.env)
        self._live.discard(cid)

    def create_start(self, ws, argv):
        """Create and start a detached container; returns its id."""
        bdir, cid = ws.bundle(self.name, argv)
        self._live.add(cid)
        # The container inherits stdio: a pipe would never see EOF.
        log = os.path.join(ws.base, f"{cid}.stderr")
        for args in (("create", "--bundle", bdir, cid), ("start", cid)):
            with open(log, "w+") as err:
                p = subprocess.run(self.cli(ws, *args),
                                   stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err,
                                   timeout=120, env=self.env)
                if p.returncode:
                    err.seek(0)
                    raise RuntimeError(f"{self.name} {args[0]} {cid}: "
                                       f"{err.read().strip()[-300:]}")
        return cid

    def time_run_true(self, ws):
        r = self.run(ws, ["/bin/true"], timeout=120)
        if r.rc:
            raise RuntimeError(f"{self.name} run /bin/true: {r.tail()}")
        return r.seconds

    def time_create_start_delete(self, ws):
        t0 = time.perf_counter()
        cid = self.create_start(ws, ["/bin/true"])
        self.delete(ws, cid)
        return time.perf_counter() - t0

    def idle_memory(self, ws, count):
        """(RSS KiB, PSS KiB) of the runtime's own processes, count idle.

        Containers are created a few at a time in parallel (start-up is
        measured elsewhere); memory is read once all are idle.
        """
        argv = [f"{CONTAINER_DATA}/driver", "idle"]
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(self.create_start, ws, argv)
                       for _ in range(count)]
        ids = [f.result() for f in futures if not f.exception()]
        try:
            for f in futures:
                f.result()  # the first failure, if any
            time.sleep(1.0)
            if not self.own_processes:
                return 0, 0
            pids = procmem.runtime_pids(ws.root_dir(self.name), ws.driver)
            return procmem.memory(pids)
        finally:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda cid: self.delete(ws, cid), ids))

    def cleanup(self, ws):
        for cid in list(self._live):
            try:
                self.delete(ws, cid)
            except subprocess.TimeoutExpired:
                pass
        # Anything still running from our private --root dir is ours.
        for pid in procmem.runtime_pids(ws.root_dir(self.name), None):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# `make install` puts a launcher here that skips site processing; a
# console script found on PATH first (e.g. a pyenv shim, a bash script that
# execs another one) would add its own start-up to every CLI call.
FAST_LAUNCHER = "/usr/local/bin/pyrunsc"


def _pyrunsc_command():
    if os.access(FAST_LAUNCHER, os.X_OK):
        return [FAST_LAUNCHER]
    exe = shutil.which("pyrunsc")
    if exe:
        return [exe]
    return [sys.executable, "-c",
            f"import sys; sys.path.insert(0, {REPO!r}); "
            "from cli.main import main; sys.exit(main())"]


def make_columns():
    """Every known column, in report order (not yet probed)."""
    py = _pyrunsc_command()
    # An uninstalled checkout still finds its packages in boot and gofer.
    pyenv = {"PYTHONPATH": REPO + (os.pathsep + os.environ["PYTHONPATH"]
                                   if os.environ.get("PYTHONPATH") else "")}
    return [
        Native("native"),
        OciRuntime("runc", ["runc"], own_processes=False),
        OciRuntime("runsc", ["runsc"],
                   ["--network=none", "--platform=ptrace"]),
        OciRuntime("runsc-systrap", [RUNSC_NEW],
                   ["--network=none", "--platform=systrap"]),
        OciRuntime("runsc-systrap-gofer", [RUNSC_NEW],
                   ["--network=none", "--platform=systrap",
                    "--directfs=false", "--overlay2=none"]),
        OciRuntime("pyrunsc-ptrace", py, ["--platform", "ptrace"], env=pyenv),
        OciRuntime("pyrunsc-seccomp", py, ["--platform", "seccomp"],
                   env=pyenv),
        OciRuntime("pyrunsc-directfs", py,
                   ["--platform", "seccomp", "--directfs"], env=pyenv),
    ]


COLUMN_NAMES = [c.name for c in make_columns()]
