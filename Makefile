# enttag: the two commands are `make repro` and `make test`.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

PIP    := $(PYTHON) -m pip --quiet --disable-pip-version-check

.PHONY: repro test lint docs setup clean-venv lock

setup: $(STAMP)

# The Python bound is stated once, requires-python in pyproject.toml. tools/check_python.sh
# reads it (in sh: an old python3 cannot read TOML) and checks the venv's python, or python3
# before there is a venv; too old, and make stops on one line, before anything is installed:
#   Makefile:NN: *** enttag needs Python >=3.11; python3 is 3.10.12.  Stop.
PYTHON_TOO_OLD = $(shell sh tools/check_python.sh $(if $(wildcard $(PYTHON)),$(PYTHON),python3) 2>&1)

# (Re)install when requirements.lock or pyproject.toml changes. Everything comes from the
# lock, every file checked against its sha256 (torch: the local CPU wheel, torch==2.13.0+cpu,
# never a CUDA build); pip, setuptools and wheel are in it too, so enttag itself installs
# without build isolation and without fetching anything unpinned.
# With npm present, also build the offline template for `dvc plots` (vega inlined); a
# failure there (no network) only warns: DVC then keeps its CDN page.
$(STAMP): requirements.lock pyproject.toml
	$(if $(PYTHON_TOO_OLD),$(error $(PYTHON_TOO_OLD)))
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) install --require-hashes -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	@if command -v npm >/dev/null 2>&1; then $(VENV)/bin/enttag plots-template || \
	  echo "warning: no offline plots template; dvc plots pages load vega from a CDN"; \
	else echo "npm not found: dvc plots pages load vega from a CDN (see docs/experiments.md)"; fi
	touch $(STAMP)

repro: $(STAMP)
	dvc repro

test: $(STAMP)
	$(PYTHON) -m ruff check src stages tests benchmarks
	$(PYTHON) -m ruff format --check src stages tests benchmarks
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict --quiet
	$(PYTHON) -m pytest

lint: $(STAMP)
	$(PYTHON) -m ruff check src stages tests benchmarks
	$(PYTHON) -m ruff format --check src stages tests benchmarks

# The documentation site (mkdocs.yml, docs/) into site/: offline, and --strict, so a broken
# link, a missing anchor or a page left out of the navigation fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict

clean-venv:
	rm -rf $(VENV)

# requirements.lock, from the pins in pyproject.toml (dependencies and the dev extra) and what
# they pull in, each with its hashes. Run it after changing a pin there (tests/test_lock.py
# fails until you do); LOCK_ARGS=--upgrade moves the unpinned ones to their newest too. It is
#   pip-compile --generate-hashes --allow-unsafe --extra dev --strip-extras \
#     --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
# run with this machine's pip config (find-links /opt/wheels: torch's one hash is that of
# the local CPU wheel). --allow-unsafe pins pip, setuptools and wheel as well.
LOCK_ARGS ?=
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes \
	  --allow-unsafe --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
	  $(LOCK_ARGS) -o requirements.lock pyproject.toml

# Experiments. `make sweep` queues the class-weight x head-lr grid as DVC experiments and
# runs them; run it again to resume (finished points are skipped). Shrink or extend it with
# SWEEP_WEIGHTS="1 10" SWEEP_HEAD_LRS="1e-3 1e-2" SWEEP_ENCODER_LR=1e-5 SWEEP_JOBS=1
# SWEEP_SET="-S train.max_steps=5" (see enttag sweep --help). SWEEP_SEEDS="0 1 2" runs every
# point once per train.seed (<point>-s<seed>); SWEEP_SEEDS_ONLY=1 drops the grid (base-s<seed>).
# Over N machines: `make sweep SHARD=k/N` on machine k runs its share of the grid and
# pushes it (dvc exp push $(GIT_REMOTE)); then `make gather` on any of them pulls them all.
COMPARE_ARGS ?= --md
SHARD ?=
GIT_REMOTE ?= origin

.PHONY: sweep gather compare journal plots-template

sweep: $(STAMP)
	$(VENV)/bin/enttag sweep $(if $(SHARD),--shard $(SHARD) --remote $(GIT_REMOTE))

gather: $(STAMP)
	$(VENV)/bin/enttag gather $(GIT_REMOTE)

compare: $(STAMP)
	$(VENV)/bin/enttag compare $(COMPARE_ARGS)

journal: $(STAMP)
	$(VENV)/bin/enttag journal -o EXPERIMENTS.md

plots-template: $(STAMP)
	$(VENV)/bin/enttag plots-template
