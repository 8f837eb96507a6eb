"""Run a program under a sentry platform without boot (tests only).

``run(platform, argv, root=..., chroot=...)`` forks a child that (optionally
chroots into ``root``,) runs the platform's child hook and execs ``argv``;
the parent attaches the platform through the same sync messages boot uses,
collects stdout/stderr and the exit status.  ``platform="native"`` runs the
same thing without a sentry, for differential tests.  ``view="gofer"``
(or a name such as ``"seccomp+gofer"``)
serves the files through a gofer (``runtime.gofer.serve_tree`` of ``root``
in a subprocess) and the mount table of this process; ``view="directfs"``
uses the mount table with the root fd.
"""
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from sentry import platform as platforms
from sentry.platform import base
from sentry import _seccomp  # noqa: F401  (imported before fork)


class Result:
    def __init__(self, status, out, err):
        self.status, self.out, self.err = status, out, err

    @property
    def code(self):
        if os.WIFEXITED(self.status):
            return os.WEXITSTATUS(self.status)
        return -os.WTERMSIG(self.status)

    def __repr__(self):
        return f"Result(code={self.code}, out={self.out[-300:]!r}, err={self.err[-600:]!r})"


def run(name, argv, *, root="/", chroot=False, cwd=None, env=None,
        stdin=b"", timeout=60, strace=False, log=None, bpf=None,
        pass_fds=None, setsid=False, on_start=None, user=None, view=None,
        table=None, on_gofer=None):
    if "+" in name:                 # "seccomp+gofer", "ptrace+directfs"
        name, view = name.split("+", 1)
    env = env if env is not None else {"PATH": "/usr/local/bin:/usr/bin:/bin",
                                       "HOME": "/", "LANG": "C.UTF-8"}
    exits = {}
    exited = threading.Event()

    def on_exit(pid, status):
        exits[pid] = status
        exited.set()

    p = None
    gofer = None
    vobj = None
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    if name != "native" and view is not None:
        from sentry.fs import mounts
        socks = None
        if view == "gofer":
            gofer, socks = start_gofer(root)
        vobj = mounts.new_view(os.getpid(), socks, table=table)
        if on_gofer is not None:
            on_gofer(gofer)
    if name != "native":
        p = platforms.new(name, root_fd=root_fd, strace=strace, log=log,
                          on_exit=on_exit, bpf=bpf)
    ps, cs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe()
    hook = p.child_hook if p else None
    args = [os.fsencode(a) for a in argv]
    envb = {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
    pid = os.fork()
    if pid == 0:
        try:
            ps.close()
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            for target, src in (pass_fds or {}).items():
                if src == target:
                    os.set_inheritable(src, True)
                else:
                    os.dup2(src, target)
            if setsid:
                os.setsid()
            if chroot:
                os.chroot(root)
            os.chdir(cwd or "/")
            if user is not None:
                os.setgroups(list(user[2:]))
                os.setgid(user[1])
                os.setuid(user[0])
            if hook:
                hook(cs)
            cs.close()
            os.execve(args[0], args, envb)
        except BaseException as e:
            try:
                os.write(2, f"driver child: {e!r}\n".encode())
            finally:
                os._exit(126)
    cs.close()
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    try:
        msg, fds = base.recv_msg(ps)
        if msg is not None and p is not None:
            try:
                p.attach(pid, msg, fds, view=vobj)
            finally:
                for fd in fds:
                    os.close(fd)
            base.send_msg(ps, {"type": "continue"})
        ps.close()
        if on_start is not None:
            on_start(pid)
        os.write(in_w, stdin)
        os.close(in_w)
        in_w = None
        out, err = _collect(out_r, err_r, timeout, pid)
        if p is not None and p.owns_wait:
            if not exited.wait(timeout) or pid not in exits:
                deadline = time.time() + timeout
                while pid not in exits and time.time() < deadline:
                    exited.wait(0.1)
                    exited.clear()
            status = exits.get(pid, -1)
        else:
            status = _waitpid(pid, timeout)
        return Result(status, out, err)
    finally:
        if in_w is not None:
            os.close(in_w)
        for fd in (out_r, err_r):
            os.close(fd)
        _kill(pid)
        if p is not None:
            p.stop()
        if p is None or not p.owns_wait:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        os.close(root_fd)
        if gofer is not None:
            stop_gofer(gofer, vobj)


GOFER_CODE = (
    "import socket, sys, threading\n"
    "from runtime import gofer\n"
    "ts = [threading.Thread(target=gofer.serve_tree, args=(sys.argv[1], "
    "socket.socket(fileno=int(f)))) for f in sys.argv[2:]]\n"
    "[t.start() for t in ts]\n[t.join() for t in ts]\n")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def start_gofer(root):
    """A gofer serving ``root`` on two connections: ``(Popen, (fast,
    slow))``."""
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
             for _ in range(2)]
    theirs = [b.fileno() for _, b in pairs]
    proc = subprocess.Popen([sys.executable, "-c", GOFER_CODE, root]
                            + [str(f) for f in theirs], pass_fds=theirs,
                            cwd=REPO)
    for _, b in pairs:
        b.close()
    return proc, (pairs[0][0], pairs[1][0])


def stop_gofer(proc, view):
    if view is not None:
        view.close()
    try:
        proc.wait(5)
    except (subprocess.TimeoutExpired, ChildProcessError):
        proc.kill()


def _collect(out_r, err_r, timeout, pid):
    bufs = {out_r: [], err_r: []}
    open_fds = {out_r, err_r}
    deadline = time.time() + timeout
    while open_fds:
        left = deadline - time.time()
        if left <= 0:
            _kill(pid)
            raise TimeoutError(f"program timed out; out={b''.join(bufs[out_r])[-500:]!r} "
                               f"err={b''.join(bufs[err_r])[-500:]!r}")
        r, _, _ = select.select(list(open_fds), [], [], left)
        for fd in r:
            data = os.read(fd, 65536)
            if not data:
                open_fds.discard(fd)
            else:
                bufs[fd].append(data)
    return b"".join(bufs[out_r]), b"".join(bufs[err_r])


def _waitpid(pid, timeout):
    deadline = time.time() + timeout
    while True:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            return status
        if time.time() > deadline:
            _kill(pid)
            return os.waitpid(pid, 0)[1]
        time.sleep(0.005)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
