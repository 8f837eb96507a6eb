"""The boot process: one per sandbox; hosts the sentry and serves control RPC.

``main`` is ``pyrunsc boot``.  It creates the first container (the sync
protocol of docs/architecture.md with the CLI on ``--sync-fd`` and with the
container's init), then serves the control socket until the last container
of the sandbox is destroyed.

Boot is a child subreaper, so every container process it spawns is its
child; the reaper (or the ptrace platform's loop) is its only waitpid
caller.
"""
import json
import logging
import os
import signal
import socket
import threading

from runtime import control, errors, netutil, procs, status as st
from runtime import spec as specmod
from runtime.reaper import Reaper, exit_code
from sentry import _sys
from sentry.fs import devfs

log = logging.getLogger(__name__)


class _Container:
    """What boot knows of one container of its sandbox."""

    def __init__(self, cid, bundle, spec, cgroup):
        self.id = cid
        self.bundle = bundle
        self.spec = spec
        self.cgroup = cgroup
        self.handle = None          # init handle while created
        self.pid = None             # host pid of the container's init
        self.status = st.CREATING
        self.exit_status = None     # wait status of init
        self.lock = threading.Lock()
        self.gofer = None           # runtime.gofer_proc.Gofer
        self.view = None            # the sentry's view of its files
        self.overlay = False

    def oci_state(self):
        return {"ociVersion": self.spec.get("ociVersion", "1.0.2"),
                "id": self.id, "status": self.status,
                "pid": self.pid or 0, "bundle": self.bundle,
                "annotations": specmod.annotations(self.spec)}


class Boot:
    def __init__(self, config, sandbox_id):
        self.config = config
        self.id = sandbox_id
        self.containers = {}
        self.reaper = Reaper()
        self.platform = None
        self.server = None
        self.done = threading.Event()
        self.spare_gofer = None     # runtime.gofer_proc.Spare, until used

    def fork_spare_gofer(self):
        """Fork the first container's gofer now, while boot has no thread
        (see runtime/gofer_proc.py); not with --directfs or no platform."""
        if self.config.directfs or self.config.platform == "none":
            return
        from runtime import gofer_proc
        self.spare_gofer = gofer_proc.fork_spare(self.config)
        self.reaper.watch(self.spare_gofer.pid)

    def discard_spare_gofer(self):
        spare, self.spare_gofer = self.spare_gofer, None
        if spare is not None:
            spare.discard()
            for sock in spare.socks:
                sock.close()

    # -- set-up -----------------------------------------------------------
    def start_platform(self):
        """Start the sentry's platform, or the plain reaper without one."""
        name = self.config.platform
        try:
            from sentry import platform as platforms
            self.platform = platforms.new(
                name, root_fd=None, strace=self.config.strace,
                strace_syscalls=_csv(self.config.strace_syscalls),
                log=logging.getLogger("sentry"), on_exit=self.reaper.exited)
        except ImportError:
            # N.B. the sentry is not built in yet: the app runs uninterposed.
            log.warning("platform %s unavailable: running without the sentry",
                        name)
            self.platform = None
        if self.platform is None or not self.platform.owns_wait:
            self.reaper.start()

    def _child_hook(self):
        return self.platform.child_hook if self.platform else None

    def create_container(self, cid, bundle, *, stdio, console_fd, cli):
        """Create container ``cid`` and leave its init waiting for start.

        ``cli`` is the sync socket to the creating CLI: it runs the
        prestart/createRuntime hooks when asked.
        """
        from runtime import init
        from runtime.cgroups import Cgroup
        spec = specmod.load(bundle)
        cgroup = Cgroup.for_spec(cid, spec, self.config.systemd_cgroup)
        c = _Container(cid, bundle, spec, cgroup)
        self.containers[cid] = c
        if self.config.overlay:
            from runtime import gofer_proc
            c.overlay = True
            spec.setdefault("root", {})["path"] = gofer_proc.overlay_root(
                spec, bundle, self._state_dir(c))
        cgroup.create(_resources_with_default_devices(spec))
        netns = None
        if self.config.network == "host":
            netns = f"/proc/{os.getpid()}/ns/net"
        elif self.config.network == "none":
            # A network namespace of its own, whatever the spec says.
            linux = spec.setdefault("linux", {})
            linux["namespaces"] = [n for n in linux.get("namespaces") or []
                                   if n.get("type") != "network"]
            linux["namespaces"].append({"type": "network"})
        new_netns = any(n.get("type") == "network" and not n.get("path")
                        for n in (spec.get("linux") or {}).get("namespaces")
                        or []) and netns is None
        c.handle = init.spawn_init(spec, bundle, cid, stdio=stdio,
                                   console_fd=console_fd,
                                   child_hook=self._child_hook(),
                                   netns_path=netns)
        self._preload_view_modules()
        while True:
            msg = c.handle.recv()
            if msg is None:
                raise errors.ProcessError(
                    "container init exited during create")
            t = msg.get("type")
            if t == "userns":
                # A new user namespace waits for its uid/gid maps.
                c.handle.write_id_maps()
                c.handle.send({"type": "continue"})
            elif t == "pid":
                c.pid = msg["pid"]
                self.reaper.watch(c.pid, lambda s, c=c: self._init_exited(c, s))
                cgroup.add_pid(c.pid)
                if new_netns:
                    netutil.loopback_up(c.pid)
                c.handle.send({"type": "continue"})
            elif t == "createRuntime":
                control.send_msg(cli, {"type": "hooks", "pid": c.pid})
                reply, _ = control.recv_msg(cli)
                if reply is None or reply.get("type") != "continue":
                    raise errors.HookError(
                        (reply or {}).get("message", "create aborted"))
                c.handle.send({"type": "continue", "state": c.oci_state()})
            elif t == "created":
                c.status = st.CREATED
                self._start_gofer(c)
                return c
            elif t == "error":
                raise errors.ProcessError(msg.get("message", "init failed"),
                                          stage=msg.get("stage"))
            else:
                raise errors.ControlError(f"unexpected init message {t!r}")

    def _preload_view_modules(self):
        """Import what ``start`` needs for the container's view now, while
        the container's init sets itself up: boot waits for it anyway
        (~15 ms of imports off the start path)."""
        if self.platform is not None:
            from runtime import gofer  # noqa: F401 - bind_mounts
            from sentry.fs import mounts  # noqa: F401

    def _init_exited(self, c, status):
        log.debug("cid=%s init %d exited: %s", c.id, c.pid, exit_code(status))
        c.exit_status = status
        c.status = st.STOPPED

    # -- control RPC handlers --------------------------------------------
    def _get(self, args):
        cid = args.get("cid")
        c = self.containers.get(cid)
        if c is None:
            raise errors.ContainerNotFoundError(cid)
        return c

    def rpc_start(self, args, fds):
        c = self._get(args)
        with c.lock:
            if c.status != st.CREATED or c.handle is None:
                raise errors.InvalidStateError("start", c.id, c.status)
            c.status = st.RUNNING
            state = c.oci_state()
            c.handle.send({"type": "start", "state": state})
            msg = self._until_exec(c.pid, c.handle, c)
            c.handle.close()
            c.handle = None
            if msg is not None and msg.get("type") == "error":
                c.status = st.STOPPED
                raise errors.ProcessError(msg.get("message", "start failed"),
                                          stage=msg.get("stage"))
        log.debug("cid=%s started pid %d", c.id, c.pid)
        return {"pid": c.pid}

    def _until_exec(self, pid, handle, c=None):
        """Follow a child to its execve: None when it exec'd, else the error.

        On the way the platform's child hook asks boot to attach the sentry
        (``{"type": "platform"}`` with the listener fd for seccomp).
        """
        while True:
            msg = handle.recv()
            if msg is None or msg.get("type") != "platform":
                return msg
            fds = msg.pop("_fds", [])
            try:
                self.platform.attach(pid, msg, fds, view=self._view(c))
            finally:
                for fd in fds:
                    os.close(fd)
            handle.send({"type": "continue"})

    # -- the container's files: gofer and view (issue 4) -------------------
    def _state_dir(self, c):
        return os.path.join(self.config.root, c.id)

    def _start_gofer(self, c):
        """The container's gofer (not with --directfs or without a sentry)."""
        if self.platform is None or self.config.directfs:
            return
        from runtime import gofer_proc
        spare, self.spare_gofer = self.spare_gofer, None
        if spare is not None and self.reaper.status(spare.pid) is not None:
            self.reaper.forget(spare.pid)       # it died unused
            spare.discard()
            spare = None
        c.gofer = gofer_proc.start(self.config, c.bundle, c.spec,
                                   self._state_dir(c), spare=spare)
        self.reaper.watch(c.gofer.pid,
                          lambda s, c=c: self._gofer_exited(c, s))

    def _view(self, c):
        """The sentry's view of ``c``'s files (mount table from its init's
        mountinfo, gofer connections), made at the first attach."""
        if c is None or self.platform is None:
            return None
        if c.view is None:
            from sentry.fs import mounts as fsmounts
            ctx = {"cid": c.id, "devices": list(
                ((c.spec.get("linux") or {}).get("resources") or {})
                .get("devices") or [])}
            for key in ("memory_limit", "cpu_quota"):
                try:
                    ctx[key] = getattr(c.cgroup, key)()
                except (OSError, AttributeError, ValueError):
                    ctx[key] = None
            from runtime import gofer as gofer_mod
            points = [m["destination"]
                      for _, m in gofer_mod.bind_mounts(c.spec)]
            c.view = fsmounts.new_view(
                c.pid, c.gofer.socks if c.gofer else None, ctx_args=ctx,
                log=logging.getLogger("sentry"), gofer_points=points,
                dcache=self.config.dcache)
        return c.view

    def _gofer_exited(self, c, status):
        """gVisor: "Gofer socket disconnected, killing container"."""
        if c.gofer is None or c.gofer.stopping:
            return
        log.error("cid=%s gofer exited (%s): killing the container", c.id,
                  exit_code(status))

        def kill():
            for pid in self._container_pids(c):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if c.handle is not None and c.pid:
                try:
                    os.kill(c.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        threading.Thread(target=kill, name="gofer-died", daemon=True).start()

    def _stop_gofer(self, c):
        """Close the gofer's connections (it exits), drop --overlay."""
        g = c.gofer
        if g is not None:
            g.stopping = True
            if c.view is not None:
                log.info("cid=%s dentry cache: %s", c.id,
                         json.dumps(c.view.dcache_stats()))
                c.view.close()
            for sock in g.socks:
                sock.close()
            if self.reaper.wait(g.pid, 5) is None:
                g.kill()
                self.reaper.wait(g.pid, 5)
            self.reaper.forget(g.pid)
        if c.overlay:
            from runtime import gofer_proc
            gofer_proc.drop_overlay(self._state_dir(c))

    def rpc_state(self, args, fds):
        c = self._get(args)
        ex = c.exit_status
        return {"status": c.status, "pid": c.pid,
                "exit_status": None if ex is None else exit_code(ex)}

    def rpc_wait(self, args, fds):
        c = self._get(args)
        status = self.reaper.wait(c.pid, args.get("timeout"))
        return {"exit_status": None if status is None else exit_code(status)}

    def rpc_wait_pid(self, args, fds):
        self._get(args)
        status = self.reaper.wait(int(args["pid"]), args.get("timeout"))
        if status is None:
            return {"exit_status": None}
        self.reaper.forget(int(args["pid"]))
        return {"exit_status": exit_code(status)}

    def _container_pids(self, c):
        """Host pids of ``c``: its pid namespace, narrowed to its cgroup.

        Containers of a pod may share a pid namespace; the cgroup tells
        them apart.
        """
        pids = set(procs.list_in_pidns(c.pid)) if c.pid else set()
        try:
            in_cgroup = set(c.cgroup.pids())
        except OSError:
            in_cgroup = set()
        if in_cgroup:
            pids = (pids & in_cgroup) if pids else in_cgroup
        return sorted(pids)

    def rpc_signal(self, args, fds):
        c = self._get(args)
        sig = int(args["signal"])
        if c.status in (st.STOPPED,) or c.pid is None:
            raise errors.InvalidStateError("signal", c.id, c.status)
        targets = self._container_pids(c) if args.get("all") else [c.pid]
        for pid in targets:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if sig == signal.SIGKILL and c.status == st.PAUSED:
            c.cgroup.thaw()
        return None

    def rpc_signal_process(self, args, fds):
        c = self._get(args)
        pid = int(args["pid"])
        if pid not in self._container_pids(c):
            raise errors.SandboxError(f"process {pid} is not in container "
                                      f"{c.id}")
        os.kill(pid, int(args["signal"]))
        return None

    def rpc_processes(self, args, fds):
        c = self._get(args)
        return procs.describe(self._container_pids(c))

    def rpc_stats(self, args, fds):
        c = self._get(args)
        return c.cgroup.stats()

    def rpc_update(self, args, fds):
        c = self._get(args)
        with c.lock:
            if c.status == st.STOPPED:
                raise errors.InvalidStateError("update", c.id, c.status)
            c.cgroup.apply(args.get("resources") or {})
        return None

    def rpc_pause(self, args, fds):
        c = self._get(args)
        with c.lock:
            if c.status != st.RUNNING:
                raise errors.InvalidStateError("pause", c.id, c.status)
            c.cgroup.freeze()
            c.status = st.PAUSED
        return None

    def rpc_resume(self, args, fds):
        c = self._get(args)
        with c.lock:
            if c.status != st.PAUSED:
                raise errors.InvalidStateError("resume", c.id, c.status)
            c.cgroup.thaw()
            c.status = st.RUNNING
        return None

    def rpc_exec(self, args, fds):
        from runtime import execproc
        c = self._get(args)
        if c.status not in (st.CREATED, st.RUNNING) or c.pid is None:
            raise errors.InvalidStateError("exec in", c.id, c.status)
        process = args["process"]
        specmod.validate_process(process, "process")
        if len(fds) < 3:
            raise errors.ControlError("exec needs the three stdio fds")
        console_fd = fds[3] if args.get("console") and len(fds) > 3 else None
        h = execproc.spawn_exec(c.pid, c.spec, process, stdio=tuple(fds[:3]),
                                console_fd=console_fd,
                                cgroup_procs=c.cgroup.procs_files(),
                                child_hook=self._child_hook())
        self.reaper.watch(h.pid)
        msg = self._until_exec(h.pid, h, c)
        h.close()
        if msg is not None and msg.get("type") == "error":
            self.reaper.wait(h.pid, 5)
            self.reaper.forget(h.pid)
            raise errors.ProcessError(msg.get("message", "exec failed"),
                                      stage=msg.get("stage"))
        log.debug("cid=%s exec pid %d: %s", c.id, h.pid, process["args"])
        return {"pid": h.pid}

    def rpc_create_container(self, args, fds, conn):
        """A container joining this sandbox (a pod's second container).

        Runs the create protocol of the first container on this RPC
        connection: hooks requests, then ``created`` and the CLI's ``done``.
        """
        cid = args["cid"]
        if cid in self.containers:
            raise errors.ContainerExistsError(cid)
        if len(fds) < 3:
            raise errors.ControlError("create_container needs three stdio fds")
        console_fd = fds[3] if args.get("console") and len(fds) > 3 else None
        try:
            c = self.create_container(cid, args["bundle"],
                                      stdio=tuple(fds[:3]),
                                      console_fd=console_fd, cli=conn)
            control.send_msg(conn, {"type": "created", "pid": c.pid,
                                    "cgroup": c.cgroup.to_dict()})
            reply, _ = control.recv_msg(conn)
            if reply is None or reply.get("type") != "done":
                raise errors.SandboxError("the creating CLI went away")
        except BaseException:
            c = self.containers.get(cid)
            if c is not None:
                self.destroy_container(c)
            raise
        return {"pid": c.pid}

    rpc_create_container.wants_conn = True

    def rpc_destroy(self, args, fds):
        c = self._get(args)
        if c.id == self.id:
            # The sandbox's own container goes last and takes the rest.
            for other in list(self.containers.values()):
                if other is not c:
                    self.destroy_container(other)
        self.destroy_container(c)
        if not self.containers:
            # Exit only once the caller has its answer.
            return control.Reply(None, then=self.done.set)
        return None

    def destroy_container(self, c):
        """Kill every process of ``c``, wait for init, remove its cgroup."""
        with c.lock:
            if c.handle is not None:
                c.handle.kill()
                c.handle.close()
                c.handle = None
            if c.status == st.PAUSED:
                try:
                    c.cgroup.thaw()
                except OSError:
                    pass
            for pid in self._container_pids(c):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if c.pid:
                self.reaper.wait(c.pid, 10)
            c.cgroup.destroy()
            self._stop_gofer(c)
            c.status = st.STOPPED
            self.containers.pop(c.id, None)

    # -- main loop --------------------------------------------------------
    def serve(self, sock_path):
        handlers = {name[4:]: getattr(self, name) for name in dir(self)
                    if name.startswith("rpc_")}
        self.server = control.Server(sock_path, handlers)
        threading.Thread(target=self.server.serve_forever, name="control",
                         daemon=True).start()


def _resources_with_default_devices(spec):
    """linux.resources with the default devices and linux.devices allowed."""
    linux = spec.get("linux") or {}
    res = dict(linux.get("resources") or {})
    rules = list(res.get("devices") or [])
    if not rules:
        return res or None
    # runc's defaults: what every container may use whatever its spec's
    # rules say (mknod of anything, the default devices, the ptys).
    rules += [dict(r) for r in devfs.DEFAULT_RULES]
    for d in linux.get("devices") or []:
        if d.get("type") in ("c", "b"):
            rules.append({"allow": True, "type": d["type"],
                          "major": d.get("major"), "minor": d.get("minor"),
                          "access": "rwm"})
    res["devices"] = rules
    return res


def _csv(s):
    return set(x.strip() for x in s.split(",") if x.strip()) if s else None


def _quiet_stdio():
    """Boot's own fds 0-2 go to /dev/null once the app has its copies."""
    fd = os.open("/dev/null", os.O_RDWR)
    for i in range(3):
        os.dup2(fd, i)
    if fd > 2:
        os.close(fd)


def main(config, cid, bundle, sync_fd, console_fd=None):
    """``pyrunsc boot``: create container ``cid`` and serve until destroyed."""
    _sys.set_child_subreaper()
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    cli = socket.socket(fileno=sync_fd)
    cdir = os.path.join(config.root, cid)
    boot = Boot(config, cid)
    try:
        if config.overlay:
            # before any thread: unshare(CLONE_NEWNS) needs a process
            # that shares its fs_struct with no one; and before the spare
            # gofer, which must see the overlay mounts boot makes
            from runtime import gofer_proc
            gofer_proc.private_mounts()
        boot.fork_spare_gofer()
        boot.start_platform()
        try:
            c = boot.create_container(cid, bundle, stdio=(0, 1, 2),
                                      console_fd=console_fd, cli=cli)
        finally:
            if console_fd is not None:
                os.close(console_fd)
            _quiet_stdio()
        boot.serve(os.path.join(cdir, "control.sock"))
        control.send_msg(cli, {"type": "created", "pid": c.pid,
                               "cgroup": c.cgroup.to_dict()})
        # The CLI answers once meta.json and the pid file are written; if it
        # dies first, the create never happened.
        reply, _ = control.recv_msg(cli)
        if reply is None or reply.get("type") != "done":
            raise errors.SandboxError("the creating CLI went away")
    except BaseException as e:
        log.error("cid=%s create failed: %s", cid, e,
                  exc_info=not isinstance(e, errors.SandboxError))
        try:
            control.send_msg(cli, {"type": "error", "message": str(e),
                                   "error_type": type(e).__name__})
        except OSError:
            pass
        for c in list(boot.containers.values()):
            try:
                boot.destroy_container(c)
            except Exception:
                log.exception("cid=%s cleanup", c.id)
        if boot.server:
            boot.server.close()
        return 1
    finally:
        cli.close()
        boot.discard_spare_gofer()
    log.debug("cid=%s created, init pid %d", cid, c.pid)
    boot.done.wait()
    boot.server.close()
    if boot.platform:
        boot.platform.stop()
    log.debug("sandbox %s exiting", cid)
    return 0
