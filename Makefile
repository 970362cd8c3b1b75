# pvfair — `make report` and `make test` are the whole set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.pvfair-installed
CAMPAIGN ?= data/raw/demo
PYTEST_ARGS ?=
# make test runs the suite file by file on this many pytest-xdist workers (the machine's 2 cores), then the
# network and browser tests one after the other with the machine to themselves (real tools' figures and
# JupyterLab's timeouts must not share the cores); with PYTEST_ARGS, only that selection, in one process
TEST_WORKERS ?= 2
SERIAL_TESTS := network or browser

.DEFAULT_GOAL := help
.PHONY: help venv test report validity lab lint clean tools pdf-deps poppler browser kernel

help:  ## show this help
	@echo "pvfair — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-10s %s\n", $$1, $$2}'

# The venv is (re)built when missing or when pyproject.toml is newer than the last install.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)  ## create .venv and install pvfair (editable) with its dev extras

tools:  ## install the Debian packages the tests need (iperf3, iperf, sockperf, ethtool), skipped when present
	@command -v iperf3 >/dev/null 2>&1 || { \
	  echo "installing iperf3 (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; }
	@command -v sockperf >/dev/null 2>&1 || { \
	  echo "installing sockperf (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sockperf >/dev/null; }
	@command -v iperf >/dev/null 2>&1 || { \
	  echo "installing iperf 2 (Debian package iperf)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf >/dev/null; }
	@command -v ethtool >/dev/null 2>&1 || test -x /usr/sbin/ethtool || test -x /sbin/ethtool || { \
	  echo "installing ethtool (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ethtool >/dev/null; }

pdf-deps:  ## install pango (Debian package) for the WeasyPrint PDF export, skipped when present
	@ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || { \
	  echo "installing pango (Debian package) for the PDF export"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; }

poppler:  ## install poppler-utils (Debian package) for the rasterized PDF layout test, skipped when present
	@command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 || { \
	  echo "installing poppler-utils (Debian package) for the PDF layout test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; }

browser:  ## install chromium (Debian package) for the JupyterLab browser test, skipped when present
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium (Debian package) for the JupyterLab browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

kernel: $(STAMP)  ## register the venv's Python as the "pvfair" Jupyter kernel (inside the venv, sys-prefix)
	$(BIN)/python -m ipykernel install --sys-prefix --name pvfair --display-name "Python (pvfair)" >/dev/null

test: $(STAMP) tools pdf-deps poppler browser kernel  ## run the test suite (unit, reference, notebooks, browser, reduced validity)
ifeq ($(strip $(PYTEST_ARGS)),)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not ($(SERIAL_TESTS))"
	$(BIN)/python -m pytest -m "$(SERIAL_TESTS)"
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

report: $(STAMP) pdf-deps  ## ingest the demo campaign to data/processed/demo, then report -> reports/demo/summary.pdf
	$(BIN)/pvfair ingest $(CAMPAIGN)
	$(BIN)/pvfair report $(CAMPAIGN)

validity: $(STAMP)  ## full-size validity simulations; prints the coverage / error-rate table
	PVFAIR_FULL=1 $(BIN)/python -m pytest -m validity -s $(PYTEST_ARGS)

lab: kernel  ## register the pvfair kernel and start JupyterLab on notebooks/
	$(BIN)/jupyter lab notebooks/ $$(test "$$(id -u)" = 0 && echo --allow-root)

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check analysis tests benchmarks scripts

clean:  ## remove generated data and reports (keeps .venv)
	rm -rf data/processed reports/*/ reports/index.html .pytest_cache
