"""OCI lifecycle hooks: run each with the state JSON on stdin.

"The state of the container MUST be passed to hooks over stdin" and a hook
with ``timeout`` is killed after that many seconds - runtime-spec
config.md "POSIX-platform Hooks".  Which failures are fatal is the caller's
choice: prestart/createRuntime/createContainer/startContainer abort the
container, poststart/poststop only warn (``run_all(..., warn_only=True)``).

This module runs in the CLI and in the container's init child, never in
boot (boot's reaper owns waitpid there).
"""
import json
import logging
import os
import signal
import subprocess

from runtime.errors import HookError

log = logging.getLogger(__name__)


def run_one(hook, state, name):
    """Run one hook; HookError on a non-zero exit, a signal or a timeout."""
    path = hook["path"]
    args = hook.get("args") or [path]
    env = hook.get("env")
    env = dict(e.split("=", 1) for e in env) if env is not None else {}
    timeout = hook.get("timeout")
    data = json.dumps(state).encode()
    log.debug("hook %s: %s", name, args)
    try:
        p = subprocess.Popen(args, executable=path, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, close_fds=True,
                             start_new_session=True)
    except OSError as e:
        raise HookError(f"{name} hook {path}: {e.strerror}") from None
    try:
        out, err = p.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(p)
        p.communicate()
        raise HookError(f"{name} hook {path}: timed out after {timeout}s") \
            from None
    if p.returncode != 0:
        why = (f"killed by signal {-p.returncode}" if p.returncode < 0
               else f"exit status {p.returncode}")
        detail = err.decode(errors="replace").strip().splitlines()
        raise HookError(f"{name} hook {path}: {why}"
                        + (f": {detail[-1]}" if detail else ""))
    return out


def _kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        p.kill()


def run_all(hooks, state, name, warn_only=False):
    """Run ``hooks`` in order.  Fatal hooks stop at the first failure."""
    for hook in hooks:
        try:
            run_one(hook, state, name)
        except HookError as e:
            if not warn_only:
                raise
            log.warning("%s", e)
