"""``spec.process`` applied in the child, shared by init and exec.

One piece of code per piece of logic: the container's init (runtime/init.py)
and every exec'd process (runtime/execproc.py) end with ``finish_and_exec``:
cwd, umask, rlimits, user and groups, the five capability sets,
noNewPrivileges, the spec's seccomp profile, the platform's child hook and
the exec itself.

Also here: the child's error reporting (``child_main``), the PATH lookup,
rlimit and sysctl validation.  The pure parts are unit-tested without root
in tests/unit/test_process.py.
"""
import fcntl
import os
import resource
import signal
import socket

from runtime import caps as capsmod
from runtime import control
from runtime.errors import InvalidSpecError, ProcessError, SandboxError
from sentry import _sys

# kernel.* sysctls that belong to the IPC namespace - ipc_namespaces(7).
_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                "kernel.sem", "kernel.shmall", "kernel.shmmax",
                "kernel.shmmni", "kernel.shm_rmid_forced")
_UTS_SYSCTLS = ("kernel.hostname", "kernel.domainname")


class Stage:
    """The setup step the child is in, named in its error report."""
    name = "init"


def child_main(sock, body):
    """Run ``body()`` in a forked child; report any failure and _exit(127).

    The report is ``{"type":"error","stage":...,"message":...}`` on the sync
    socket; ``body`` never returns: success ends in execve, and the
    intermediate child leaves through ``fork_and_report``.
    """
    try:
        body()
        raise ProcessError(f"{Stage.name}: internal error: the child "
                           "returned instead of exec'ing")
    except BaseException as e:  # the child never returns to the caller
        try:
            control.send_msg(sock, error_message(e))
        except BaseException:
            pass
    finally:
        os._exit(127)


def error_message(e):
    """The sync message for exception ``e`` raised at ``Stage.name``."""
    stage = getattr(e, "stage", None) or Stage.name
    if isinstance(e, SandboxError):
        msg = str(e)
    elif isinstance(e, OSError):
        where = f" {e.filename}" if e.filename else ""
        msg = f"{stage}:{where}: {e.strerror or e}" if where \
            else f"{stage}: {e.strerror or e}"
    else:
        msg = f"{stage}: internal error: {type(e).__name__}: {e}"
    return {"type": "error", "stage": stage, "message": msg}


def expect(sock, *types):
    """Receive the next sync message in the child; it must be one of
    ``types`` (EOF or another type means the parent gave up)."""
    msg, fds = control.recv_msg(sock)
    for fd in fds:
        os.close(fd)
    if msg is None:
        raise ProcessError(f"{Stage.name}: parent closed the sync socket",
                           stage=Stage.name)
    if msg.get("type") == "abort":
        raise ProcessError(msg.get("message") or "aborted", stage=Stage.name)
    if msg.get("type") not in types:
        raise ProcessError(f"{Stage.name}: unexpected sync message "
                           f"{msg.get('type')!r}", stage=Stage.name)
    return msg


def fork_and_report(sock):
    """Fork the container process from the intermediate child.

    The intermediate reports the new child's host pid on ``sock`` and exits
    (so the child is reparented to the subreaper); the child returns only
    once that report is out, so the parent always reads ``pid`` first.  A
    child whose intermediate died before reporting exits at once.
    """
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(w)
        ok = os.read(r, 1) == b"1"
        os.close(r)
        if not ok:
            os._exit(1)
        return
    os.close(r)
    control.send_msg(sock, {"type": "pid", "pid": pid})
    os.write(w, b"1")
    os._exit(0)


def enter_intermediate(prep, sock, stdio, console_fd, extra_fds):
    """The first steps of the intermediate child of init and of exec: the
    app's fds in place, then what a user namespace would forbid later, done
    with the host's capabilities (the oom score: lowering it needs
    CAP_SYS_RESOURCE in the initial namespace; the rlimits' hard limits)."""
    Stage.name = "namespaces"
    keep = {sock.fileno()}
    if console_fd is not None:
        keep.add(console_fd)
    setup_fds(stdio, extra_fds, keep)
    apply_oom_score_adj(prep.oom_score_adj)
    raise_hard_rlimits(prep.rlimits)


def close_other_fds(keep):
    """Mark every fd that is not in ``keep`` close-on-exec."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass


def reset_signals():
    """Unblock every signal and restore the ignored ones to their default.

    execve(2) keeps ignored dispositions and the signal mask: without this
    the app would inherit Python's SIG_IGN for SIGPIPE and SIGXFSZ and
    whatever the forking thread of boot blocked.
    """
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if signal.getsignal(sig) is not signal.SIG_DFL:
                signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    # Python cannot see or set the two signals glibc keeps for itself.
    for sig in (32, 33):
        _sys.signal_default(sig)


def sync_pair(floor=3):
    """The parent/child sync socketpair; the child's end sits at or above
    ``floor`` so that the fds the child puts at 0.. never clobber it."""
    parent, child = socket.socketpair(socket.AF_UNIX,
                                      socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    if child.fileno() < floor:
        high = fcntl.fcntl(child.fileno(), fcntl.F_DUPFD_CLOEXEC, floor)
        child.close()
        child = socket.socket(fileno=high)
    return parent, child


def lift_fd(fd, floor):
    """A close-on-exec duplicate of ``fd`` numbered at least ``floor``."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor)


def setup_fds(stdio, extra_fds, keep):
    """In the child: ``stdio`` onto 0, 1, 2 and ``extra_fds`` onto 3, 4, ...
    (runc's --preserve-fds), overlaps allowed; every other fd except
    ``keep`` (all numbered above them) becomes close-on-exec."""
    n = 3 + len(extra_fds)
    src = list(stdio) + list(extra_fds)
    high = [lift_fd(fd, n) if fd is not None and fd >= 0 else -1 for fd in src]
    for i, fd in enumerate(high):
        if fd >= 0:
            os.dup2(fd, i, inheritable=True)
            os.close(fd)
    close_other_fds(set(keep) | set(range(n)))


def env_value(env, key):
    """The value of ``key`` in a ``["K=V", ...]`` list (the last one wins)."""
    val = None
    for e in env or ():
        k, sep, v = e.partition("=")
        if sep and k == key:
            val = v
    return val


def lookup_path(name, env, is_exec=None):
    """Find ``process.args[0]`` as runc does (Go's exec.LookPath).

    A name with a ``/`` is used as is; otherwise each directory of the
    container's $PATH (from ``process.env``) is tried in order.
    """
    if is_exec is None:
        is_exec = _is_exec
    if not name:
        raise InvalidSpecError("process.args[0]", "must not be empty")
    if "/" in name:
        if is_exec(name):
            return name
        err = _exec_error(name)
        raise InvalidSpecError("process.args[0]", f'"{name}": {err}')
    for d in (env_value(env, "PATH") or "").split(":"):
        cand = os.path.join(d or ".", name)
        if is_exec(cand):
            return cand
    raise InvalidSpecError("process.args[0]", f'"{name}" not found in $PATH')


def _is_exec(path):
    try:
        st = os.stat(path)
    except OSError:
        return False
    return not os.path.isdir(path) and bool(st.st_mode & 0o111)


def _exec_error(path):
    try:
        st = os.stat(path)
    except OSError as e:
        return e.strerror.lower() if e.strerror else str(e)
    if os.path.isdir(path):
        return "is a directory"
    if not st.st_mode & 0o111:
        return "permission denied"
    return "not executable"


def plan_rlimits(rlimits):
    """``[(resource, soft, hard, field)]`` from ``process.rlimits``."""
    out, seen = [], set()
    for i, r in enumerate(rlimits or ()):
        typ = r.get("type", "")
        res = getattr(resource, typ, None) if typ.startswith("RLIMIT_") \
            else None
        if res is None:
            raise InvalidSpecError(f"process.rlimits[{i}].type",
                                   f"unknown rlimit {typ!r}")
        if typ in seen:
            # "If there are multiple entries with the same type, the runtime
            # MUST generate an error" - runtime-spec config.md.
            raise InvalidSpecError(f"process.rlimits[{i}].type",
                                   f"duplicate rlimit {typ}")
        seen.add(typ)
        soft, hard = r.get("soft"), r.get("hard")
        if not isinstance(soft, int) or not isinstance(hard, int):
            raise InvalidSpecError(f"process.rlimits[{i}]",
                                   "soft and hard must be integers")
        # 2^64-1 is RLIM_INFINITY, as a spec writes it.
        conv = [resource.RLIM_INFINITY if v >= (1 << 64) - 1 else v
                for v in (soft, hard)]
        out.append((res, conv[0], conv[1], f"process.rlimits[{i}]"))
    return out


def raise_hard_rlimits(rlimits):
    """Raise the hard limits of ``plan_rlimits`` entries that go above the
    current ones, soft limits untouched.

    Called before entering a user namespace: "raising the hard limit
    requires CAP_SYS_RESOURCE" - setrlimit(2), in the initial user
    namespace.  ``finish_and_exec`` then sets the final values, which only
    lowers or keeps them.  (runc applies them from the parent with
    prlimit instead.)
    """
    for res, _soft, hard, field in rlimits:
        cur_soft, cur_hard = resource.getrlimit(res)
        if _above(hard, cur_hard):
            _setrlimit(res, cur_soft, hard, field)


def _setrlimit(res, soft, hard, field):
    """setrlimit(2) of ``res``; a failure is a ProcessError naming the
    spec's ``field``."""
    try:
        resource.setrlimit(res, (soft, hard))
    except (OSError, ValueError) as e:
        raise ProcessError(
            f"{field}: setrlimit: {getattr(e, 'strerror', None) or e}",
            stage="rlimits") from None


def _above(a, b):
    """Whether rlimit value ``a`` is above ``b`` (RLIM_INFINITY highest)."""
    inf = resource.RLIM_INFINITY
    if a == b or b == inf:
        return False
    return a == inf or a > b


def check_sysctl(key, namespaces):
    """Raise InvalidSpecError unless ``key`` is namespaced by one of the
    container's own namespaces (``namespaces``: set of spec types)."""
    field = f"linux.sysctl.{key}"
    if key in _IPC_SYSCTLS or key.startswith("fs.mqueue."):
        if "ipc" not in namespaces:
            raise InvalidSpecError(field, "needs an ipc namespace")
        return
    if key.startswith("net."):
        if "network" not in namespaces:
            raise InvalidSpecError(field, "needs a network namespace")
        return
    if key in _UTS_SYSCTLS:
        if "uts" not in namespaces:
            raise InvalidSpecError(field, "needs a uts namespace")
        return
    raise InvalidSpecError(field, "is not namespaced: the container may not "
                           "change it")


def apply_sysctl(sysctl, namespaces):
    """Write ``linux.sysctl`` to /proc/sys (the container's /proc)."""
    for key, val in (sysctl or {}).items():
        check_sysctl(key, namespaces)
    for key, val in (sysctl or {}).items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(str(val))
        except OSError as e:
            raise ProcessError(f"linux.sysctl.{key}: writing {path}: "
                               f"{e.strerror}", stage="sysctl",
                               errno=e.errno) from None


def apply_oom_score_adj(value, field="process.oomScoreAdj"):
    if value is None:
        return
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(int(value)))
    except OSError as e:
        raise ProcessError(f"{field}: {e.strerror}", stage="oom",
                           errno=e.errno) from None


def _user(process):
    user = process.get("user") or {}
    uid, gid = user.get("uid", 0), user.get("gid", 0)
    extra = user.get("additionalGids") or []
    for field, v in (("uid", uid), ("gid", gid)):
        if not isinstance(v, int) or v < 0:
            raise InvalidSpecError(
                f"process.user.{field}",
                f"must be a non-negative integer, got {v!r}")
    return uid, gid, list(extra), user.get("umask")


def passwd_entry(uid, text):
    """``(name, home)`` of ``uid`` in /etc/passwd text, or ``(None, None)``."""
    for line in text.splitlines():
        f = line.split(":")
        if len(f) >= 6 and f[2].isdigit() and int(f[2]) == uid:
            return f[0], f[5]
    return None, None


def member_gids(name, text):
    """The gids of the /etc/group entries that list user ``name``."""
    out = []
    for line in text.splitlines():
        f = line.split(":")
        if len(f) >= 4 and f[2].isdigit() and name in f[3].split(","):
            out.append(int(f[2]))
    return out


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def container_user(uid, extra_gids, env):
    """What runc adds from the container's own /etc/passwd and /etc/group:
    the user's supplementary groups (before ``additionalGids``) and $HOME
    when ``process.env`` has none ("/" for an unknown user)."""
    name, home = passwd_entry(uid, _read("/etc/passwd"))
    groups = member_gids(name, _read("/etc/group")) if name else []
    groups += [g for g in extra_gids if g not in groups]
    if env_value(env, "HOME") is None:
        env = env + [f"HOME={home or '/'}"]
    return groups, env


class Prepared:
    """``spec.process`` validated and marshalled in the parent, before fork.

    Spec errors surface as InvalidSpecError in the caller; the child only
    applies the result.  The spec's seccomp profile is compiled here to BPF
    bytes (libseccomp stays on the parent's cold path).
    """

    def __init__(self, spec, process):
        args = process.get("args") or []
        if not args or not all(isinstance(a, str) for a in args):
            raise InvalidSpecError("process.args",
                                   "must be a non-empty list of strings")
        self.args = list(args)
        self.env = list(process.get("env") or [])
        self.uid, self.gid, self.extra_gids, self.umask = _user(process)
        self.caps = capsmod.plan(process.get("capabilities"))
        self.rlimits = plan_rlimits(process.get("rlimits"))
        self.nnp = bool(process.get("noNewPrivileges"))
        self.cwd = process.get("cwd") or "/"
        if not self.cwd.startswith("/"):
            raise InvalidSpecError("process.cwd",
                                   f"must be absolute, got {self.cwd!r}")
        self.oom_score_adj = process.get("oomScoreAdj")
        self.seccomp = None
        profile = (spec.get("linux") or {}).get("seccomp")
        if profile:
            from runtime import seccomp_profile
            from sentry import _seccomp  # noqa: F401 (loaded before fork)
            bpf, flags = seccomp_profile.build_profile(profile)
            if bpf:
                self.seccomp = (bytes(bpf), flags)


def _install_seccomp(seccomp, field="linux.seccomp"):
    from sentry import _seccomp
    bpf, flags = seccomp
    try:
        _seccomp.install_bpf(bpf, flags)
    except OSError as e:
        raise ProcessError(f"{field}: installing the filter: {e.strerror}",
                           stage="seccomp", errno=e.errno) from None


def finish_and_exec(prep, sock, child_hook=None, exec_fn=None):
    """The last steps of every container process; only returns by raising.

    ``prep`` is the parent's ``Prepared``.  Order as runc: rlimits (needs
    CAP_SYS_RESOURCE), umask, the bounding set (needs CAP_SETPCAP), user and
    groups with PR_SET_KEEPCAPS, the other four sets, cwd, noNewPrivileges,
    the spec's seccomp profile (before the user switch when
    noNewPrivileges is off: then installing a filter needs CAP_SYS_ADMIN),
    the platform's child hook (likewise before the capability drop when
    noNewPrivileges is off), execve.
    """
    Stage.name = "rlimits"
    for res, soft, hard, field in prep.rlimits:
        _setrlimit(res, soft, hard, field)
    os.umask(0o022 if prep.umask is None else prep.umask)
    if prep.seccomp and not prep.nnp:
        Stage.name = "seccomp"
        _install_seccomp(prep.seccomp)
    if child_hook is not None and not prep.nnp:
        # Without no_new_privs a filter can only be installed while we still
        # hold CAP_SYS_ADMIN, as runc does for the spec's profile: the
        # sentry then serves the rest of the set-up (chdir, PATH lookup).
        Stage.name = "child_hook"
        child_hook(sock)
        child_hook = None
    Stage.name = "capabilities"
    try:
        capsmod.drop_bounding(prep.caps)
    except OSError as e:
        raise ProcessError(f"process.capabilities.bounding: {e.strerror}",
                           stage="capabilities", errno=e.errno) from None
    Stage.name = "user"
    groups, env = container_user(prep.uid, prep.extra_gids, prep.env)
    cwd_ok = _chdir(prep.cwd)
    try:
        _sys.set_keepcaps(True)
        _sys.setgroups(groups)
        _sys.setresgid(prep.gid, prep.gid, prep.gid)
        _sys.setresuid(prep.uid, prep.uid, prep.uid)
        _sys.set_keepcaps(False)
    except OSError as e:
        raise ProcessError(f"process.user: setting uid {prep.uid} gid "
                           f"{prep.gid}: {e.strerror}", stage="user",
                           errno=e.errno) from None
    Stage.name = "capabilities"
    try:
        capsmod.apply_sets(prep.caps)
    except OSError as e:
        raise ProcessError(f"process.capabilities: {e.strerror}",
                           stage="capabilities", errno=e.errno) from None
    if not cwd_ok:
        try:
            os.chdir(prep.cwd)
        except OSError as e:
            raise ProcessError(f"process.cwd: {prep.cwd}: {e.strerror}",
                               stage="cwd", errno=e.errno) from None
    Stage.name = "exec"
    path = lookup_path(prep.args[0], env)
    if prep.nnp:
        _sys.set_no_new_privs()
        if prep.seccomp:
            Stage.name = "seccomp"
            _install_seccomp(prep.seccomp)
    # Until here SIGPIPE stays ignored: a sync socket the parent closed
    # must fail a send with EPIPE, not kill the child unreported.
    reset_signals()
    if child_hook is not None:
        Stage.name = "child_hook"
        child_hook(sock)
    Stage.name = "exec"
    try:
        (exec_fn or _sys.exec_app)(path, prep.args, env)
    except OSError as e:
        raise ProcessError(f"process.args[0]: exec {path}: {e.strerror}",
                           stage="exec", errno=e.errno) from None
    raise ProcessError("process.args[0]: exec returned", stage="exec")


def _chdir(cwd):
    """chdir as root; EACCES is retried after the user switch (runc)."""
    try:
        os.chdir(cwd)
        return True
    except PermissionError:
        return False
    except OSError as e:
        raise ProcessError(f"process.cwd: {cwd}: {e.strerror}", stage="cwd",
                           errno=e.errno) from None
