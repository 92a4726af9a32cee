# The two front-door commands: `make run` and `make test`. Both create .venv if missing.
# `make run` installs only what running needs (tradesim and its figures); `make test`, `lint`,
# `docs` and `bench` add the test, lint and documentation tools. Each install has its own stamp,
# redone when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint docs bench clean

$(RUN_STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[plot]"
	touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[plot,dev,dask,docs]"
	touch $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/tradesim run scenarios/baseline.yaml --out out/baseline --force

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

lint: $(DEV_STAMP)
	$(BIN)/ruff check tradesim tests benchmarks
	$(BIN)/ruff format --check tradesim tests benchmarks
	$(BIN)/mypy

docs: $(DEV_STAMP)
	$(BIN)/python docs/gen.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
	$(BIN)/python docs/check_site.py site

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) out site docs/generated
