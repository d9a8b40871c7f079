# fhirsrv — the README's commands. Everything a fresh machine needs is installed from here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench conformance clean-db venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Development server: authentication off unless FHIRSRV_AUTH is set (docs/security.md).
run: $(STAMP)
	FHIRSRV_AUTH=$${FHIRSRV_AUTH:-off} $(BIN)/fhirsrv serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check fhirsrv tests bench

# Every benchmark of bench/README.md's summary table, one after the other (each starts its own
# server on a free loopback port); several minutes. Figures go to the terminal.
BENCHES = rest_bench validate_bench documents_bench terminology_bench auth_bench import_bench
bench: $(STAMP)
	for b in $(BENCHES); do echo "== bench.$$b"; $(BIN)/python -m bench.$$b || exit 1; done

# HL7's validator test suite (R4 cases) through our validator, offline; needs ../shared (issue 3).
conformance: $(STAMP)
	$(BIN)/python -m bench.conformance

clean-db:
	rm -rf .fhirsrv/pgdata
