# Two commands do all set-up on a fresh machine:
#   make run    create .venv, install Resonance, start it on http://127.0.0.1:8080 (data in ./data)
#   make demo   the same against built-in fake services, no accounts needed
#   PORT=8081   either on another port than 8080: make demo PORT=8081
#   make test   also install the test tools and system packages (Chromium, s6, nginx), run every test

VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: run demo test bench system-deps clean

run: $(VENV)/.installed
	$(BIN)/resonance run $(if $(PORT),--port $(PORT))

demo: $(VENV)/.installed
	$(BIN)/resonance demo $(if $(PORT),--port $(PORT))

test: $(VENV)/.installed-test system-deps
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

system-deps:
	@scripts/install-system-deps

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info
