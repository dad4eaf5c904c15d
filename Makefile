# enttag: the two commands are `make repro` and `make test`.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: repro test lint setup clean-venv

setup: $(STAMP)

# (Re)install when pyproject.toml changes; torch==2.13.0 resolves to the local CPU build.
$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

repro: $(STAMP)
	dvc repro

test: $(STAMP)
	$(PYTHON) -m ruff check src stages tests benchmarks
	$(PYTHON) -m pytest

lint: $(STAMP)
	$(PYTHON) -m ruff check src stages tests benchmarks

clean-venv:
	rm -rf $(VENV)
