# The two commands of the README: `make demo` and `make test`. Each sets up .venv on its own.
# Setup is idempotent: the stamp file is rebuilt only when pyproject.toml or this Makefile change.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.edgelnn-installed
# A pinned CPU build of torch first: a looser spec could pull a multi-GB CUDA build.
TORCH_PIN := torch==2.13.0

.PHONY: setup test demo lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e '.[all]' $(TORCH_PIN)
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q

demo: setup
	$(PY) -m edgelnn demo

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
