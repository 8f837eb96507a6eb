"""Fixtures of the OCI conformance suite.

Which runtimes run: ``--runtime=runc,pyrunsc`` (repeatable or comma
separated), else ``$CONFORMANCE_RUNTIMES``, else pyrunsc plus runc when runc
is installed.  Every test that takes the ``rt`` fixture runs once per runtime
(test ids end in ``[runc]`` / ``[pyrunsc]``).

``@pytest.mark.runc_deviation("why")`` marks a spec requirement that runc
1.1.5 is known not to meet: for runc only the test becomes a strict xfail
(it must keep failing, or the mark is stale); other runtimes must pass it.
"""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

import ocitest


def pytest_addoption(parser):
    group = parser.getgroup("conformance")
    try:
        group.addoption(
            "--runtime", action="append", default=[],
            help="OCI runtime(s) for tests/conformance: runc, pyrunsc "
                 "(comma separated or repeated)")
    except ValueError:
        pass    # a global conftest already defines it


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "runc_deviation(reason): runc 1.1.5 does not meet this "
        "spec requirement; strict xfail for runc only")


def selected_runtimes(config):
    names = []
    for opt in config.getoption("--runtime") or []:
        names += [n.strip() for n in opt.split(",") if n.strip()]
    if not names and os.environ.get("CONFORMANCE_RUNTIMES"):
        names = [n.strip() for n in
                 os.environ["CONFORMANCE_RUNTIMES"].split(",") if n.strip()]
    if not names:
        names = ["pyrunsc"] + (["runc"] if shutil.which("runc") else [])
    for n in names:
        if n not in ocitest.KNOWN_RUNTIMES:
            raise pytest.UsageError(f"unknown runtime {n!r}; known: "
                                    f"{', '.join(ocitest.KNOWN_RUNTIMES)}")
    return list(dict.fromkeys(names))


def pytest_generate_tests(metafunc):
    if "runtime_name" in metafunc.fixturenames:
        metafunc.parametrize("runtime_name",
                             selected_runtimes(metafunc.config),
                             scope="session")


def pytest_collection_modifyitems(config, items):
    for item in items:
        mark = item.get_closest_marker("runc_deviation")
        callspec = getattr(item, "callspec", None)
        if mark and callspec and callspec.params.get("runtime_name") == "runc":
            item.add_marker(pytest.mark.xfail(
                strict=True, reason="runc deviation: " + mark.args[0]))


@pytest.fixture(scope="session")
def conformance_dir(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the conformance suite creates containers: needs root")
    return tmp_path_factory.mktemp("conformance")


@pytest.fixture(scope="session")
def probe_binary(conformance_dir):
    return ocitest.build_probe(conformance_dir / "probe")


@pytest.fixture(scope="session")
def rootfs_template(conformance_dir, probe_binary):
    return ocitest.build_rootfs(conformance_dir / "rootfs", probe_binary)


@pytest.fixture
def rt(runtime_name, rootfs_template, tmp_path):
    """The runtime under test with a private --root; kills and deletes
    every container it made when the test ends."""
    runtime = ocitest.Runtime(runtime_name, tmp_path, rootfs_template)
    try:
        yield runtime
    finally:
        runtime.cleanup()


@pytest.fixture(autouse=True)
def _record_requirement(request, record_property):
    """Puts the requirement (the test docstring's first paragraph) into
    the junit XML, for report.py."""
    doc = (request.function.__doc__ or "").strip().split("\n\n")[0]
    if doc:
        record_property("requirement", " ".join(doc.split()))
    callspec = getattr(request.node, "callspec", None)
    case = request.node.originalname
    if callspec:
        parts = callspec.id.split("-")
        runtime = callspec.params.get("runtime_name")
        if runtime in parts:
            parts.remove(runtime)
            record_property("runtime", runtime)
        if parts:
            case += "[" + "-".join(parts) + "]"
    record_property("case", case)
    mark = request.node.get_closest_marker("runc_deviation")
    if mark:
        record_property("runc_deviation", mark.args[0])


@pytest.fixture
def hook_dir(tmp_path):
    d = tmp_path / "hooks"
    d.mkdir()
    return d


@pytest.fixture
def netns():
    """A named network namespace made with `ip netns add`, deleted after."""
    name = f"oci-conf-{uuid.uuid4().hex[:10]}"
    subprocess.run(["ip", "netns", "add", name], check=True,
                   capture_output=True)
    try:
        yield Path("/var/run/netns") / name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


@pytest.fixture
def cgroup_name(rt):
    """A unique absolute cgroupsPath; any leftover directory is removed."""
    name = f"/oci-conf-{rt.new_id()}"
    try:
        yield name
    finally:
        base = Path("/sys/fs/cgroup")
        for ctl in list(base.iterdir()):
            d = ctl / name.lstrip("/")
            if d.is_dir():
                try:
                    d.rmdir()
                except OSError:
                    pass
