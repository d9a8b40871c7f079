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

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# HL7's validator test suite (R4 cases) through our validator, offline; needs ../shared (issue 3).
conformance: $(STAMP)
	$(BIN)/python -m bench.conformance

clean-db:
	rm -rf .fhirsrv/pgdata
