"""Sandbox: the `pyrunsc boot` process, seen from the CLI.

``Sandbox.create`` spawns boot and drives the create protocol of
docs/architecture.md until the container's init is set up and waiting for
``start``; every other operation is a control RPC to the running boot.
"""
import logging
import os
import select
import signal
import socket
import time

from runtime import control, errors, procs

log = logging.getLogger(__name__)

SOCKET = "control.sock"
CREATE_TIMEOUT = 120


# Set by the CLI: configures logging in a freshly forked boot process
# (``fn(config)``) or a gofer forked from boot (``fn(config, "gofer")``);
# the parent's handlers do not survive the fork.
boot_logging = None


def _fork_boot(config, cid, bundle, sync_fd, console_fd, parent_fd):
    """Fork the boot process from this (single-threaded) CLI.

    Forking saves an interpreter start and every import per container over
    exec'ing ``pyrunsc boot``; that command remains for debugging.  The
    child keeps only stdio (the app's), the sync socket and the console
    socket: in particular not the container lock the CLI holds.
    """
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        procs.close_fds_except({0, 1, 2, sync_fd} | (
            {console_fd} if console_fd is not None else set()))
        for h in logging.root.handlers[:]:
            logging.root.removeHandler(h)
        procs.set_comm(b"pyrunsc-boot")
        if boot_logging is not None:
            boot_logging(config)
        from runtime import boot
        code = boot.main(config, cid, bundle, sync_fd, console_fd)
    except BaseException:
        try:
            logging.getLogger("runtime.boot").exception("boot failed")
        except BaseException:
            pass
    finally:
        os._exit(code if isinstance(code, int) else 1)


class Sandbox:
    def __init__(self, sid, pid, pid_start, sock_path):
        self.id, self.pid, self.pid_start, self.socket = (
            sid, pid, pid_start, sock_path)

    def to_dict(self):
        return {"id": self.id, "pid": self.pid, "pid_start": self.pid_start,
                "socket": self.socket}

    @classmethod
    def from_dict(cls, d):
        return cls(d["id"], d["pid"], d.get("pid_start"), d["socket"])

    @classmethod
    def create(cls, config, cid, bundle, cdir, *, console_fd=None,
               on_hooks=None):
        """Spawn boot for container ``cid``; return ``(sandbox, init_pid)``.

        ``on_hooks(init_pid)`` runs the prestart and createRuntime hooks;
        raising aborts the creation.  On any failure boot is killed and
        nothing of it remains.
        """
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ours.set_inheritable(False)
        try:
            pid = _fork_boot(config, cid, bundle, theirs.fileno(), console_fd,
                             ours.fileno())
        finally:
            theirs.close()
        sb = cls(cid, pid, procs.start_time(pid), os.path.join(cdir, SOCKET))
        sb._child = True
        # Needed by delete (Container._cleanup_host): imported while boot
        # starts up on the other CPU rather than on the delete path.
        from runtime import cgroups  # noqa: F401
        try:
            init_pid = sb._drive_create(ours, on_hooks)
            return sb, init_pid, ours
        except BaseException:
            # Boot sees the closed socket, tears the container down and
            # exits; it is killed only if it does not.
            ours.close()
            sb.wait_exit(10)
            sb.kill()
            raise

    def _drive_create(self, sock, on_hooks):
        sock.settimeout(CREATE_TIMEOUT)
        while True:
            try:
                msg, fds = control.recv_msg(sock)
            except socket.timeout:
                raise errors.SandboxError(
                    f"sandbox did not finish creating within "
                    f"{CREATE_TIMEOUT}s") from None
            for fd in fds:
                os.close(fd)
            if msg is None:
                raise errors.SandboxError(
                    "sandbox exited during create; see the boot log "
                    "(--debug-log) for details")
            if "error" in msg and "type" not in msg:
                # An RPC error reply (create_container) ends the exchange.
                err = msg["error"]
                msg = {"type": "error", "message": err.get("message"),
                       "error_type": err.get("type")}
            t = msg.get("type")
            if t == "hooks":
                try:
                    if on_hooks:
                        on_hooks(msg["pid"])
                except errors.SandboxError as e:
                    control.send_msg(sock, {"type": "abort",
                                            "message": str(e)})
                    raise
                control.send_msg(sock, {"type": "continue"})
            elif t == "created":
                self.created_info = msg
                return msg["pid"]
            elif t == "error":
                cls = getattr(errors, msg.get("error_type") or "",
                              errors.ProcessError)
                if not (isinstance(cls, type)
                        and issubclass(cls, errors.SandboxError)):
                    cls = errors.ProcessError
                exc = cls.__new__(cls)
                errors.SandboxError.__init__(exc, msg.get("message", "failed"))
                raise exc
            else:
                raise errors.ControlError(f"unexpected sync message {t!r}")

    def create_container(self, cid, bundle, *, stdio=(0, 1, 2),
                         console_fd=None, on_hooks=None):
        """Create ``cid`` in this running sandbox; return ``(init_pid, conn)``.

        The same protocol as the first container, on one RPC connection;
        the caller sends ``{"type": "done"}`` on ``conn`` when its metadata
        is written, then closes it.
        """
        if not self.alive():
            raise errors.ControlError(f"sandbox {self.id} is not running")
        s = socket.socket(socket.AF_UNIX,
                          socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            control._connect_path(s, self.socket)
            fds = list(stdio) + ([console_fd] if console_fd is not None
                                 else [])
            control.send_msg(s, {"method": "create_container",
                                 "args": {"cid": cid, "bundle": bundle,
                                          "console": console_fd is not None}},
                             fds)
            pid = self._drive_create(s, on_hooks)
            return pid, s
        except OSError as e:
            s.close()
            raise errors.ControlError(f"sandbox {self.id}: {e}") from None
        except BaseException:
            s.close()
            raise

    def alive(self):
        return procs.alive(self.pid, self.pid_start)

    def call(self, method, args=None, fds=(), timeout=None):
        if not self.alive():
            raise errors.ControlError(f"sandbox {self.id} is not running")
        res, rfds = control.call(self.socket, method, args, fds, timeout)
        for fd in rfds:
            os.close(fd)
        return res

    def wait_exit(self, timeout):
        """Wait up to ``timeout`` seconds for boot to exit by itself."""
        try:
            pidfd = os.pidfd_open(self.pid)
        except OSError:
            pidfd = None
        if pidfd is not None:
            try:
                # The pid could have been reused before pidfd_open: check.
                if self.alive():
                    select.select([pidfd], [], [], timeout)
            finally:
                os.close(pidfd)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.01)
        self._reap()

    def kill(self, wait=5.0):
        """SIGKILL boot (checked against its start time) and wait for it."""
        if not self.alive():
            self._reap()
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait
        while self.alive() and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.01)
        self._reap()

    def _reap(self):
        """Collect boot's exit status when this process forked it."""
        if getattr(self, "_child", False):
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0] == self.pid:
                    self._child = False
            except ChildProcessError:
                self._child = False
