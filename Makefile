# Two commands for a fresh machine: `make demo` (the main job on built-in data) and `make test`.
# Both create .venv and install the project from pyproject.toml first (torch pinned to the
# releases this machine holds locally; every other package at the version in constraints.txt).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: install demo test bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS) -c constraints.txt
	$(PY) -m pip install --quiet -e ".[all,dev]" $(TORCH_PINS) -c constraints.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/handkin demo --out handkin-demo

test: install
	$(PY) -m pytest

bench: install
	for f in benchmarks/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
