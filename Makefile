# One obvious command for each habit. `make demo` and `make test` each set everything up first.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: setup demo test check lint typecheck bench clean

setup: $(STAMP)
	@$(PY) -m drill.browser.locate --install >/dev/null

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[sim,dev]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/drill demo

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check drill tests bench
	$(VENV)/bin/ruff format --check drill tests bench

typecheck: setup
	$(VENV)/bin/mypy

check: lint typecheck

bench: setup
	$(PY) bench/kql_scale.py
	$(PY) bench/drill_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
