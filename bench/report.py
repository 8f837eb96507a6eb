"""Turning raw samples into the markdown table, the JSON file and the chart.

Every cell is `median (min–max) ×native`.  Targets from GitHub issue 5 are
evaluated here, from medians, against the pyrunsc columns.
"""

import json
import math
import os
import statistics

from . import suite
from .runtimes import COLUMN_NAMES

PYRUNSC = ("pyrunsc-ptrace", "pyrunsc-seccomp", "pyrunsc-directfs")


def med(values):
    return statistics.median(values) if values else None


def median_of(data, test, column):
    return med(data["samples"].get(test, {}).get(column, []))


def floor_of(data, key):
    return med(data["floors"].get(key, []))


_UNITS = ((10_000, 1, "ns", 0), (10_000_000, 1e3, "µs", 1),
          (10_000_000_000, 1e6, "ms", 1), (float("inf"), 1e9, "s", 2))


def _unit(ns):
    for limit, div, name, digits in _UNITS:
        if ns < limit:
            return div, name, digits
    return _UNITS[-1][1:]


def _fmt_time(ns):
    """A readable time with its unit."""
    div, name, digits = _unit(ns)
    return f"{ns / div:,.{digits}f} {name}"


def _fmt_cell(m, lo, hi, unit):
    """`median unit (lo–hi)` with the range in the median's unit."""
    if unit == "KiB":
        div, name, digits = 1024, "MiB", 1
    else:
        div, name, digits = _unit(m)
    text = f"{m / div:,.{digits}f} {name}"
    if lo is not None:
        text += f" ({lo / div:,.{digits}f}–{hi / div:,.{digits}f})"
    return text


def cell(data, test, column):
    vals = data["samples"].get(test, {}).get(column)
    if not vals:
        return "—"
    unit = suite.unit_of(test)
    m = med(vals)
    many = len(vals) > 1
    text = _fmt_cell(m, min(vals) if many else None, max(vals), unit)
    base = median_of(data, test, "native")
    if base and column != "native" and unit == "ns":
        text += f" **×{m / base:,.1f}**"
    return text


def columns_measured(data):
    return [c for c, info in data["columns"].items() if info["measured"]]


def markdown(data):
    cols = columns_measured(data)
    out = []
    sections = [("Microbenchmarks (per call)", suite.MICROS),
                ("Workloads (whole workload, timed inside the container)",
                 suite.WORKLOADS),
                ("Start-up (wall time of the runtime CLI)", suite.STARTUP),
                ("Density (the runtime's own processes; runc keeps none)",
                 suite.DENSITY)]
    for title, tests in sections:
        tests = [(t, label) for t, label in tests if t in data["samples"]]
        if not tests:
            continue
        out.append(f"### {title}\n")
        out.append("| test | " + " | ".join(cols) + " |")
        out.append("|---|" + "---|" * len(cols))
        for t, label in tests:
            out.append(f"| {label} | "
                       + " | ".join(cell(data, t, c) for c in cols) + " |")
        out.append("")
    if data["floors"]:
        out.append("### Floors (C reference programs on the host, "
                   "ns per call)\n")
        out.append("| floor | median (min–max) |")
        out.append("|---|---|")
        for key in sorted(data["floors"]):
            v = data["floors"][key]
            out.append(f"| {key} | {med(v):,.0f} "
                       f"({min(v):,.0f}–{max(v):,.0f}) |")
        out.append("")
    skipped = {c: i["note"] for c, i in data["columns"].items()
               if not i["measured"]}
    if skipped:
        out.append("Columns not measured in this run:\n")
        for c, note in skipped.items():
            out.append(f"- `{c}`: {note}")
        out.append("")
    if data["errors"]:
        out.append("Failures during the run (those cells are missing or "
                   "have fewer samples):\n")
        seen = set()
        for e in data["errors"]:
            key = (e["test"], e["column"], e["message"])
            if key not in seen:
                seen.add(key)
                out.append(f"- {e['column']} / {e['test']}: {e['message']}")
        out.append("")
    return "\n".join(out)


# -- targets ----------------------------------------------------------------

def geomean(values):
    values = [v for v in values if v]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def summary_markdown(data):
    """One row per sandbox column: geometric means ×native and start-up."""
    cols = [c for c in columns_measured(data) if c != "native"]
    if not cols:
        return ""

    def gm(tests, c):
        return geomean(_ratio(median_of(data, t, c),
                              median_of(data, t, "native")) for t in tests)

    micro = [t for t, _ in suite.MICROS]
    work = [t for t, _ in suite.WORKLOADS]
    out = ["| column | microbenchmarks, geo. mean ×native | workloads, "
           "geo. mean ×native | run /bin/true | runtime RSS, 1 idle |",
           "|---|---|---|---|---|"]
    for c in cols:
        cells = []
        for tests in (micro, work):
            g = gm(tests, c)
            cells.append(f"×{g:,.1f}" if g else "—")
        rt = median_of(data, "run_true", c)
        cells.append(_fmt_time(rt) if rt else "—")
        mem = median_of(data, "idle_mem_1", c)
        cells.append(f"{mem / 1024:,.1f} MiB" if mem is not None else "—")
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _ratio(a, b):
    return a / b if a is not None and b else None


def targets(data):
    """[(target, status, detail)]; status is met / not met / not measured."""
    cols = set(columns_measured(data))

    def m(test, column):
        return median_of(data, test, column) if column in cols else None

    rows = []

    def verdict(text, checks):
        """checks: [(label, value, limit)]; value None = not measured."""
        measured = [(lab, v, lim) for lab, v, lim in checks if v is not None]
        if not measured:
            rows.append((text, "not measured",
                         "the pyrunsc (or comparison) cells it needs are "
                         "missing: not run or failed in this run"))
            return
        ok = all(v <= lim for _, v, lim in measured)
        detail = "; ".join(f"{lab}: {v:.2f} (limit {lim:g})"
                           for lab, v, lim in measured)
        if len(measured) < len(checks):
            detail += "; some columns not measured"
        rows.append((text, "met" if ok else "not met", detail))

    allowed = ("getpid", "read_zero", "write_null", "mmap_munmap")
    checks = []
    for c in ("pyrunsc-ptrace", "pyrunsc-seccomp"):
        ratios = {t: _ratio(m(t, c), m(t, "native")) for t in allowed}
        ratios = {t: r for t, r in ratios.items() if r is not None}
        worst = max(ratios, key=ratios.get) if ratios else None
        label = (f"{c} geometric mean of {'/'.join(allowed)} ×native"
                 + (f" (worst {worst} ×{ratios[worst]:.2f})" if worst
                    else ""))
        checks.append((label, geomean(ratios.values()), 1.05))
    verdict("Allowed syscalls ≤ 1.05× native on both platforms", checks)

    checks = []
    for c, floor in (("pyrunsc-seccomp", "trap.notify"),
                     ("pyrunsc-ptrace", "trap.ptrace")):
        f = floor_of(data, f"{floor} (unpinned)")
        checks.append((f"{c} uname ×{floor} (unpinned)",
                       _ratio(m("uname", c), f), 1.5))
    verdict("A trapped call answered at once ≤ 1.5× its platform's floor",
            checks)

    checks = []
    for t, fk in (("stat3", "stat"), ("open_close", "open_close")):
        c = "pyrunsc-seccomp"
        checks.append((f"{t} ×runsc-systrap-gofer",
                       _ratio(m(t, c), m(t, "runsc-systrap-gofer")), 1.0))
        checks.append((f"{t} ×served C floor",
                       _ratio(m(t, c), floor_of(
                           data, f"serve.served.{fk} (unpinned)")), 1.3))
    verdict("stat and open+close on seccomp faster than runsc-systrap's "
            "gofer mode and ≤ 1.3× the C served floors", checks)

    verdict("File workload ≤ 0.4× runsc-systrap's time",
            [(f"{c} files1000 ×runsc-systrap",
              _ratio(m("files1000", c), m("files1000", "runsc-systrap")), 0.4)
             for c in ("pyrunsc-seccomp", "pyrunsc-directfs")])
    verdict("fork+exec+wait ≤ 1.3× native",
            [(f"{c} ×native", _ratio(m("fork_exec_wait", c),
                                     m("fork_exec_wait", "native")), 1.3)
             for c in ("pyrunsc-ptrace", "pyrunsc-seccomp")])
    verdict("`run /bin/true` in at most half of runsc's time",
            [(f"{c} ×runsc", _ratio(m("run_true", c), m("run_true", "runsc")),
              0.5) for c in ("pyrunsc-ptrace", "pyrunsc-seccomp")])
    verdict("The sandbox's own memory no more than runsc's",
            [(f"{c} idle RSS ×runsc",
              _ratio(m("idle_mem_1", c), m("idle_mem_1", "runsc")), 1.0)
             for c in ("pyrunsc-ptrace", "pyrunsc-seccomp")])
    return rows


def targets_markdown(data):
    out = ["| target | status | detail (ratios of medians) |", "|---|---|---|"]
    for text, status, detail in targets(data):
        mark = {"met": "✅ met", "not met": "❌ not met"}.get(status, status)
        out.append(f"| {text} | {mark} | {detail} |")
    return "\n".join(out) + "\n"


def profiles_markdown(data):
    """Per pyrunsc column and test: where the sentry's samples were."""
    profiles = data.get("profiles") or {}
    if not profiles:
        return ""
    out = ["Shares of the py-spy samples taken in sentry threads "
           "(`--native`): the innermost function (a libc call is time in "
           "the kernel on the sentry's behalf; `poll`/`ioctl` are waiting "
           "for and answering the next trap) and the innermost sentry "
           "function.\n"]
    for col, tests in profiles.items():
        for test, prof in tests.items():
            label = suite.LABELS.get(test, test)
            if "error" in prof:
                out.append(f"- `{col}` / {label}: no profile "
                           f"({prof['error']})")
                continue

            def fmt(rows):
                return ", ".join(f"{name} {pct:g}%" for name, pct in rows[:6])

            out.append(f"- `{col}` / {label} ({prof['sentry_samples']} of "
                       f"{prof['samples']} samples in the sentry):\n"
                       f"  - innermost: {fmt(prof['leaf'])}\n"
                       f"  - sentry function: {fmt(prof['sentry'])}")
    return "\n".join(out) + "\n"


# -- chart --------------------------------------------------------------------

def chart(data, path):
    """Grouped bars (median, min–max whiskers), log scale; returns path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = columns_measured(data)
    panels = [("Microbenchmarks: time per call", [t for t, _ in suite.MICROS]),
              ("Workloads and start-up: wall time",
               [t for t, _ in suite.WORKLOADS + suite.STARTUP])]
    panels = [(title, [t for t in tests if t in data["samples"]])
              for title, tests in panels]
    panels = [p for p in panels if p[1]]
    density = [t for t, _ in suite.DENSITY if t in data["samples"]]
    if (not panels and not density) or not cols:
        return None
    rows = len(panels) + (1 if density else 0)
    fig, axes = plt.subplots(rows, 1, figsize=(15, 5.2 * rows), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    width = 0.8 / len(cols)

    def bars(ax, tests, scale=lambda t: 1.0, labels=None):
        for i, c in enumerate(cols):
            xs, ys, lo, hi = [], [], [], []
            for j, t in enumerate(tests):
                v = [x * scale(t) for x in data["samples"][t].get(c, [])]
                if not v:
                    continue
                m = med(v)
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(m)
                lo.append(m - min(v))
                hi.append(max(v) - m)
            k = COLUMN_NAMES.index(c) if c in COLUMN_NAMES else i
            ax.bar(xs, ys, width, label=c, color=colors[k % len(colors)],
                   yerr=[lo, hi], capsize=2, error_kw={"elinewidth": 0.8})
        ax.set_xticks(range(len(tests)))
        ax.set_xticklabels(labels or [suite.LABELS[t] for t in tests],
                           rotation=20 if not labels else 0,
                           ha="right" if not labels else "center", fontsize=9)
        ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.005, 1.0))

    for ax, (title, tests) in zip(axes[:, 0], panels):
        bars(ax, tests)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_ylabel("median time (log scale)")
        ax.grid(axis="y", which="major", alpha=0.4)
        ticks = [10 ** k for k in range(1, 11)]
        names = ["10 ns", "100 ns", "1 µs", "10 µs", "100 µs", "1 ms",
                 "10 ms", "100 ms", "1 s", "10 s"]
        ax.set_yticks(ticks)
        ax.set_yticklabels(names)
        all_vals = [v for t in tests for c in cols
                    for v in data["samples"][t].get(c, [])]
        if all_vals:
            ax.set_ylim(min(all_vals) / 2, max(all_vals) * 3)
    if density:
        ax = axes[-1, 0]
        per = {"idle_mem_1": 1, "idle_mem_20": 20}
        bars(ax, density, scale=lambda t: 1 / 1024 / per[t],
             labels=[f"{per[t]} idle container{'s' if per[t] > 1 else ''}"
                     for t in density])
        ax.set_title("Density: RSS of the runtime's own processes per "
                     "container (runc keeps none)")
        ax.set_ylabel("MiB per container")
        ax.grid(axis="y", alpha=0.4)
    fig.suptitle("pyrunsc benchmark — median, whiskers min–max "
                 "(lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write(data, out_dir):
    """results.json, table.md and chart.png into out_dir; returns paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {"json": os.path.join(out_dir, "results.json"),
             "table": os.path.join(out_dir, "table.md"),
             "chart": os.path.join(out_dir, "chart.png")}
    with open(paths["json"], "w") as f:
        json.dump(data, f, indent=1)
    with open(paths["table"], "w") as f:
        f.write(markdown(data) + "\n## Targets\n\n" + targets_markdown(data)
                + "\n## Profiles\n\n" + profiles_markdown(data))
    try:
        if chart(data, paths["chart"]) is None:
            paths.pop("chart")
    except ImportError:
        paths.pop("chart")
    return paths
