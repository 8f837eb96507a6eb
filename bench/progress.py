"""A one-line progress bar on stderr (plain lines when not a terminal)."""

import sys
import time


class Progress:
    def __init__(self, total, enabled=True):
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.t0 = time.monotonic()
        self._last = 0.0

    def step(self, label):
        """Call before each unit of work; label says what runs now."""
        if not self.enabled:
            return
        now = time.monotonic()
        frac = self.done / self.total
        eta = ""
        if self.done:
            left = (now - self.t0) / self.done * (self.total - self.done)
            eta = f" eta {int(left // 60)}m{int(left % 60):02d}s"
        bar = "#" * int(frac * 30)
        line = f"[{bar:<30}] {self.done}/{self.total}{eta} {label}"
        if self.tty:
            sys.stderr.write("\r\033[K" + line[:150])
            sys.stderr.flush()
        elif now - self._last > 10 or self.done == 0:
            sys.stderr.write(line + "\n")
            self._last = now
        self.done += 1

    def finish(self):
        if self.enabled and self.tty:
            sys.stderr.write("\r\033[K")
        if self.enabled:
            took = time.monotonic() - self.t0
            sys.stderr.write(f"bench: finished in {took:.0f}s\n")
