"""Waiter processes: what a container engine's shim waits on instead of init.

Engines (containerd's runc shims, conmon) are child subreapers: they read
the pid of ``create --pid-file`` / ``exec --pid-file`` and expect that
process to be reparented to them when the runtime exits, so that they reap
it and learn its exit status.  runc's init is such a child.  Ours is not:
boot is the subreaper of every container process, so the engine would wait
forever for an exit it never sees.

With an engine as the caller, the CLI therefore forks a waiter right before
it exits and puts the waiter's pid in the pid file (runsc puts its
sandbox's pid there for the same reason).  The waiter is two processes:

* the *stand-in*, whose pid goes in the pid file: reparented to the engine,
  it sits in the container's cgroup (the shims read ``/proc/<pid>/cgroup``
  for metrics and OOM events) and in the container's mount, network, UTS,
  IPC and cgroup namespaces (``podman top`` reads ``/proc`` in the mount
  namespace of that pid; ``--network container:X`` joins its network
  namespace), and in a pid namespace of its own, never the host's.  It
  only passes the signals it gets to the relay and exits with the status
  the relay sends, 128+N for signal N as the engines report it;
* the *relay*, on the host side: it waits for the process through boot
  (``wait`` / ``wait_pid`` RPC) and forwards the stand-in's signals to it.

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
    """Whether the caller expects to reap the pid of the pid file.

    The caller is the parent, or the grandparent through a shell: Docker
    runs a runtime that has ``runtimeArgs`` through a ``/bin/sh`` script
    that does not exec.
    """
    forced = os.environ.get(ENV)
    if forced in ("0", "1"):
        return forced == "1"
    pid = os.getppid()
    for _ in range(2):
        name = _exe_name(pid)
        if name in ENGINE_PARENTS:
            return True
        if name not in _SHELLS:
            return False
        pid = _ppid_of(pid)
        if pid is None:
            return False
    return False


_SHELLS = ("sh", "dash", "bash")


def _exe_name(pid):
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    name = os.path.basename(exe)
    if name.endswith(" (deleted)"):
        name = name[:-len(" (deleted)")]
    return name


def _ppid_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


def _write_pid(path, pid):
    tmp = f"{path}.{os.getpid()}.waiter"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


_NAMESPACES = ("ipc", "uts", "net", "cgroup", "mnt")   # mnt last
_CLONE_NEWPID = 0x20000000


def _libc():
    import ctypes
    return ctypes.CDLL(None, use_errno=True)


def _join_namespaces(pid):
    """setns into ``pid``'s namespaces (best effort; single-threaded)."""
    libc = _libc()
    for ns in _NAMESPACES:
        path = f"/proc/{pid}/ns/{ns}"
        try:
            if os.stat(path).st_ino == os.stat(f"/proc/self/ns/{ns}").st_ino:
                continue
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            libc.setns(fd, 0)
        finally:
            os.close(fd)
    with contextlib.suppress(OSError):
        os.chdir("/")


def replace_pid_file(container, pid_file, *, exec_pid=False):
    """Fork the waiter of the process named in ``pid_file``; write its pid.

    ``container`` is the runtime Container; the pid file was just written
    by ``create`` (init) or ``exec`` (``exec_pid``).  Returns the stand-in's
    host pid.
    """
    target = _read_pid(pid_file)
    cgroup = None
    if not exec_pid:
        cg = container._data.get("cgroup")
        if cg:
            from runtime.cgroups import Cgroup
            cgroup = Cgroup.from_dict(cg)
    status_r, status_w = os.pipe()      # relay -> stand-in: the status
    sig_r, sig_w = os.pipe()            # stand-in -> relay: signal numbers
    go_r, go_w = os.pipe()              # CLI -> stand-in: placed, go on
    pid_r, pid_w = os.pipe()            # intermediate -> CLI: stand-in pid
    relay = os.fork()
    if relay == 0:
        try:
            for fd in (status_r, sig_w, go_r, go_w, pid_r, pid_w):
                os.close(fd)
            _relay_main(container, target, exec_pid, status_w, sig_r)
        finally:
            os._exit(1)
    mid = os.fork()
    if mid == 0:
        try:
            for fd in (status_w, sig_r, go_w, pid_r):
                os.close(fd)
            _stand_in_start(target, status_r, sig_w, go_r, pid_w)
        finally:
            os._exit(1)
    for fd in (status_r, status_w, sig_r, sig_w, go_r, pid_w):
        os.close(fd)
    try:
        with os.fdopen(pid_r, "rb") as f:
            data = f.read()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(mid, 0)
        if not data.strip():
            raise errors.SandboxError(f"container {container.id}: the "
                                      "waiter did not start")
        pid = int(data)
        if cgroup is not None:
            try:
                cgroup.add_pid(pid)
            except errors.SandboxError as e:
                log.warning("cid=%s waiter %d: %s", container.id, pid, e)
        _write_pid(pid_file, pid)
    except BaseException:
        for p in (relay, locals().get("pid")):
            if p:
                with contextlib.suppress(OSError):
                    os.kill(p, signal.SIGKILL)
        os.close(go_w)
        with contextlib.suppress(OSError):
            _write_pid(pid_file, target)
        raise
    os.write(go_w, b"x")
    os.close(go_w)
    log.debug("cid=%s waiter %d (relay %d) for pid %d", container.id, pid,
              relay, target)
    return pid


def _to_dev_null():
    fd = os.open("/dev/null", os.O_RDWR)
    for i in range(3):
        os.dup2(fd, i)
    if fd > 2:
        os.close(fd)


def _stand_in_start(target, status_r, sig_w, go_r, pid_w):
    """The intermediate: a new pid namespace for the stand-in, which it
    forks and reports; its exit reparents the stand-in to the engine."""
    _to_dev_null()
    keep = {status_r, sig_w, go_r, pid_w}
    for fd in range(3, 1024):
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    if _libc().unshare(_CLONE_NEWPID) != 0:
        log.debug("waiter: unshare(CLONE_NEWPID) failed")
    _join_namespaces(target)
    pid = os.fork()
    if pid == 0:
        os.close(pid_w)
        _stand_in_main(status_r, sig_w, go_r)
    os.write(pid_w, str(pid).encode())
    os._exit(0)


def _stand_in_main(status_r, sig_w, go_r):
    """Never returns: exit with the status the relay sends (137 if none)."""
    status = 137
    try:
        def forward(sig, _frame):
            with contextlib.suppress(OSError):
                os.write(sig_w, bytes([int(sig)]))

        for sig in signal.valid_signals():
            if sig in _UNFORWARDABLE:
                continue
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                signal.signal(sig, forward)
        os.read(go_r, 1)        # the CLI placed us in the cgroup
        os.close(go_r)
        data = b""
        while True:
            chunk = os.read(status_r, 16)
            if not chunk:
                break
            data += chunk
        if data.strip():
            status = int(data)
    except BaseException:
        pass
    finally:
        os._exit(status & 0xff)


def _relay_main(container, target, exec_pid, status_w, sig_r):
    """Wait through boot, forward signals, send the status; never returns."""
    import threading
    _to_dev_null()
    keep = {status_w, sig_r}
    for fd in range(3, 1024):
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    logging.disable(logging.CRITICAL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def forward_loop():
        while True:
            try:
                b = os.read(sig_r, 1)
            except OSError:
                return
            if not b:
                return
            with contextlib.suppress(errors.SandboxError, OSError):
                if exec_pid:
                    container.signal_process(target, b[0])
                else:
                    container._call("signal", {"signal": b[0],
                                               "all": False})

    threading.Thread(target=forward_loop, daemon=True).start()
    status = 137
    try:
        if exec_pid:
            status = container.wait_pid(target)
        else:
            status = container.wait()
    except errors.SandboxError:
        status = 137
    except BaseException:
        status = 137
    if status is None:
        status = 137
    with contextlib.suppress(OSError):
        os.write(status_w, str(int(status)).encode())
    os._exit(0)
