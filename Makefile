# salesnb — `make` alone lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := data/demo.duckdb
ORDERS ?= 1000000
export UV_COMPILE_BYTECODE := 1
export PYTHONDONTWRITEBYTECODE :=

.DEFAULT_GOAL := help
.PHONY: help setup demo report dashboard lab test lint format bench messages clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	$(BIN)/python -m compileall -q salesnb >/dev/null  # the editable package, compiled like the rest
	touch $@

setup: $(VENV)/.installed ## create .venv and install salesnb with its tools

$(DEMO): $(VENV)/.installed
	$(BIN)/salesnb demo --out $(DEMO) --orders $(ORDERS)

demo: $(DEMO) ## build the demo company (data/demo.duckdb + truths.json)

report: $(DEMO) ## set up, build the demo, run every study into reports/
	$(BIN)/salesnb report --source $(DEMO)

dashboard: $(DEMO) ## serve the manager dashboards with Voila on 127.0.0.1:8866
	$(BIN)/salesnb dashboard --source $(DEMO)

lab: $(DEMO) ## open the studies in JupyterLab
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

test: $(VENV)/.installed ## set up, then run the whole test suite
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(VENV)/.installed ## ruff lint + format check + the layered import contract
	$(BIN)/ruff check salesnb tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/ruff format --check salesnb tests benchmarks

format: $(VENV)/.installed ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix salesnb tests benchmarks
	$(BIN)/ruff format salesnb tests benchmarks

messages: $(VENV)/.installed ## list the messages without a Chinese translation (salesnb/locale)
	$(BIN)/python -m salesnb.i18n missing

bench: $(DEMO) ## run the benchmarks (ratios against baselines measured in the same run)
	$(BIN)/python benchmarks/report_suite.py
	$(BIN)/python benchmarks/forecast_accuracy.py
	$(BIN)/python benchmarks/dashboard.py

clean: ## remove generated data and reports (keeps .venv)
	rm -rf reports/* data/*.duckdb data/truths.json
