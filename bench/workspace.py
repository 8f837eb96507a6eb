"""The on-disk world one harness run works in, and its clean-up.

Owns a private directory /tmp/pyrunsc-bench-XXXX holding:
  rootfs/   a read-only bind mount of the host root (non-recursive): the
            root of every container, so all columns see the same files
  work/     a tmpfs; each column gets work/<column>/, which containers see
            bind-mounted read-write at /tmp (natively it is used in place)
  data/     the static driver, the tar tree and the floor programs; read-only
            at /mnt in containers
  roots/    a test-only --root state dir per runtime
  bundles/  one OCI bundle per container
Everything is unmounted and removed by close(), also after a failure.
"""

import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER_SRC = os.path.join(REPO, "bench", "driver", "driver.c")
REFERENCE = os.path.normpath(os.path.join(REPO, "..", "shared", "reference"))

CONTAINER_WORK = "/tmp"
CONTAINER_DATA = "/mnt"
ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LC_ALL": "C",
}

# Capabilities of runc's default spec.
_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN",
         "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_SETGID",
         "CAP_SETUID", "CAP_SETPCAP", "CAP_MKNOD", "CAP_NET_RAW",
         "CAP_SYS_CHROOT", "CAP_SETFCAP"]


class WorkspaceError(Exception):
    """The harness could not prepare its files or mounts."""


def _mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)


class Workspace:
    """Private dirs, mounts, driver build and bundles for one run."""

    def __init__(self, tree_files=3000, driver=True):
        self.base = tempfile.mkdtemp(prefix="pyrunsc-bench-", dir="/tmp")
        self.rootfs = os.path.join(self.base, "rootfs")
        self.work = os.path.join(self.base, "work")
        self.data = os.path.join(self.base, "data")
        self.roots = os.path.join(self.base, "roots")
        self.bundles = os.path.join(self.base, "bundles")
        self.driver = os.path.join(self.data, "driver")
        self.tree_files = tree_files
        self.with_driver = driver
        self._mounted = []
        self._seq = itertools.count(1)

    # -- set-up and tear-down -------------------------------------------
    def open(self):
        for d in (self.rootfs, self.work, self.data, self.roots, self.bundles):
            os.makedirs(d, exist_ok=True)
        try:
            _mount("--bind", "/", self.rootfs)
            self._mounted.append(self.rootfs)
            _mount("--make-private", self.rootfs)
            # Read-only on the host too: nothing can write through it.
            _mount("-o", "remount,bind,ro", self.rootfs)
            _mount("-t", "tmpfs", "-o", "size=2g,mode=0755", "bench-work",
                   self.work)
            self._mounted.append(self.work)
        except subprocess.CalledProcessError as e:
            raise WorkspaceError(
                f"mounting under {self.base}: {e.stderr.decode().strip()}")
        if self.with_driver:
            self._build_driver()
            self._make_tree()
        return self

    def close(self):
        for m in reversed(self._mounted):
            subprocess.run(["umount", "-l", m], capture_output=True)
        self._mounted.clear()
        left = self._mounts_below()
        if left:
            # Never remove files through a mount (rootfs is the host root).
            print(f"bench: not removing {self.base}: still mounted: "
                  f"{', '.join(left)}", file=sys.stderr)
            return
        shutil.rmtree(self.base, ignore_errors=True)

    def _mounts_below(self):
        """Mount points at or under the run's directory."""
        found = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4].replace("\\040", " ")
                if point == self.base or point.startswith(self.base + "/"):
                    found.append(point)
        return found

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def _build_driver(self):
        r = subprocess.run(["gcc", "-O2", "-static", "-Wall", "-o",
                            self.driver, DRIVER_SRC],
                           capture_output=True, text=True)
        if r.returncode:
            raise WorkspaceError(f"building the driver: {r.stderr.strip()}")

    def _make_tree(self):
        """A tar of tree_files small files in two levels of directories."""
        path = os.path.join(self.data, "tree.tar")
        per_dir = 30
        with tarfile.open(path, "w") as tar:
            for i in range(self.tree_files):
                d, f = divmod(i, per_dir)
                name = f"src/d{d // 10:02d}/s{d % 10}/file{f:03d}.txt"
                body = (f"file {i}\n" * 20).encode()
                info = tarfile.TarInfo(name)
                info.size = len(body)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(body))

    def build_reference(self, name):
        """gcc -O2 ../shared/reference/<name>.c; the binary path or None."""
        src = os.path.join(REFERENCE, name + ".c")
        if not os.path.exists(src):
            return None
        out = os.path.join(self.data, name)
        if not os.path.exists(out):
            r = subprocess.run(["gcc", "-O2", "-o", out, src],
                               capture_output=True, text=True)
            if r.returncode:
                return None
        return out

    # -- per-column paths ------------------------------------------------
    def work_dir(self, column):
        d = os.path.join(self.work, column)
        os.makedirs(d, exist_ok=True)
        return d

    def root_dir(self, column):
        d = os.path.join(self.roots, column)
        os.makedirs(d, exist_ok=True)
        return d

    def bundle(self, column, args, cwd="/", env=None):
        """Write an OCI bundle running args; returns (bundle dir, id)."""
        cid = f"bench-{column}-{next(self._seq)}"
        bdir = os.path.join(self.bundles, cid)
        os.makedirs(bdir, exist_ok=True)
        spec = self.spec(args, self.work_dir(column))
        spec["process"]["cwd"] = cwd
        if env:
            spec["process"]["env"] += [f"{k}={v}" for k, v in env.items()]
        with open(os.path.join(bdir, "config.json"), "w") as f:
            json.dump(spec, f, indent=1)
        return bdir, cid

    def spec(self, args, work_dir):
        """runc's default spec, on the read-only host root, with our mounts."""
        return {
            "ociVersion": "1.0.2",
            "process": {
                "terminal": False,
                "user": {"uid": 0, "gid": 0},
                "args": list(args),
                "env": [f"{k}={v}" for k, v in ENV.items()],
                "cwd": "/",
                "capabilities": {k: list(_CAPS) for k in
                                 ("bounding", "effective", "permitted")},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024,
                             "soft": 1024}],
                "noNewPrivileges": True,
            },
            "root": {"path": self.rootfs, "readonly": True},
            "hostname": "bench",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "strictatime", "mode=755",
                             "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts",
                 "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance",
                             "ptmxmode=0666", "mode=0620"]},
                {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                 "options": ["nosuid", "noexec", "nodev", "mode=1777",
                             "size=65536k"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                 "options": ["nosuid", "noexec", "nodev", "ro"]},
                {"destination": CONTAINER_DATA, "type": "bind",
                 "source": self.data, "options": ["rbind", "ro"]},
                {"destination": CONTAINER_WORK, "type": "bind",
                 "source": work_dir, "options": ["rbind", "rw"]},
            ],
            "linux": {
                "namespaces": [{"type": t} for t in
                               ("pid", "network", "ipc", "uts", "mount")],
                "maskedPaths": ["/proc/kcore", "/proc/keys",
                                "/proc/timer_list", "/sys/firmware"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq",
                                  "/proc/sys", "/proc/sysrq-trigger"],
            },
        }
