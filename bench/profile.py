"""Where a pyrunsc column spends its time: py-spy on the runtime's processes.

While the driver repeats one microbenchmark inside the container, py-spy
(`record --native --subprocesses`) samples the runtime's processes (the
CLI, boot and gofer).  Only samples of threads inside the sentry (a frame
from sentry/) are kept: the others are threads blocked in the control
server, the reaper and the like.  The summary gives, as shares of those
samples, the innermost function running (a libc call means time in the
kernel on the sentry's behalf) and the innermost sentry function.
"""

import collections
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from . import procmem

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+?)(?::\d+)?\)$")


def available():
    return shutil.which("py-spy") is not None


def _name(frame):
    m = _FRAME.match(frame)
    if not m:
        return frame, ""
    func, path = m.group("func"), m.group("file")
    if func.startswith("0x"):
        func = "(unresolved)"
    return f"{func} ({path})", path


def summarize(raw_text, top=8):
    """py-spy raw (folded) output -> {samples, sentry_samples, leaf,
    sentry}: the last two as [(name, % of sentry samples)]."""
    total = kept = 0
    leaf = collections.Counter()
    inner = collections.Counter()
    for line in raw_text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_name(f) for f in stack.split(";")
                  if not f.startswith("process ")]
        sentry = [name for name, path in frames if path.startswith("sentry/")]
        if not sentry:
            continue
        kept += n
        leaf[frames[-1][0]] += n
        inner[sentry[-1]] += n

    def share(counter):
        if not kept:
            return []
        return [(k, round(100.0 * v / kept, 1))
                for k, v in counter.most_common(top)]

    return {"samples": total, "sentry_samples": kept,
            "leaf": share(leaf), "sentry": share(inner)}


def profile(col, ws, test, seconds=3.0):
    """Profile col while the driver runs micro `test`; summary or {error}."""
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault(
        "run", col.run_driver(ws, ["--target-ms", str(int(seconds * 1000)),
                                   "micro", test], timeout=300)))
    runner.start()
    try:
        pids = []
        root = ws.root_dir(col.name)
        for _ in range(150):
            time.sleep(0.2)
            pids = procmem.runtime_pids(root, ws.driver)
            # The app is running once a process beyond the runtime's exists.
            if pids and len(procmem.runtime_pids(root, None)) > len(pids):
                break
        if not pids:
            return {"error": "no runtime process found"}
        time.sleep(0.5)  # past the first calibration batches
        fd, out = tempfile.mkstemp(prefix="pyspy-", dir=ws.base)
        os.close(fd)
        cmd = ["py-spy", "record", "--native", "--subprocesses", "-r", "250",
               "-d", str(int(seconds)), "-f", "raw", "-o", out,
               "-p", str(min(pids))]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        with open(out) as f:
            raw = f.read()
        if p.returncode or not raw:
            return {"error": f"py-spy: {p.stderr.strip()[-200:]}"}
        return summarize(raw)
    finally:
        runner.join()
