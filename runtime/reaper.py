"""The one waitpid caller of the boot process.

Boot is a child subreaper: container inits and exec'd processes are its
children.  Exactly one thread collects their exit statuses - this reaper's
thread, or the ptrace platform's loop, which must see every waitpid result
and forwards the ones that are not ptrace stops to ``exited``.  Callers
wait for a pid through ``wait``.
"""
import errno
import logging
import os
import threading

log = logging.getLogger(__name__)


def exit_code(status):
    """Wait status → the code a shell would report: N, or 128+signal."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 128


class Reaper:
    def __init__(self):
        self._cond = threading.Condition()
        self._status = {}      # pid -> wait status, for watched pids
        self._watched = set()
        self._callbacks = {}   # pid -> fn(status)
        self._thread = None

    def watch(self, pid, callback=None):
        """Keep the exit status of ``pid`` until someone collects it."""
        with self._cond:
            self._watched.add(pid)
            if callback:
                self._callbacks[pid] = callback
            self._cond.notify_all()

    def exited(self, pid, status):
        """Record an exit.  Called by the waiting thread only."""
        with self._cond:
            cb = self._callbacks.pop(pid, None)
            if pid in self._watched:
                self._status[pid] = status
                self._cond.notify_all()
        log.debug("reaped pid %d status %#x", pid, status)
        if cb:
            try:
                cb(status)
            except Exception:
                log.exception("exit callback for pid %d", pid)

    def wait(self, pid, timeout=None):
        """Block until ``pid`` exits; return its wait status (None on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: pid in self._status, timeout):
                return None
            return self._status[pid]

    def status(self, pid):
        with self._cond:
            return self._status.get(pid)

    def forget(self, pid):
        with self._cond:
            self._watched.discard(pid)
            self._status.pop(pid, None)
            self._callbacks.pop(pid, None)

    def start(self):
        """Run the waitpid loop in a thread (when no platform owns waiting)."""
        self._thread = threading.Thread(target=self._loop, name="reaper",
                                        daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.__dict__.get("__WALL", 0x40000000))
            except ChildProcessError:
                # No children right now: wait for the next SIGCHLD-worthy event.
                with self._cond:
                    self._cond.wait(0.5)
                continue
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                log.error("reaper: waitpid: %s", e)
                return
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                self.exited(pid, status)
