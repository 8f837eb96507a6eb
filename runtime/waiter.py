"""Waiter processes: what a container engine's shim waits on instead of init.

Engines (containerd's runc shims, conmon) are child subreapers: they read
the pid of ``create --pid-file`` / ``exec --pid-file`` and expect that
process to be reparented to them when the runtime exits, so that they reap
it and learn its exit status.  runc's init is such a child.  Ours is not:
boot is the subreaper of every container process, so the engine would wait
forever for an exit it never sees.

With an engine as the caller, the CLI therefore forks a *waiter* right
before it exits and puts the waiter's pid in the pid file (runsc puts its
sandbox's pid there for the same reason).  The waiter is reparented to the
engine, asks boot to wait for the real process (``wait`` or ``wait_pid``
RPC), forwards the signals the engine sends it to that process, and exits
with its exit status (128+N for signal N, as the engines report it).  The
waiter of an init joins the container's cgroup, where the shims look for
the container's cgroup (``/proc/<pid>/cgroup`` of the pid file's pid) to
read metrics and OOM events.

Without an engine as the caller the pid file keeps runc's meaning: the host
pid of the process.
"""
import contextlib
import logging
import os
import signal

from runtime import errors

log = logging.getLogger(__name__)

# Parents that reap the pid of the pid file themselves.
ENGINE_PARENTS = ("containerd-shim", "containerd-shim-runc-v1",
                  "containerd-shim-runc-v2", "conmon", "conmonrs")

# PYRUNSC_WAITER=1 forces a waiter, 0 forbids it; unset: by the parent.
ENV = "PYRUNSC_WAITER"

_UNFORWARDABLE = {signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD}


def wanted():
    """Whether the caller expects to reap the pid of the pid file."""
    forced = os.environ.get(ENV)
    if forced in ("0", "1"):
        return forced == "1"
    try:
        exe = os.readlink(f"/proc/{os.getppid()}/exe")
    except OSError:
        return False
    name = os.path.basename(exe)
    if name.endswith(" (deleted)"):
        name = name[:-len(" (deleted)")]
    return name in ENGINE_PARENTS


def _read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


def _write_pid(path, pid):
    tmp = f"{path}.{os.getpid()}.waiter"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


def replace_pid_file(container, pid_file, *, exec_pid=False):
    """Fork the waiter of the process named in ``pid_file``; write its pid.

    ``container`` is the runtime Container; the pid file was just written
    by ``create`` (init) or ``exec`` (``exec_pid``).
    """
    target = _read_pid(pid_file)
    cgroup = None
    if not exec_pid:
        cg = container._data.get("cgroup")
        if cg:
            from runtime.cgroups import Cgroup
            cgroup = Cgroup.from_dict(cg)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            os.read(r, 1)       # the parent placed us in the cgroup
            os.close(r)
            _waiter_main(container, target, exec_pid)
        finally:
            os._exit(137)
    os.close(r)
    try:
        if cgroup is not None:
            try:
                cgroup.add_pid(pid)
            except errors.SandboxError as e:
                log.warning("cid=%s waiter %d: %s", container.id, pid, e)
        _write_pid(pid_file, pid)
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        os.close(w)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        with contextlib.suppress(OSError):
            _write_pid(pid_file, target)
        raise
    os.write(w, b"x")
    os.close(w)
    log.debug("cid=%s waiter %d for pid %d", container.id, pid, target)
    return pid


def _waiter_main(container, target, exec_pid):
    """The waiter's body; never returns."""
    status = 137
    try:
        # The engine's pipes (the app's stdio) must see EOF when the app
        # closes them, not when the waiter exits.
        fd = os.open("/dev/null", os.O_RDWR)
        for i in range(3):
            os.dup2(fd, i)
        if fd > 2:
            os.close(fd)
        os.closerange(3, 1024)
        logging.disable(logging.CRITICAL)

        def forward(sig, _frame):
            with contextlib.suppress(errors.SandboxError, OSError):
                if exec_pid:
                    container.signal_process(target, sig)
                else:
                    container._call("signal", {"signal": int(sig),
                                               "all": False})

        for sig in signal.valid_signals():
            if sig in _UNFORWARDABLE:
                continue
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                signal.signal(sig, forward)
        try:
            if exec_pid:
                status = container.wait_pid(target)
            else:
                status = container.wait()
        except errors.SandboxError:
            status = 137
        if status is None:
            status = 137
    finally:
        os._exit(int(status) & 0xff)
