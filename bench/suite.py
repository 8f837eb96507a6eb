"""What the harness measures: test names, groups, units and labels."""

MICROS = [
    ("getpid", "getpid (allowed)"),
    ("getppid", "getppid"),
    ("uname", "uname (emulated, answered at once)"),
    ("open_close", "open+close existing file"),
    ("stat3", "stat, 3 components deep"),
    ("open_missing", "openat of a missing file"),
    ("readlink", "readlink"),
    ("getdents100", "getdents64 of a 100-entry dir"),
    ("read_zero", "read 1 byte /dev/zero"),
    ("write_null", "write 1 byte /dev/null"),
    ("mmap_munmap", "mmap+munmap 4 KiB"),
    ("pipe_pingpong", "pipe ping-pong (round trip)"),
    ("fork_wait", "fork+wait"),
    ("fork_exec_wait", "fork+exec+wait"),
]
WORKLOADS = [
    ("files1000", "create/stat/read/unlink 1000 files"),
    ("python_import", "python3 -c 'import json, email, ...'"),
    ("gcc_hello", "gcc -O2 hello.c"),
    ("tar_extract", "tar -x of a 3000-file tree"),
    ("find_tree", "find over that tree"),
]
STARTUP = [
    ("run_true", "run /bin/true (wall)"),
    ("create_start_delete", "create+start+delete (wall)"),
]
DENSITY = [
    ("idle_mem_1", "runtime RSS, 1 idle container"),
    ("idle_mem_20", "runtime RSS, 20 idle containers"),
]

GROUPS = {
    "micro": [n for n, _ in MICROS],
    "workload": [n for n, _ in WORKLOADS],
    "startup": [n for n, _ in STARTUP],
    "density": [n for n, _ in DENSITY],
    "floors": ["floors"],
}
LABELS = dict(MICROS + WORKLOADS + STARTUP + DENSITY)
ALL_TESTS = [t for g in GROUPS.values() for t in g]


def group_of(test):
    for g, tests in GROUPS.items():
        if test in tests:
            return g
    raise KeyError(test)


def unit_of(test):
    """ns for times, KiB for memory."""
    return "KiB" if test.startswith("idle_mem") else "ns"


def expand(spec):
    """Comma list of tests and group names -> ordered test names."""
    if not spec or spec == "all":
        return list(ALL_TESTS)
    want = set()
    for item in spec.split(","):
        item = item.strip()
        if item in GROUPS:
            want.update(GROUPS[item])
        elif item in ALL_TESTS:
            want.add(item)
        else:
            raise ValueError(f"unknown test {item!r} (know: "
                             f"{', '.join(list(GROUPS) + ALL_TESTS)})")
    return [t for t in ALL_TESTS if t in want]
