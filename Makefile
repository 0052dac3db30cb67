# The README's commands. Everything runs from .venv, which `make setup` creates.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STUBS := $(VENV)/stubs

.PHONY: setup demo test bench safety clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	# Each port's stubs in a folder of its own: both packages ship machine.pyi.
	$(BIN)/python -m pip install --quiet --target $(STUBS)/esp32 --upgrade micropython-esp32-stubs==1.29.0.post1
	$(BIN)/python -m pip install --quiet --target $(STUBS)/rp2 --upgrade micropython-rp2-stubs==1.29.0.post1
	touch $(STAMP)

demo: setup
	$(BIN)/toaster demo

test: setup
	$(BIN)/python -m pytest -n 2

# The fault tree's minimal cut sets, every FMEA row's fault-injection test (the matrix and
# the property tests are in tests/safety), then the matrix: out/safety/MATRIX.md.
safety: setup
	$(BIN)/python hardware/safety/cutsets.py
	rm -rf out/safety/matrix
	$(BIN)/python -m pytest -n 2 -rA -q tests/safety \
		$$(tail -n +2 hardware/safety/fmea.csv | awk -F, '{print $$NF}' \
		   | grep -v '^tests/safety/' | sort -u) \
		|| { $(BIN)/python tests/safety/matrix_report.py; exit 1; }
	$(BIN)/python tests/safety/matrix_report.py

# Every benchmark runs; the status says whether all met their goals.
bench: setup
	@status=0; for f in tests/bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || status=1; done; exit $$status

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .hypothesis
