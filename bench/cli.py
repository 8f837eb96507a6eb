"""Command line of the harness: pick columns, tests, repetitions; write out.

    python3 -m bench [--columns a,b] [--tests micro,run_true] [--reps N]
                     [--quick] [--out DIR] [--write-docs] [--from-json F]
"""

import argparse
import datetime
import importlib.util
import json
import os
import shutil
import subprocess
import sys

from . import docs, machine, report, runner, suite
from .runtimes import COLUMN_NAMES, make_columns
from .workspace import REPO, Workspace, WorkspaceError


def ensure_matplotlib():
    """The chart needs matplotlib; install it for the bench alone."""
    if importlib.util.find_spec("matplotlib"):
        return True
    print("bench: installing matplotlib for the chart", file=sys.stderr)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        "--root-user-action=ignore", "matplotlib"])
    importlib.invalidate_caches()
    return r.returncode == 0


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python3 -m bench",
        description="Measure syscall, workload, start-up and memory cost of "
                    "pyrunsc side by side with native, runc and runsc.")
    p.add_argument("--columns", default="all",
                   help="comma list of columns (default all): "
                        + ", ".join(COLUMN_NAMES))
    p.add_argument("--tests", default=None,
                   help="comma list of tests or groups (default all); groups: "
                        + ", ".join(suite.GROUPS) + "; tests: "
                        + ", ".join(t for t in suite.ALL_TESTS
                                    if t != "floors"))
    p.add_argument("--reps", type=int, default=None,
                   help="repetitions, interleaved across columns "
                        "(default 5, --quick 3)")
    p.add_argument("--quick", action="store_true",
                   help="short batches, 3 repetitions, no 20-container "
                        "density unless named in --tests (a couple of "
                        "minutes)")
    p.add_argument("--out", default=os.path.join(REPO, "bench", "results"),
                   help="results parent dir (a timestamped dir is made in it)")
    p.add_argument("--write-docs", action="store_true",
                   help="also rewrite docs/performance.md and docs/perf.png")
    p.add_argument("--from-json", metavar="FILE",
                   help="do not measure: report on an earlier results.json")
    p.add_argument("--profile", action="store_true",
                   help="after measuring, sample the pyrunsc columns with "
                        "py-spy during uname, open+close and stat")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def pick_columns(spec):
    cols = make_columns()
    if spec in ("", "all"):
        return cols
    want = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [w for w in want if w not in COLUMN_NAMES]
    if unknown:
        raise ValueError(f"unknown column {unknown[0]!r} (know: "
                         f"{', '.join(COLUMN_NAMES)})")
    if "native" not in want:
        want.insert(0, "native")  # every ×native ratio needs it
    return [c for c in cols if c.name in want]


def measure(args):
    tests = suite.expand(args.tests or "all")
    if args.quick and args.tests is None:
        # 20 sandboxes take minutes on their own: only when asked for.
        tests.remove("idle_mem_20")
    cols = pick_columns(args.columns)
    reps = args.reps or (3 if args.quick else 5)
    if os.geteuid() != 0:
        raise WorkspaceError("the harness needs root (mounts, containers)")
    with Workspace() as ws:
        res = runner.run(cols, tests, ws, reps, args.quick,
                         progress=not args.no_progress,
                         log=lambda m: print(m, file=sys.stderr),
                         profile_runs=args.profile)
    data = res.to_json()
    data["meta"]["machine"] = machine.describe()
    data["meta"]["command"] = "python3 -m bench " + " ".join(sys.argv[1:])
    data["meta"]["pyrunsc_commit"] = _commit()
    return data


def _commit():
    """The checkout's commit, marked when the tree has local changes."""
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short",
                               "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (head or "?") + (" with local changes" if dirty else "")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.from_json:
            with open(args.from_json) as f:
                data = json.load(f)
        else:
            data = measure(args)
    except (ValueError, WorkspaceError) as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    ensure_matplotlib()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = (os.path.dirname(os.path.abspath(args.from_json))
               if args.from_json else os.path.join(args.out, stamp))
    paths = report.write(data, out_dir)
    print(report.markdown(data))
    print("## Targets\n")
    print(report.targets_markdown(data))
    print(report.profiles_markdown(data))
    for kind, path in paths.items():
        print(f"bench: {kind}: {path}", file=sys.stderr)
    if args.write_docs:
        chart = os.path.join(REPO, "docs", "perf.png")
        if "chart" in paths:
            shutil.copyfile(paths["chart"], chart)
        docs.write(data, os.path.join(REPO, "docs", "performance.md"),
                   has_chart="chart" in paths)
        print("bench: wrote docs/performance.md", file=sys.stderr)
    return 0
