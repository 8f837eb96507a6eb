#!/usr/bin/env bash
# Install what pyrunsc needs to build, test and demo on a fresh Debian 12
# machine, as root.  Cheap when everything is already there.
set -euo pipefail

APT_PKGS="libseccomp-dev libcap-dev busybox-static runc gcc libc6-dev iproute2 procps"
PIP_PKGS="setuptools wheel cython>=3.0 click>=8.0 cffi python-ptrace pytest pytest-benchmark pytest-timeout hypothesis"

missing=""
for p in $APT_PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install-deps: apt-get install$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing >/dev/null
fi

PY="${PYTHON:-python3}"
if ! "$PY" - <<'PYEOF' 2>/dev/null
import importlib.util, sys
mods = ["wheel", "setuptools", "Cython", "click", "cffi", "ptrace", "pytest", "pytest_benchmark",
        "pytest_timeout", "hypothesis"]
sys.exit(0 if all(importlib.util.find_spec(m) for m in mods) else 1)
PYEOF
then
    echo "install-deps: pip install $PIP_PKGS"
    # shellcheck disable=SC2086
    "$PY" -m pip install -q --root-user-action=ignore $PIP_PKGS
fi

# Optional: the container engines of tests/engines (docker.io, containerd,
# podman, conmon); without them those tests are skipped.
if [ "${PYRUNSC_ENGINES:-0}" = 1 ]; then
    "$(dirname "$0")/engines-setup.sh" >/dev/null
fi
