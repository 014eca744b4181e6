# City-brain data lake. `make demo` and `make test` bootstrap everything they need, idempotently.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export CITYBRAIN_HOME ?= $(CURDIR)

.PHONY: help setup venv jars tools airflow-init demo test test-fast airflow bench lint clean-var doctor

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# Reinstall only when the dependency set changes: a second `make` is a no-op.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/uv
	VIRTUAL_ENV=$(VENV) $(BIN)/uv pip install -q --python $(BIN)/python -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## create/update .venv with the pinned dependency set

jars: venv ## fetch Delta Lake jars from Maven Central once (cached under var/jars)
	$(BIN)/citybrain setup jars

airflow-init: venv ## initialise the Airflow home (var/airflow, SQLite)
	$(BIN)/citybrain setup airflow

# moto's S3 server for the s3a:// lake test: a tool venv of its own (botocore's python-dateutil<3 clashes with
# the project's pins), created once.
MOTO := var/tools/moto/bin/moto_server
$(MOTO):
	$(PYTHON) -m venv var/tools/moto
	var/tools/moto/bin/pip install -q --disable-pip-version-check "moto[server]==5.2.5"

tools: $(MOTO) ## test tools outside the project venv (moto S3 server)

setup: venv jars airflow-init ## everything above

demo: setup ## run the pipeline end to end on embedded defaults
	$(BIN)/citybrain demo

test: setup tools ## run the whole test suite (unit, spark, integration, e2e)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup ## unit tests only
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

airflow: setup ## start Airflow standalone on 127.0.0.1:8080 with the project's DAGs
	$(BIN)/citybrain airflow standalone

bench: setup ## time the benchmark stages (SCALE=1 by default) into var/bench/
	$(BIN)/citybrain bench --scale $(or $(SCALE),1)

doctor: venv ## check Java, Spark, Delta jars, Airflow home, paths and versions
	$(BIN)/citybrain doctor

lint: venv
	$(BIN)/ruff check .

clean-var: ## delete generated data (lake, sources, Airflow home)
	rm -rf var/
