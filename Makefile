# picostim — every target sets up what it needs (a local .venv with pinned versions).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BOARD ?= pico
PORT ?=

.PHONY: setup demo sim test lint bench deploy repl compile clean

setup: $(STAMP)

$(STAMP): requirements.lock requirements-stubs.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --target $(VENV)/mpy-stubs -r requirements-stubs.lock
	touch $(STAMP)

demo: setup
	$(BIN)/picostim demo --board $(BOARD) --trace demo.vcd

sim: setup
	$(BIN)/picostim sim --board $(BOARD) --trace sim.vcd --flash sim-flash

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --config-file pyproject.toml
	cd firmware && ../$(BIN)/mypy --config-file mypy.ini

compile: setup
	$(BIN)/picostim deploy --compile-only

test: lint compile
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python bench/pulse_bench.py
	$(BIN)/python bench/protocol_bench.py
	$(BIN)/python bench/fuzz_bench.py
	$(BIN)/python bench/soak_bench.py

deploy: setup
	$(BIN)/picostim deploy --board $(BOARD) $(if $(PORT),--port $(PORT)) $(if $(KEY),--key $(KEY))

repl: setup
	$(BIN)/picostim deploy --repl $(if $(PORT),--port $(PORT)) $(if $(KEY),--key $(KEY))

clean:
	rm -rf $(VENV) build demo.vcd sim.vcd sim-flash .pytest_cache .mypy_cache .ruff_cache
