"""pytest-benchmark suites for developers: syscalls from Python, per family.

    python3 -m pytest bench                      # natively
    python3 -m pytest bench --sandbox=seccomp    # the same, inside `pyrunsc do`
    python3 -m pytest bench --benchmark-autosave / --benchmark-compare

With --sandbox=PLATFORM (ptrace, seccomp, or seccomp+directfs) the whole
pytest run is re-executed inside `pyrunsc --platform PLATFORM do`, so every
benchmark measures calls made inside the sandbox; when pyrunsc cannot run a
command the session is skipped with a note.  The fixture files are made on
the host first (the sandbox's root is read-only) and named by
PYRUNSC_BENCH_FIXTURES.  `make test` runs `pytest tests` and never collects
this directory.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES_ENV = "PYRUNSC_BENCH_FIXTURES"
INSIDE_ENV = "PYRUNSC_BENCH_INSIDE"


def pytest_addoption(parser):
    parser.addoption("--sandbox", default=None,
                     choices=["ptrace", "seccomp", "seccomp+directfs"],
                     help="run the suites inside pyrunsc on this platform")


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


def _pyrunsc():
    exe = shutil.which("pyrunsc")
    return [exe] if exe else [sys.executable, "-m", "cli.main"]


def pytest_cmdline_main(config):
    platform = config.getoption("--sandbox")
    if not platform or os.environ.get(INSIDE_ENV):
        return None
    fixtures = make_fixtures(tempfile.mkdtemp(prefix="pyrunsc-benchfix-"))
    root = tempfile.mkdtemp(prefix="pyrunsc-bench-root-")
    name, _, extra = platform.partition("+")
    flags = ["--root", root, "--platform", name]
    if extra == "directfs":
        flags.append("--directfs")
    args = [a for a in sys.argv[1:] if not a.startswith("--sandbox")]
    env = dict(os.environ, **{FIXTURES_ENV: fixtures, INSIDE_ENV: "1"})
    try:
        smoke = subprocess.run(_pyrunsc() + flags + ["do", "/bin/true"],
                               capture_output=True, text=True, timeout=60,
                               cwd=REPO, env=env)
        if smoke.returncode:
            why = (smoke.stderr.strip().splitlines() or ["?"])[-1]
            print(f"bench: pyrunsc --platform {platform} cannot run a "
                  f"command yet ({why}); skipping", file=sys.stderr)
            return 0
        return subprocess.run(_pyrunsc() + flags + [
            "do", "--cwd", REPO, sys.executable, "-m", "pytest"] + args,
            cwd=REPO, env=env).returncode
    finally:
        shutil.rmtree(fixtures, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


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
