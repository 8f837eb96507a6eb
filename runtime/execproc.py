"""Fork a new process into a running container (``exec``).

``spawn_exec`` forks an intermediate child that writes itself into the
container's cgroups, joins every namespace of the container's init (user
next to last, then becoming root in it; mount last), and forks into the pid namespace: the grandchild is the next
container pid.  The intermediate reports its host pid and exits; the
grandchild applies the process (runtime/process.py, the same code as init)
and execs.

Preconditions: the caller is a child subreaper, and it reaps the exec'd
process itself (boot's reaper): ``spawn_exec`` never waits for it.
"""
import os

from runtime import console
from runtime import process as proc
from runtime.errors import InvalidSpecError, ProcessError
from runtime.init import InitHandle, become_root
from sentry import _sys

# setns order.  N.B. nsenter(1) joins the user namespace first because an
# unprivileged caller gets its rights for the rest from it; boot is root in
# the parent user namespace, so the others go first while it holds the
# host's capabilities (a container may hold a namespace the host's user
# namespace owns, a joined netns path), then the user namespace, then the
# mount namespace (it changes what paths mean).
_NS_ORDER = ("cgroup", "ipc", "uts", "net", "pid", "time", "user", "mnt")


class ExecHandle(InitHandle):
    """Boot's end of an exec'd process: ``pid``, ``recv``, ``send``."""


def spawn_exec(init_pid, spec, process, *, stdio=(0, 1, 2), console_fd=None,
               cgroup_procs=(), child_hook=None, extra_fds=()):
    """Start ``process`` in the container whose init is ``init_pid``.

    ``stdio`` become the process's 0, 1, 2 and ``extra_fds`` its 3, 4, ...
    (runc's --preserve-fds); the caller keeps and closes its own copies.

    Returns once the host pid is known; later failures of the child arrive
    as an ``error`` message on ``recv()``, its exec as EOF.
    """
    prep = proc.Prepared(spec, process)
    namespaces_to_join(init_pid)  # fails early when init is gone
    if process.get("terminal") and console_fd is None:
        raise InvalidSpecError("process.terminal", "needs a console socket")
    floor = 3 + len(extra_fds)
    parent, child = proc.sync_pair(floor)
    if console_fd is not None:
        console_fd = proc.lift_fd(console_fd, floor)
    pid = os.fork()
    if pid == 0:
        parent.close()
        proc.child_main(child, lambda: _intermediate(
            init_pid, prep, process, child, stdio, console_fd,
            list(cgroup_procs), child_hook, list(extra_fds)))
    child.close()
    if console_fd is not None:
        os.close(console_fd)
    h = ExecHandle(parent, pid)
    try:
        msg = h.recv()
        if msg is None:
            raise ProcessError("exec: the child exited before reporting "
                               "its pid", stage="namespaces")
        if msg.get("type") == "error":
            raise ProcessError(msg.get("message", "exec failed"),
                               stage=msg.get("stage"))
        if msg.get("type") != "pid":
            raise ProcessError(f"exec: unexpected message {msg.get('type')!r}")
    except BaseException:
        h.kill()
        h._reap_intermediate()
        h.close()
        raise
    return h


def namespaces_to_join(init_pid, proc_dir="/proc"):
    """``[(name, path)]`` of init's namespaces that differ from ours.

    A namespace the kernel does not have (no entry) is skipped; an entry
    that cannot be resolved (init gone or a zombie) is an error: never
    run the process in the caller's namespaces instead.
    """
    ns_dir = f"{proc_dir}/{init_pid}/ns"
    try:
        names = set(os.listdir(ns_dir))
    except OSError as e:
        raise ProcessError(f"exec: container init {init_pid} is gone "
                           f"({e.strerror})", stage="namespaces",
                           errno=e.errno) from None
    out = []
    for name in _NS_ORDER:
        if name not in names:
            continue
        theirs = f"{ns_dir}/{name}"
        try:
            st = os.stat(theirs)
        except OSError as e:
            raise ProcessError(f"exec: {theirs}: {e.strerror}",
                               stage="namespaces", errno=e.errno) from None
        try:
            mine = os.stat(f"/proc/self/ns/{name}")
            if (mine.st_dev, mine.st_ino) == (st.st_dev, st.st_ino):
                continue
        except FileNotFoundError:
            pass
        out.append((name, theirs))
    return out


def _intermediate(init_pid, prep, process, sock, stdio, console_fd,
                  cgroup_procs, child_hook, extra_fds):
    proc.enter_intermediate(prep, sock, stdio, console_fd, extra_fds)
    fds = []
    for name, path in namespaces_to_join(init_pid):
        try:
            fds.append((name, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        except OSError as e:
            raise ProcessError(f"exec: opening {path}: {e.strerror}",
                               stage="namespaces", errno=e.errno) from None
    proc.Stage.name = "cgroup"
    for path in cgroup_procs:
        try:
            with open(path, "w") as f:
                f.write("0")
        except OSError as e:
            raise ProcessError(f"exec: joining cgroup {path}: {e.strerror}",
                               stage="cgroup", errno=e.errno) from None
    proc.Stage.name = "namespaces"
    for name, fd in fds:
        try:
            _sys.setns(fd, 0)
        except OSError as e:
            raise ProcessError(f"exec: joining {name} namespace of pid "
                               f"{init_pid}: {e.strerror}", stage="namespaces",
                               errno=e.errno) from None
        os.close(fd)
        if name == "user":
            # As init did: the namespace's root until the process's own
            # user is applied (finish_and_exec).
            become_root()
    os.chdir("/")
    proc.fork_and_report(sock)
    _child(prep, process, sock, console_fd, child_hook)


def _child(prep, process, sock, console_fd, child_hook):
    proc.Stage.name = "process"
    if process.get("terminal"):
        proc.Stage.name = "console"
        console.setup_terminal(process, console_fd)
    elif console_fd is not None:
        os.close(console_fd)
    proc.finish_and_exec(prep, sock, child_hook)


