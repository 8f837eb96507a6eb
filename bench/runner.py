"""The interleaved measuring loop.

Each repetition runs every selected group once per column, in column order
(A B C A B C ...), so slow drifts of a shared, noisy machine land on every
column alike.  One driver run per (repetition, column) measures all selected
microbenchmarks, another all workloads.  Samples of every run are kept.
"""

import platform
import subprocess
import time

from . import floors, suite
from . import profile as profiling
from .progress import Progress


class Results:
    """Raw samples: samples[test][column] -> [values]; floors[key] -> [ns]."""

    def __init__(self):
        self.samples = {}
        self.floors = {}
        self.errors = []
        self.columns = {}
        self.meta = {}
        self.profiles = {}

    def add(self, test, column, value):
        self.samples.setdefault(test, {}).setdefault(column, []).append(value)

    def error(self, test, column, message):
        self.errors.append({"test": test, "column": column,
                            "message": message[:500]})

    def to_json(self):
        return {"meta": self.meta, "columns": self.columns,
                "units": {t: suite.unit_of(t) for t in self.samples},
                "samples": self.samples, "floors": self.floors,
                "profiles": self.profiles, "errors": self.errors}


def probe(columns, ws, log):
    """Split columns into (usable, {name: note}) by install + smoke test."""
    usable, notes = [], {}
    for col in columns:
        why = col.missing()
        if why is None:
            why = col.smoke(ws)
        if why:
            notes[col.name] = why
            log(f"bench: skipping {col.name}: {why}")
        else:
            usable.append(col)
    return usable, notes


PROFILE_TESTS = ("uname", "open_close", "stat3")


def run(columns, tests, ws, reps, quick, progress=True, log=print,
        profile_runs=False):
    res = Results()
    res.meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "reps": reps, "quick": quick, "tests": tests,
        "host": platform.node(),
        "loadavg_start": _loadavg(),
    }
    usable, notes = probe(columns, ws, log)
    for col in columns:
        res.columns[col.name] = {
            "measured": col in usable, "note": notes.get(col.name, ""),
            "version": col.version() if col in usable else "",
        }
    groups = [g for g in suite.GROUPS if any(t in suite.GROUPS[g]
                                             for t in tests)]
    micro = [t for t in tests if suite.group_of(t) == "micro"]
    work = [t for t in tests if suite.group_of(t) == "workload"]
    startup = [t for t in tests if suite.group_of(t) == "startup"]
    density = [t for t in tests if suite.group_of(t) == "density"]
    floor_bins = floors.build(ws) if "floors" in tests else {}
    if "floors" in tests:
        res.meta["floors_missing"] = [p for p in floors.PROGRAMS
                                      if p not in floor_bins]
    per_rep = sum(len(usable) for g in ("micro", "workload", "startup")
                  if g in groups)
    per_rep += 2 * len(floor_bins)
    density_reps = 1 if quick else min(reps, 3)
    containers = [c for c in usable if c.container]
    profiled = []
    if profile_runs:
        if profiling.available():
            profiled = [c for c in usable if c.name.startswith("pyrunsc")]
        else:
            res.meta["profile_note"] = "py-spy not installed: no profiles"
    total = (reps * per_rep + density_reps * len(density) * len(containers)
             + len(profiled) * len(PROFILE_TESTS))
    bar = Progress(total, enabled=progress)
    target_ms = "20" if quick else "200"
    runs_true = 2 if quick else 10
    try:
        for rep in range(reps):
            tag = f"rep {rep + 1}/{reps}"
            if micro:
                for col in usable:
                    bar.step(f"micro {col.name} {tag}")
                    _driver(res, col, ws, ["--target-ms", target_ms, "micro"]
                            + micro, micro)
            if work:
                for col in usable:
                    bar.step(f"workloads {col.name} {tag}")
                    _driver(res, col, ws, ["workload"] + work, work)
            if startup:
                for col in usable:
                    bar.step(f"start-up {col.name} {tag}")
                    _startup(res, col, ws, startup, runs_true)
            for program, binary in floor_bins.items():
                for pinned in (True, False):
                    bar.step(f"floor {program} {tag}")
                    _floor(res, program, binary, pinned, quick)
        for rep in range(density_reps):
            for test in density:
                count = 20 if test == "idle_mem_20" else 1
                for col in containers:
                    bar.step(f"density x{count} {col.name}")
                    try:
                        rss, pss = col.idle_memory(ws, count)
                        res.add(test, col.name, rss)
                        res.add(test + "_pss", col.name, pss)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        res.error(test, col.name, str(e))
        for col in profiled:
            for test in PROFILE_TESTS:
                bar.step(f"profile {col.name} {test}")
                try:
                    res.profiles.setdefault(col.name, {})[test] = \
                        profiling.profile(col, ws, test,
                                          seconds=2 if quick else 4)
                except (RuntimeError, OSError,
                        subprocess.TimeoutExpired) as e:
                    res.profiles.setdefault(col.name, {})[test] = {
                        "error": str(e)}
    finally:
        bar.finish()
        for col in columns:
            col.cleanup(ws)
    res.meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    res.meta["loadavg_end"] = _loadavg()
    return res


def _loadavg():
    """The 1-minute load average: how busy the shared machine was."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _driver(res, col, ws, args, names):
    try:
        r = col.run_driver(ws, args, timeout=900)
    except subprocess.TimeoutExpired:
        res.error(names[0], col.name, "driver run timed out")
        return
    got = r.results()
    for name in names:
        if name in got:
            res.add(name, col.name, got[name])
    for e in r.errors():
        res.error(e.split(":")[0], col.name, e)
    if r.rc and not r.errors():
        res.error(names[0], col.name, f"driver exit {r.rc}: {r.tail()}")


def _startup(res, col, ws, tests, runs_true):
    for test in tests:
        try:
            if test == "run_true":
                for _ in range(runs_true):
                    res.add(test, col.name, col.time_run_true(ws) * 1e9)
            elif col.container:
                res.add(test, col.name, col.time_create_start_delete(ws) * 1e9)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            res.error(test, col.name, str(e))


def _floor(res, program, binary, pinned, quick):
    where = "pinned" if pinned else "unpinned"
    try:
        for key, ns in floors.run(binary, program, pinned, quick).items():
            res.floors.setdefault(f"{key} ({where})", []).append(ns)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        res.error("floors", program, f"{where}: {e}")
