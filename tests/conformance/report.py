#!/usr/bin/env python3
"""Run the OCI conformance suite per runtime and write docs/conformance.md.

    python3 tests/conformance/report.py                   # pyrunsc and runc
    python3 tests/conformance/report.py --runtime runc    # one column only

Each runtime's results are kept in tests/conformance/results/<runtime>.json,
so regenerating one column keeps the other.  The table has one row per test
(requirement = the test docstring's first line); a runc deviation is a test
marked ``runc_deviation`` that runc is known to fail (strict xfail).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE / "results"
DOC = REPO / "docs" / "conformance.md"
RUNTIMES = ("runc", "pyrunsc")

AREAS = {
    "test_oci_lifecycle": "lifecycle (runtime.md)",
    "test_oci_hooks": "hooks (config.md)",
    "test_oci_process": "process (config.md)",
    "test_oci_filesystem": "root, mounts, devices, paths",
    "test_oci_linux": "namespaces, sysctl, cgroups (config-linux.md)",
}

NOTES = """\
## How the suite works

* `tests/conformance/` drives a runtime only through its CLI
  (`<runtime> --root /tmp/oci-conf-... create|start|state|kill|delete|run`
  and `spec`),
  each test with its own `--root` under /tmp and its own bundle: a copy of a
  busybox-static rootfs plus `/probe`, a static C program
  (`tests/conformance/probe/probe.c`) that prints what the container process
  sees of itself as JSON (ids, groups, umask, cwd, env, rlimits, capability
  sets, no_new_privs, namespaces, mountinfo, cgroups, oom_score_adj) and
  answers `stat=`/`read=`/`write=`/`list=`/`open=`/`sysctl=` questions.
* The config is built by the suite (`ocitest.default_spec`, like `runc spec`
  but with `terminal: false`), never by the runtime's `spec`, which has tests
  of its own.
* Requirements follow the OCI runtime spec (runtime.md, config.md,
  config-linux.md, v1.0.2) and the checks of opencontainers/runtime-tools
  `validation/`; where runc 1.1.5 does not meet a MUST, the test is marked
  `runc_deviation` (strict xfail for runc only: if runc ever passes, the mark
  fails the run) and listed below.  Other runtimes must pass those tests.
* Host specifics: cgroup checks read the v1 hierarchies of this hybrid host
  (`/sys/fs/cgroup/<controller>/<cgroupsPath>`); `oomScoreAdj` is tested
  with values above the runtime's own because lowering it needs
  CAP_SYS_RESOURCE, which this host's root lacks; the sysctl refusal tests
  ask for the host's current value so that a runtime that wrongly applies it
  changes nothing.

## Choices where the spec leaves room

* `delete` of a *created* container: the spec says deleting a container that
  is not stopped MUST fail; runc deletes it (killing it first), and
  containerd's shim has relied on that.  The suite follows the spec; a
  runtime that copies runc here fails `test_delete_created_fails` knowingly.
* Poststart hooks: runc runs them inside `create`; the spec puts them after
  the user process starts, before `start` returns.
* A device listed in `linux.devices` is created as given, but whether it can
  be opened is left to `linux.resources.devices` (runc does not add an allow
  rule for it, and the spec does not require one).
"""


def run_suite(runtime, extra):
    with tempfile.TemporaryDirectory(prefix="oci-conf-report-") as d:
        xml = Path(d) / "junit.xml"
        files = sorted(str(f) for f in HERE.glob("test_oci_*.py"))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               *files, f"--runtime={runtime}", f"--junitxml={xml}",
               "-o", "junit_family=xunit1", *extra]
        print("+", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, cwd=REPO)
        if not xml.exists():
            raise SystemExit("pytest wrote no junit xml "
                             f"(exit {proc.returncode})")
        return parse_junit(xml)


def parse_junit(xml):
    results = {}
    for tc in ET.parse(xml).iter("testcase"):
        props = {p.get("name"): p.get("value")
                 for p in tc.iter("property")}
        case = props.get("case") or tc.get("name")
        module = (tc.get("classname") or "").split(".")[-1]
        if tc.find("failure") is not None or tc.find("error") is not None:
            el = tc.find("failure")
            if el is None:
                el = tc.find("error")
            outcome, detail = "fail", (el.get("message") or "")[:300]
        elif tc.find("skipped") is not None:
            el = tc.find("skipped")
            if (el.get("type") or "") == "pytest.xfail":
                outcome, detail = "xfail", el.get("message") or ""
            else:
                outcome, detail = "skip", el.get("message") or ""
        else:
            outcome, detail = "pass", ""
        results[case] = {"module": module, "outcome": outcome,
                         "detail": detail,
                         "requirement": props.get("requirement", ""),
                         "runc_deviation": props.get("runc_deviation", "")}
    return results


def runtime_version(runtime):
    if runtime == "runc":
        try:
            out = subprocess.run(["runc", "--version"], capture_output=True,
                                 text=True).stdout
            return out.splitlines()[0]
        except (OSError, IndexError):
            return "runc (not installed)"
    return "pyrunsc (this checkout)"


def cell(r):
    if r is None:
        return "not run"
    return {"pass": "pass", "fail": "**FAIL**", "skip": "skip",
            "xfail": "FAIL (known deviation)"}[r["outcome"]]


def write_doc(all_results, meta):
    cases = {}
    for rt in RUNTIMES:
        for case, r in all_results.get(rt, {}).items():
            cases.setdefault(case, r)
    order = list(AREAS)
    rows = sorted(cases.items(), key=lambda kv: (
        order.index(kv[1]["module"]) if kv[1]["module"] in order else 99))
    lines = ["# OCI runtime-spec conformance", "",
             "Generated by `tests/conformance/report.py`; do not edit by "
             "hand (notes live in the script).", ""]
    lines.append("| runtime | version | run on | pass | fail | known "
                 "deviation | skip |")
    lines.append("|---|---|---|---|---|---|---|")
    for rt in RUNTIMES:
        res = all_results.get(rt)
        m = meta.get(rt, {})
        if not res:
            lines.append(f"| {rt} | - | not run | | | | |")
            continue
        count = {k: sum(1 for r in res.values() if r["outcome"] == k)
                 for k in ("pass", "fail", "xfail", "skip")}
        lines.append(f"| {rt} | {m.get('version', '')} | {m.get('date', '')}"
                     f" {m.get('host', '')} | {count['pass']} | "
                     f"{count['fail']} | {count['xfail']} | "
                     f"{count['skip']} |")
    lines += ["", "Regenerate: `python3 tests/conformance/report.py` (both "
              "runtimes) or `--runtime runc` / `--runtime pyrunsc` for one "
              "column; the suite alone: `python3 -m pytest "
              "tests/conformance --runtime=runc,pyrunsc`.", ""]
    lines.append("| area | requirement | test | runc | pyrunsc |")
    lines.append("|---|---|---|---|---|")
    for case, r in rows:
        area = AREAS.get(r["module"], r["module"])
        req = r["requirement"].replace("|", "\\|")
        row = [area, req, f"`{case}`"]
        for rt in RUNTIMES:
            row.append(cell(all_results.get(rt, {}).get(case)))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Where runc 1.1.5 deviates from the spec", ""]
    devs = [(c, r) for c, r in rows if r["runc_deviation"]]
    for case, r in devs:
        lines.append(f"* `{case}`: {r['requirement']} - "
                     f"{r['runc_deviation']}.")
    failing = [(rt, c, r) for rt in RUNTIMES
               for c, r in all_results.get(rt, {}).items()
               if r["outcome"] == "fail"]
    if failing and all_results.get("runc"):
        runc_fail = [c for rt, c, r in failing if rt == "runc"]
        if runc_fail:
            lines += ["", "Unexpected runc failures (suite bugs or host "
                      "limits to look at): " +
                      ", ".join(f"`{c}`" for c in runc_fail)]
    lines += ["", NOTES]
    DOC.write_text("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", action="append", choices=RUNTIMES,
                    help="runtime(s) to run (default: all)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    for rt in args.runtime or RUNTIMES:
        res = run_suite(rt, args.pytest_args)
        meta = {"version": runtime_version(rt),
                "date": datetime.datetime.now(datetime.timezone.utc)
                .strftime("%Y-%m-%d"),
                "host": f"(Linux {platform.release()})"}
        (RESULTS / f"{rt}.json").write_text(
            json.dumps({"meta": meta, "results": res}, indent=1))
    all_results, meta = {}, {}
    for rt in RUNTIMES:
        f = RESULTS / f"{rt}.json"
        if f.exists():
            data = json.loads(f.read_text())
            all_results[rt], meta[rt] = data["results"], data["meta"]
    write_doc(all_results, meta)
    print(f"wrote {os.path.relpath(DOC, REPO)}")


if __name__ == "__main__":
    main()
