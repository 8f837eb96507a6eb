# pyrunsc — build, demo, test.  Every target installs what it needs.
PY ?= python3
PYTEST_ARGS ?=

.PHONY: all deps build install demo test test-all unit conformance bench clean debug

all: install

deps:
	@scripts/install-deps.sh

build: deps
	$(PY) setup.py -q build_ext --inplace -j 2

debug: deps
	PYRUNSC_DEBUG=1 $(PY) setup.py -q build_ext --inplace --force -j 2

# Editable install: the `pyrunsc` console script runs this checkout.
# /usr/local/bin/pyrunsc is a fast launcher (no site processing): engines
# need a fixed path and call it several times per container.  Bytecode is
# compiled here because PYTHONDONTWRITEBYTECODE may be set.
install: build
	@$(PY) -m pip install -q --root-user-action=ignore --no-build-isolation --no-deps -e . >/dev/null
	@$(PY) -m compileall -q cli runtime sentry >/dev/null
	@$(PY) scripts/install-launcher.py /usr/local/bin/pyrunsc
	@pyrunsc --version >/dev/null || { echo "pyrunsc does not run"; exit 1; }

# The main job: a command inside a sandbox on the embedded default (the host
# root, read-only, as `runsc do` does).
demo: install
	pyrunsc --root /run/pyrunsc-demo do -- /bin/sh -c '\
	  echo "hostname: $$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"; \
	  echo "my pid:   $$$$"; \
	  echo "processes:"; ps -o pid,user,args 2>/dev/null || ls /proc | grep -E "^[0-9]+$$"; \
	  echo "mounts:"; cat /proc/self/mounts; \
	  echo "root is read-only:"; touch /etc/pyrunsc-demo 2>&1 || true'

test: install
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS) tests

test-all: install
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

unit: build
	$(PY) -m pytest -q tests/unit

conformance: install
	$(PY) -m pytest -q tests/conformance

# Side-by-side benchmark (docs/performance.md).  A pyrunsc that does not
# build or run only loses its columns; runc, runsc and runsc-new are
# installed or fetched when missing.  BENCH_ARGS=--quick for a short run.
bench: deps
	@$(MAKE) --no-print-directory install || echo "bench: pyrunsc did not build; its columns will be skipped"
	@bench/setup-runtimes.sh
	$(PY) -m bench --write-docs --profile $(BENCH_ARGS)

clean:
	rm -rf build *.egg-info
	find sentry -name '*.so' -delete -o -name '*.c' -delete -o -name '*.html' -delete
