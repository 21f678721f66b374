# dcplan: the two commands of the README.
#   make run   - create .venv, install, open the GUI on the bundled demo plan
#   make test  - create .venv, install with test extras and the system libraries Qt needs, run every test headless
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo.dcplan

.PHONY: run test venv sysdeps-run sysdeps-test bench clean

$(BIN)/python:
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh venv
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m planner.solver.warmup
	touch $(STAMP)

venv: $(STAMP)

sysdeps-test:
	@bash scripts/system-deps.sh test

sysdeps-run:
	@bash scripts/system-deps.sh run

$(DEMO): | $(STAMP)
	$(BIN)/dcplan demo $(DEMO)

run: $(STAMP) sysdeps-run $(DEMO)
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ] && [ "$$QT_QPA_PLATFORM" != offscreen ]; then \
	  echo "make run: no display (DISPLAY/WAYLAND_DISPLAY unset). Run it in a desktop session, or on a"; \
	  echo "headless machine under a virtual screen: xvfb-run -s '-screen 0 1600x1000x24' make run"; \
	  exit 2; fi
	$(BIN)/python -m planner.solver.warmup
	$(BIN)/dcplan-gui $(DEMO)

test: $(STAMP) sysdeps-test
	$(BIN)/python -m planner.solver.warmup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2 -q --durations=25

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis $(DEMO)
