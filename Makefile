# The few things people do. Each target creates .venv/ on first use and installs Graft into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.graft-installed

.PHONY: demo test lint bench install clean

install: $(STAMP)

# CPU torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
# llama.cpp's own GGUF converter, taken from the pinned llama-cpp-python sdist (nothing compiled).
	$(BIN)/python -m tools.gguf_export install --constraints constraints.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/graft demo

# Two or more workers, a test file per worker at a time (module fixtures are built once): the suite is
# mostly single-threaded process start-ups, 16 min on 2 cores serially, under 11 with two workers.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --maxprocesses 4 --dist loadfile tests

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) graft-demo
