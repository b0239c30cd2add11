# One obvious command for each habit. `make demo` and `make test` each set everything up first.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
# Much of the suite waits on Chromium, TLS and simulated ingestion: four workers per core keep both cores busy
# (measured on the quiet 2-core machine: 6 workers left 14% idle and took 6 min 47 s, 8 workers 4% and
# 6 min 27 s; figures in the README).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 4 )))

.PHONY: setup demo test check lint typecheck bench clean wheel installed

setup: $(STAMP)
	@$(PY) -m drill.browser.locate --install >/dev/null
	@# pdftoppm (poppler-utils) renders report PDFs in the evidence tests; Debian's package, as root only.
	@command -v pdftoppm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils; } >/dev/null; } \
	  || echo "note: install poppler-utils (pdftoppm) to run the PDF rendering tests"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[sim,dev]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/drill demo

# The environment may say PYTHONDONTWRITEBYTECODE: cleared for the run, so each worker loads compiled modules and
# pytest's rewritten test modules (in __pycache__, ignored by git and left out of the wheel) instead of
# recompiling them; one collection warms them. Installed packages use the .pyc pip wrote at install: a
# PYTHONPYCACHEPREFIX would make every fresh clone recompile all of them (msgraph-sdk alone is 16,000 modules).
TEST_ENV = PYTHONDONTWRITEBYTECODE=

test: setup
	@$(TEST_ENV) $(PY) -m pytest --collect-only -q >/dev/null 2>&1 || true  # errors: the run below shows them
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: setup
	$(VENV)/bin/ruff check drill tests bench
	$(VENV)/bin/ruff format --check drill tests bench
	$(VENV)/bin/actionlint -no-color examples/ci/github-actions.yml

typecheck: setup
	$(VENV)/bin/mypy

check: lint typecheck

# The wheel a user installs (pip, pipx), built from this tree with the same command the Dockerfile's first
# stage runs; `make installed` proves it from a clean venv outside the checkout (.ci/installed).
wheel: setup
	rm -rf dist
	$(PY) -m pip wheel -q --no-deps --wheel-dir dist .

installed: wheel
	bash .ci/installed

bench: setup
	$(PY) bench/kql_scale.py
	$(PY) bench/drill_overhead.py
	$(PY) bench/audit_scale.py
	$(PY) bench/unreachable.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build
