"""Container: the OCI lifecycle of one container, as the CLI drives it.

Every operation is *lock → load (reconcile) → check status → act (RPC to
the sandbox) → transition → persist*, with the container's lock held
throughout (runtime/meta.py).  Status lives in ``<root>/<id>/meta.json``;
``load`` reconciles it with reality: a sandbox that is gone, or an init that
has exited, means ``stopped``.

Hooks run here, in the CLI, in the runtime's namespaces: prestart and
createRuntime during create, poststart after start, poststop on delete.
createContainer and startContainer run inside the container (runtime/init.py).
"""
import contextlib
import datetime
import json
import logging
import os
import pwd
import shutil
import socket
import time

from runtime import control, errors, hooks, meta, procs
from runtime import spec as specmod
from runtime import status as st
from runtime.sandbox import Sandbox

log = logging.getLogger(__name__)

SPEC_COPY = "spec.json"
# CRI annotations that put a container into an existing sandbox (pod).
_CONTAINER_TYPE = ("io.kubernetes.cri.container-type",
                   "io.kubernetes.cri-o.ContainerType")
_SANDBOX_ID = ("io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID")


def _now_rfc3339():
    t = time.time_ns()
    dt = datetime.datetime.fromtimestamp(t // 10**9, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{t % 10**9:09d}Z"


def _owner():
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _write_pid_file(path, pid):
    """Write ``pid`` atomically; containerd reads it as "create finished"."""
    path = os.path.abspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


def _connect_console(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise errors.SandboxError(
            f"connecting to console socket {path}: {e.strerror}") from None
    return s


class Container:
    """One container under ``config.root``.  See the module docstring."""

    def __init__(self, config, data):
        self.config = config
        self._data = data

    # Attributes read from meta.json -------------------------------------
    id = property(lambda self: self._data["id"])
    bundle = property(lambda self: self._data["bundle"])
    created = property(lambda self: self._data["created"])
    owner = property(lambda self: self._data.get("owner", ""))
    annotations = property(lambda self: self._data.get("annotations", {}))

    @property
    def status(self):
        return self._data["status"]

    @status.setter
    def status(self, value):
        self._data["status"] = value

    @property
    def pid(self):
        return self._data.get("pid") or 0

    @property
    def sandbox(self):
        sb = self._data.get("sandbox")
        return Sandbox.from_dict(sb) if sb else None

    @property
    def spec(self):
        with open(self._data["spec_path"]) as f:
            return json.load(f)

    def _save(self):
        meta.write(self.config.root, self.id, self._data)

    def _set_status(self, new):
        st.change_status(self, new)
        self._save()

    # Load / List --------------------------------------------------------
    @classmethod
    def load(cls, config, cid):
        """Load ``cid`` and reconcile its status with the running system."""
        meta.validate_id(cid)
        with meta.locked(config.root, cid):
            return cls._load_locked(config, cid)

    @classmethod
    def _load_locked(cls, config, cid):
        c = cls(config, meta.read(config.root, cid))
        c._reconcile()
        return c

    def _reconcile(self):
        """Preconditions: the container's lock is held."""
        if self.status == st.STOPPED:
            return
        sb = self.sandbox
        if sb is None or not sb.alive():
            log.debug("cid=%s sandbox gone: stopped", self.id)
            self._data["status"] = st.STOPPED
            self._save()
            return
        if self.status == st.CREATING:
            return
        if not procs.alive(self.pid, self._data.get("pid_start")):
            log.debug("cid=%s init %s gone: stopped", self.id, self.pid)
            self._set_status(st.STOPPED)

    @classmethod
    def list(cls, config):
        out = []
        for cid in meta.list_ids(config.root):
            try:
                out.append(cls.load(config, cid))
            except errors.ContainerNotFoundError:
                continue
        return out

    # Create / Start / Run -----------------------------------------------
    @classmethod
    def create(cls, config, cid, bundle, *, console_socket=None,
               pid_file=None):
        """Create ``cid`` from the bundle; its init waits for ``start``.

        On any failure nothing of the container remains.
        """
        meta.validate_id(cid)
        if config.rootless:
            raise errors.UnsupportedError("--rootless",
                                          "rootless mode is not supported yet")
        bundle = os.path.abspath(bundle)
        spec = specmod.load(bundle)
        if spec.get("process") is None:
            raise errors.InvalidSpecError("process", "is required")
        if spec["process"].get("terminal") and not console_socket:
            raise errors.SandboxError(
                "process.terminal is true: --console-socket is required")
        sandbox = None
        sandbox_id = cls._sandbox_of(spec)
        if sandbox_id is not None and sandbox_id != cid:
            owner = cls.load(config, sandbox_id)
            sandbox = owner.sandbox
            if sandbox is None or not sandbox.alive():
                raise errors.InvalidStateError(
                    "join the sandbox of", sandbox_id, owner.status)
        cdir = meta.create_dir(config.root, cid)
        try:
            with meta.locked(config.root, cid):
                return cls._create_locked(config, cid, bundle, spec, cdir,
                                          console_socket, pid_file, sandbox)
        except BaseException:
            cls(config, {"id": cid, "spec_path": os.path.join(cdir, SPEC_COPY),
                         "config": config.to_dict()})._cleanup_host()
            meta.remove_dir(config.root, cid)
            raise

    @staticmethod
    def _sandbox_of(spec):
        ann = specmod.annotations(spec)
        if any(ann.get(k) == "container" for k in _CONTAINER_TYPE):
            for k in _SANDBOX_ID:
                if ann.get(k):
                    return ann[k]
        return None

    @classmethod
    def _create_locked(cls, config, cid, bundle, spec, cdir, console_socket,
                       pid_file, sandbox=None):
        spec_path = os.path.join(cdir, SPEC_COPY)
        meta.write_json_atomic(spec_path, spec)
        c = cls(config, {
            "id": cid, "bundle": bundle, "spec_path": spec_path,
            "status": st.CREATING, "created": _now_rfc3339(),
            "owner": _owner(), "pid": 0, "pid_start": None, "sandbox": None,
            "annotations": specmod.annotations(spec),
            "config": config.to_dict(),
        })
        c._save()
        log.debug("cid=%s creating from %s", cid, bundle)

        def on_hooks(pid):
            c._data["pid"] = pid
            c._hooks_started = True
            state = c.state()
            hooks.run_all(specmod.hooks(spec, "prestart"), state, "prestart")
            hooks.run_all(specmod.hooks(spec, "createRuntime"), state,
                          "createRuntime")

        console = _connect_console(console_socket) if console_socket else None
        console_fd = console.fileno() if console else None
        c._hooks_started = False
        try:
            if sandbox is None:
                sb, pid, sync = Sandbox.create(config, cid, bundle, cdir,
                                               console_fd=console_fd,
                                               on_hooks=on_hooks)
            else:
                sb = sandbox
                pid, sync = sb.create_container(cid, bundle,
                                                console_fd=console_fd,
                                                on_hooks=on_hooks)
        except errors.SandboxError:
            if c._hooks_started:
                # "continue the lifecycle at step 12" - runtime.md: a
                # container that failed after its hooks began is destroyed,
                # and destroying runs poststop.
                state = c.state()
                state["status"] = st.STOPPED
                hooks.run_all(specmod.hooks(spec, "poststop"), state,
                              "poststop", warn_only=True)
            raise
        finally:
            if console:
                console.close()
        with sync:
            try:
                c._data.update(pid=pid, pid_start=procs.start_time(pid),
                               sandbox=sb.to_dict(),
                               cgroup=getattr(sb, "created_info", {}).get(
                                   "cgroup"))
                c._set_status(st.CREATED)
                if pid_file:
                    _write_pid_file(pid_file, pid)
                control.send_msg(sync, {"type": "done"})
            except BaseException:
                if sandbox is None:
                    sb.kill()
                if pid_file:
                    with contextlib.suppress(OSError):
                        os.unlink(pid_file)
                raise
        log.debug("cid=%s created, pid %d", cid, pid)
        return c

    def start(self):
        with meta.locked(self.config.root, self.id):
            self._data = meta.read(self.config.root, self.id)
            self._reconcile()
            st.require_status("start", self, st.CREATED)
            self.sandbox.call("start", {"cid": self.id})
            self._set_status(st.RUNNING)
            log.debug("cid=%s started", self.id)
            hooks.run_all(specmod.hooks(self.spec, "poststart"), self.state(),
                          "poststart", warn_only=True)

    @classmethod
    def run(cls, config, cid, bundle, *, console_socket=None, pid_file=None,
            detach=False):
        """create + start; unless ``detach``, wait and delete.

        Returns the exit status of the container's init (0 when detached).
        """
        c = cls.create(config, cid, bundle, console_socket=console_socket,
                       pid_file=pid_file)
        try:
            c.start()
        except BaseException:
            with contextlib.suppress(errors.SandboxError):
                c.destroy(force=True)
            raise
        if detach:
            return 0
        try:
            return c.wait()
        finally:
            with contextlib.suppress(errors.ContainerNotFoundError):
                c.destroy(force=True)

    # Queries ------------------------------------------------------------
    def state(self):
        """The OCI state (runtime-spec runtime.md "State")."""
        d = self._data
        out = {"ociVersion": self._oci_version(), "id": self.id,
               "status": self.status, "bundle": self.bundle,
               "rootfs": "", "created": self.created, "owner": self.owner}
        if self.status in (st.CREATED, st.RUNNING, st.PAUSED, st.CREATING):
            out["pid"] = d.get("pid") or 0
        if d.get("annotations"):
            out["annotations"] = d["annotations"]
        try:
            out["rootfs"] = specmod.rootfs(self.spec, self.bundle)
        except (OSError, KeyError, ValueError):
            out.pop("rootfs")
        return out

    def _oci_version(self):
        try:
            return self.spec.get("ociVersion", "1.0.2")
        except OSError:
            return "1.0.2"

    def _call(self, method, args=None, fds=(), timeout=None):
        sb = self.sandbox
        if sb is None:
            raise errors.InvalidStateError(method, self.id, self.status)
        a = {"cid": self.id}
        a.update(args or {})
        return sb.call(method, a, fds, timeout)

    def wait(self):
        """Block until init exits; its exit status (128+N for signal N)."""
        if self.status == st.STOPPED:
            res = self._try_call("state") or {}
            ex = res.get("exit_status")
            if ex is None:
                raise errors.SandboxError(
                    f'container "{self.id}" has stopped and its exit status '
                    "is no longer known")
            return ex
        try:
            res = self._call("wait")
        except errors.ControlError:
            # The sandbox died: its init died with it.
            return 128 + 9
        return res["exit_status"]

    def _try_call(self, method, args=None):
        try:
            return self._call(method, args)
        except errors.SandboxError:
            return None

    def wait_pid(self, pid):
        res = self._call("wait_pid", {"pid": pid})
        return res["exit_status"]

    def processes(self):
        if self.status == st.STOPPED:
            return []
        return self._call("processes")

    def event(self):
        st.require_status("get stats of", self, st.RUNNING, st.PAUSED,
                          st.CREATED)
        return {"type": "stats", "id": self.id, "data": self._call("stats")}

    # Signals, exec ------------------------------------------------------
    def signal(self, sig, all=False):
        with meta.locked(self.config.root, self.id):
            self._data = meta.read(self.config.root, self.id)
            self._reconcile()
            if not st.can_kill(self.status) and not all:
                raise errors.InvalidStateError("signal", self.id, self.status)
            if self.status == st.STOPPED:
                return
            self._call("signal", {"signal": int(sig), "all": bool(all)})

    def signal_process(self, pid, sig):
        self._call("signal_process", {"pid": int(pid), "signal": int(sig)})

    def execute(self, process, *, console_socket=None, detach=False,
                pid_file=None, stdio=(0, 1, 2)):
        """Run ``process`` in the container; its exit status, 0 if detached."""
        with meta.locked(self.config.root, self.id):
            self._data = meta.read(self.config.root, self.id)
            self._reconcile()
            if not st.can_exec(self.status):
                raise errors.InvalidStateError("exec in", self.id,
                                               self.status)
        specmod.validate_process(process, "process")
        if process.get("terminal") and not console_socket:
            raise errors.SandboxError(
                "process.terminal is true: --console-socket is required")
        console = _connect_console(console_socket) if console_socket else None
        try:
            fds = list(stdio) + ([console.fileno()] if console else [])
            res = self._call("exec", {"process": process,
                                      "console": console is not None}, fds)
        finally:
            if console:
                console.close()
        pid = res["pid"]
        if pid_file:
            _write_pid_file(pid_file, pid)
        if detach:
            return 0
        return self.wait_pid(pid)

    def update(self, resources):
        """Apply ``resources`` (linux.resources fields) to the cgroup."""
        with meta.locked(self.config.root, self.id):
            self._data = meta.read(self.config.root, self.id)
            self._reconcile()
            st.require_status("update", self, st.CREATED, st.RUNNING,
                              st.PAUSED)
            self._call("update", {"resources": resources})

    # Pause / Resume -----------------------------------------------------
    def pause(self):
        with meta.locked(self.config.root, self.id):
            self._data = meta.read(self.config.root, self.id)
            self._reconcile()
            st.require_status("pause", self, st.RUNNING)
            self._call("pause")
            self._set_status(st.PAUSED)

    def resume(self):
        with meta.locked(self.config.root, self.id):
            self._data = meta.read(self.config.root, self.id)
            self._reconcile()
            st.require_status("resume", self, st.PAUSED)
            self._call("resume")
            self._set_status(st.RUNNING)

    # Destroy ------------------------------------------------------------
    def destroy(self, force=False):
        """Delete the container: kill what runs, free everything, poststop.

        Without ``force`` only a created or stopped container may be deleted
        (runtime.md: "Attempting to delete a container that is not stopped
        MUST have no effect on the container and MUST generate an error").
        """
        with meta.locked(self.config.root, self.id):
            self._data = meta.read(self.config.root, self.id)
            self._reconcile()
            if not force and not st.can_delete(self.status):
                raise errors.InvalidStateError("delete", self.id, self.status)
            self._teardown()
            try:
                spec = self.spec
            except OSError:
                spec = {}
            state = self.state()
            state["status"] = st.STOPPED
            meta.remove_dir(self.config.root, self.id)
        log.debug("cid=%s deleted", self.id)
        hooks.run_all(specmod.hooks(spec, "poststop"), state, "poststop",
                      warn_only=True)

    def _teardown(self):
        """Stop the sandbox's side of the container and free host state.

        Preconditions: the container's lock is held.
        """
        sb = self.sandbox
        if sb is not None and sb.alive():
            try:
                sb.call("destroy", {"cid": self.id}, timeout=30)
            except errors.SandboxError as e:
                if sb.id != self.id:
                    raise
                log.warning("cid=%s destroy RPC failed (%s): killing the "
                            "sandbox", self.id, e)
            if sb.id != self.id:
                self._cleanup_host()
                return
            sb.wait_exit(5)
            if sb.alive():
                sb.kill()
        self._cleanup_host()

    def _cleanup_host(self):
        """Remove what a dead sandbox may have left: cgroups, processes."""
        try:
            from runtime.cgroups import Cgroup
            if self._data.get("cgroup"):
                cg = Cgroup.from_dict(self._data["cgroup"])
            else:
                # Created by a boot that never reported it: the same rule
                # boot applied, for an absolute or default cgroupsPath.
                cg = Cgroup.for_spec(self.id, self.spec,
                                     self._data.get("config", {}).get(
                                         "systemd_cgroup", False))
            cg.destroy()
        except errors.SandboxError as e:
            log.warning("cid=%s removing cgroup: %s", self.id, e)
        except (OSError, ImportError, ValueError) as e:
            log.debug("cid=%s cgroup cleanup: %s", self.id, e)
