# Two commands for a fresh machine: `make demo` (the main job on built-in data) and `make test`.
# Both create .venv and install the project from pyproject.toml first (torch pinned to the
# releases this machine holds locally; every other package at the version in constraints.txt).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
MEDIAPIPE_PINS := mediapipe==1.2.3 flatbuffers==25.12.19 sounddevice==0.5.6 cffi==2.1.1 pycparser==3.12

.PHONY: install demo test bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS) -c constraints.txt
	$(PY) -m pip install --quiet -e ".[all,dev]" $(TORCH_PINS) -c constraints.txt
	@# Best effort: MediaPipe for the video tests (from PyPI; without it those tests skip). --no-deps keeps
	@# its opencv-contrib from replacing opencv-python-headless; the rest of its needs are installed above.
	$(PY) -m pip install --quiet --timeout 30 --retries 1 --no-deps $(MEDIAPIPE_PINS) \
	  || echo "make: MediaPipe could not be installed; the tests that run it will be skipped"
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
