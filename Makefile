# Stairway: `make run` serves the example catalogue, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export STAIRWAY_DATABASE_URL ?= sqlite:///stairway.db
export STAIRWAY_CONFIG ?= examples/stairway.yaml

.PHONY: install run test lint schema openapi bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/stairway refresh local
	$(BIN)/stairway facts submit examples/facts.json
	$(BIN)/stairway events submit examples/deliveries.json --shift-to-now
	$(BIN)/stairway serve --host 127.0.0.1 --port 8080 --graphiql

test: lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check catalog scorecards service tests bench helm
	$(BIN)/ruff format --check catalog scorecards service tests bench helm
	$(BIN)/mypy catalog scorecards service

schema: install
	$(BIN)/stairway schema > service/schema.graphql

openapi: install
	$(BIN)/stairway openapi > openapi/openapi.yaml

bench: install
	$(BIN)/python bench/ingest.py 50000
	$(BIN)/python bench/score.py 50000
	$(BIN)/python bench/adoption.py 50000
	$(BIN)/python bench/refresh.py --entities 50000 --repositories 1000
	$(BIN)/python bench/delivery.py --events 100000
	$(BIN)/python bench/dora.py --components 30000 --events 1000000
	$(BIN)/python bench/evidence.py

clean:
	rm -rf $(VENV) stairway.db stairway.db-wal stairway.db-shm
