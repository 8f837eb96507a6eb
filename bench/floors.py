"""The C floors: ../shared/reference/trap_limit.c and serve_limit.c.

Built with gcc -O2 into the run's private data dir (never copied into the
repo) and run on the host, pinned to CPU 0 with taskset and unpinned, in
the same interleaved loop as the columns.  Results are ns per call, keyed
like "trap.notify" or "serve.served.stat".
"""

import re
import subprocess

_TRAP = re.compile(r"^(\S+)\s+([\d.]+) ns/call")
_SERVE = re.compile(r"^(\S+)\s+open\+close\s+([\d.]+) ns\s+stat\s+([\d.]+) ns")

PROGRAMS = ("trap_limit", "serve_limit")


def build(ws):
    """{program: binary path}; a missing reference source is left out."""
    out = {}
    for name in PROGRAMS:
        path = ws.build_reference(name)
        if path:
            out[name] = path
    return out


def parse(program, text):
    res = {}
    for line in text.splitlines():
        if program == "trap_limit":
            m = _TRAP.match(line.strip())
            if m:
                res[f"trap.{m.group(1)}"] = float(m.group(2))
        else:
            m = _SERVE.match(line.strip())
            if m:
                res[f"serve.{m.group(1)}.open_close"] = float(m.group(2))
                res[f"serve.{m.group(1)}.stat"] = float(m.group(3))
    return res


def run(binary, program, pinned, quick):
    """One run of a floor program; {key: ns}."""
    n = {"trap_limit": 20000 if quick else 100000,
         "serve_limit": 5000 if quick else 20000}[program]
    cmd = [binary, str(n)]
    if pinned:
        cmd = ["taskset", "-c", "0"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode:
        raise RuntimeError(f"{program}: exit {p.returncode}: "
                           f"{p.stderr.strip()[-200:]}")
    return parse(program, p.stdout)
