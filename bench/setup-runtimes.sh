#!/usr/bin/env bash
# Install what the benchmark's comparison columns need, when missing:
# runc and runsc (Debian's packages), the newer runsc with systrap
# (../shared/tools/fetch-runsc-new, into /opt/anchors/runsc-new), and
# matplotlib for the chart, py-spy for the profiles of pyrunsc.  A column that still cannot run is skipped by
# the harness with a note, so nothing here is fatal.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
missing=""
for p in runc runsc gcc libc6-dev tar findutils util-linux; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "bench: apt-get install$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null ||
        echo "bench: apt-get failed; the missing columns will be skipped"
fi
fetch="$here/../../shared/tools/fetch-runsc-new"
if [ ! -x /opt/anchors/runsc-new/runsc ]; then
    if [ -x "$fetch" ] || [ -f "$fetch" ]; then
        echo "bench: fetching runsc-new (systrap)"
        bash "$fetch" >/dev/null || echo "bench: fetch-runsc-new failed; runsc-systrap columns will be skipped"
    else
        echo "bench: $fetch not found; runsc-systrap columns will be skipped"
    fi
fi
PY="${PYTHON:-python3}"
"$PY" -c "import matplotlib" 2>/dev/null ||
    "$PY" -m pip install -q --root-user-action=ignore matplotlib ||
    echo "bench: no matplotlib; the chart will be missing"
command -v py-spy >/dev/null ||
    "$PY" -m pip install -q --root-user-action=ignore py-spy ||
    echo "bench: no py-spy; pyrunsc will not be profiled"
exit 0
