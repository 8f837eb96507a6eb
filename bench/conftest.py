"""pytest-benchmark suites for developers: syscalls from Python, per family.

    python3 -m pytest bench                              # natively
    python3 -m pytest bench --sandbox=pyrunsc-seccomp    # inside a runtime
    python3 -m pytest bench --benchmark-autosave / --benchmark-compare

--sandbox=COLUMN takes any container column of the harness (pyrunsc-ptrace,
pyrunsc-seccomp, pyrunsc-directfs, runc, runsc, runsc-systrap, ...): the
whole pytest run is re-executed inside a container of that runtime, on the
harness's bundle (host root read-only, a host tmpfs read-write at /tmp).
The fixture files and the benchmark storage live in that tmpfs; saved runs
are copied back to the checkout's .benchmarks/ afterwards, so
--benchmark-compare works across native and sandboxed runs.  A runtime that
is missing or fails the smoke test skips the session with a note.
`make test` runs `pytest tests` and never collects this directory.
"""

import os
import shutil
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES_ENV = "PYRUNSC_BENCH_FIXTURES"
INSIDE_ENV = "PYRUNSC_BENCH_INSIDE"


def pytest_addoption(parser):
    parser.addoption("--sandbox", default=None, metavar="COLUMN",
                     help="run the suites inside this runtime column")


def make_fixtures(d):
    """file, d1/d2/file (3 components), link -> file, dir100/ (100 files)."""
    os.makedirs(os.path.join(d, "d1", "d2"), exist_ok=True)
    os.makedirs(os.path.join(d, "dir100"), exist_ok=True)
    for p in ("file", "d1/d2/file"):
        with open(os.path.join(d, p), "w") as f:
            f.write("hello\n")
    if not os.path.islink(os.path.join(d, "link")):
        os.symlink("file", os.path.join(d, "link"))
    for i in range(100):
        open(os.path.join(d, "dir100", f"entry{i:03d}"), "w").close()
    return d


def _inner_args():
    """The user's pytest arguments without --sandbox."""
    out, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a == "--sandbox":
            skip = True
        elif not a.startswith("--sandbox="):
            out.append(a)
    return out


def pytest_cmdline_main(config):
    name = config.getoption("--sandbox")
    if not name or os.environ.get(INSIDE_ENV):
        return None
    sys.path.insert(0, REPO)
    from bench.runtimes import make_columns
    from bench.workspace import CONTAINER_WORK, Workspace
    cols = {c.name: c for c in make_columns() if c.container}
    if name not in cols:
        raise pytest.UsageError(f"--sandbox: unknown column {name!r} "
                                f"(know: {', '.join(cols)})")
    col = cols[name]
    why = col.missing()
    if why:
        print(f"bench: {name}: {why}; skipping", file=sys.stderr)
        return 0
    ws = Workspace().open()
    try:
        why = col.smoke(ws)
        if why:
            print(f"bench: {name}: {why}; skipping", file=sys.stderr)
            return 0
        work = ws.work_dir(col.name)
        make_fixtures(os.path.join(work, "fixtures"))
        store = os.path.join(REPO, ".benchmarks")
        if os.path.isdir(store):
            shutil.copytree(store, os.path.join(work, ".benchmarks"))
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                "--benchmark-storage", f"{CONTAINER_WORK}/.benchmarks",
                ] + _inner_args()
        env = {FIXTURES_ENV: f"{CONTAINER_WORK}/fixtures", INSIDE_ENV: "1",
               "PYTHONDONTWRITEBYTECODE": "1"}
        r = col.run(ws, argv, timeout=3600, cwd=os.getcwd(), env=env,
                    capture=False)
        saved = os.path.join(work, ".benchmarks")
        if any(files for _, _, files in os.walk(saved)):
            shutil.copytree(saved, store, dirs_exist_ok=True)
        return r.rc
    finally:
        col.cleanup(ws)
        ws.close()


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    """Directory with the fixture files; chdir'd into for relative paths."""
    d = os.environ.get(FIXTURES_ENV)
    if not d:
        d = make_fixtures(str(tmp_path_factory.mktemp("fixtures")))
    old = os.getcwd()
    os.chdir(d)
    try:
        yield d
    finally:
        os.chdir(old)
