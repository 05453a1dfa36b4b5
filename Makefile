# The README's commands. Each target sets up what it needs first, so a fresh clone needs only
# Python 3.11 and the package registries.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCE ?= https://spap.jst.go.jp/investigation/report_2022.html\#fy24_rr02
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup system-deps demo test run clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "jstmine needs Python 3.11 (found %d.%d); set PYTHON=/path/to/python3.11" % sys.version_info[:2])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# constraints.txt pins every transitive dependency to the set that was tested together
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -c 'import spacy; spacy.load("ja_ginza")' >/dev/null
	touch $(STAMP)

setup: $(STAMP)

demo: setup  ## the full flow, offline, on the sample edition served from a loopback server
	$(BIN)/python scripts/demo.py

system-deps:  ## Debian packages some tests and the report need (Chromium, Japanese fonts, poppler)
	bash scripts/install-system-deps.sh

test: setup system-deps  ## the linter, then the whole test suite, offline
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

run: setup  ## the flow on the real report (needs the network)
	$(BIN)/jstmine run --source '$(SOURCE)'

clean:
	rm -rf $(VENV) build *.egg-info

# Schedules and Dask need a real Prefect server (a temporary one runs no schedules, and Dask
# workers cannot reach it). `make server` starts one in the background (jstmine server start),
# which `make serve`, `jstmine run` and `jstmine update` find by themselves; `jstmine server stop`.
PREFECT_PORT ?= 4200

.PHONY: server serve

server: setup  ## a Prefect server on 127.0.0.1:$(PREFECT_PORT) in the background (jstmine server status|stop)
	$(BIN)/jstmine server start --port $(PREFECT_PORT)

serve: setup  ## register the weekly `jstmine update` deployment and run it on schedule (needs `make server` or PREFECT_API_URL)
	$(BIN)/jstmine serve $(SERVE_ARGS)

.PHONY: bench

bench: setup  ## time the flow on generated 300- and 1,000-page reports against the floor and the naive pipeline; writes bench/RESULTS.md
	$(BIN)/python bench/run.py $(BENCH_ARGS)
