# promptyard: `make run` and `make test` are the only set-up commands a fresh machine needs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# llama.cpp builds from source once per machine, for x86-64-v3, never -march=native:
# tools/llama-wheel.sh says why and keys its wheel cache on the build flags.
export CMAKE_BUILD_PARALLEL_LEVEL := 2
LLAMA_VERSION := $(shell sed -n 's/^llama_cpp_python==//p' constraints.txt)

.PHONY: install run test lint typecheck unit services browser bench clean help

help:
	@echo "make run   - install (once), sync example prompts, ingest the demo corpus, start the server"
	@echo "make test  - install (once), start Postgres/Redis if down, run ruff, mypy --strict and pytest"

$(STAMP): pyproject.toml constraints.txt tools/llama-wheel.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24" wheel
	# torch exactly 2.13.0: pip finds the CPU build on this machine; anything else pulls CUDA.
	$(PY) -m pip install -q torch==2.13.0
	bash tools/llama-wheel.sh $(PY) $(LLAMA_VERSION)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 0.2; done; echo "Postgres or Redis did not come up"; exit 1

browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install services browser
	$(BIN)/pytest

test: install services browser
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

run: install
	$(BIN)/promptyard doctor
	$(BIN)/promptyard demo

clean:
	rm -rf $(VENV) .promptyard .mypy_cache .ruff_cache .pytest_cache
