# picostim — every target sets up what it needs (a local .venv with pinned versions).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_VENV := .venv-lab
LAB_STAMP := $(LAB_VENV)/.installed
BOARD ?= pico
PORT ?=

.PHONY: setup lab-setup lab-farm demo schematics sim test lint bench deploy repl compile clean

setup: $(STAMP)

$(STAMP): requirements.lock requirements-stubs.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --target $(VENV)/mpy-stubs -r requirements-stubs.lock
	touch $(STAMP)

# labgrid (docs/LAB.md) in a venv of its own: it ships its own fork of pyserial.
lab-setup: $(LAB_STAMP)

$(LAB_STAMP): requirements.lock requirements-lab.lock pyproject.toml
	$(PYTHON) -m venv $(LAB_VENV)
	grep -v '^pyserial==' requirements.lock > $(LAB_VENV)/requirements.txt
	$(LAB_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r $(LAB_VENV)/requirements.txt -r requirements-lab.lock
	$(LAB_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(LAB_STAMP)

# A labgrid farm on this host: a coordinator, an exporter and two virtual boards as places.
lab-farm: lab-setup
	$(LAB_VENV)/bin/picostim lab farm --boards 2

demo: setup  # also writes demo.png (plot of demo.vcd)
	$(BIN)/picostim demo --board $(BOARD) --trace demo.vcd

schematics: setup  # docs/*.svg, drawn from the board profile
	$(BIN)/python -m picostim.schematics docs

sim: setup
	$(BIN)/picostim sim --board $(BOARD) --trace sim.vcd --flash sim-flash

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --config-file pyproject.toml
	cd firmware && ../$(BIN)/mypy --config-file mypy.ini

compile: setup
	$(BIN)/picostim deploy --compile-only

test: lint compile lab-setup
	$(BIN)/pytest -q

# Short runs (each bench prints its expected duration and its progress); the
# scripts' own defaults are the thorough runs: `make bench BENCH_FULL=1`.
bench: setup
	$(BIN)/python bench/pulse_bench.py $(if $(BENCH_FULL),,--pulses 200 --random 40 --bursts 40 --train 300)
	$(BIN)/python bench/protocol_bench.py $(if $(BENCH_FULL),,--commands 2000)
	$(BIN)/python bench/fuzz_bench.py $(if $(BENCH_FULL),,--inputs 100000)
	$(BIN)/python bench/soak_bench.py $(if $(BENCH_FULL),,--commands 10000)

deploy: setup
	$(BIN)/picostim deploy --board $(BOARD) $(if $(PORT),--port $(PORT)) $(if $(KEY),--key $(KEY))

repl: setup
	$(BIN)/picostim deploy --repl $(if $(PORT),--port $(PORT)) $(if $(KEY),--key $(KEY))

clean:
	rm -rf $(VENV) $(LAB_VENV) build demo.vcd demo.png sim.vcd sim-flash .pytest_cache .mypy_cache .ruff_cache
