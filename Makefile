# fakearena: the two front-door commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch/torchvision are pinned: these exact versions install from local wheels on our machines.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: setup demo test test-all lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install $(TORCH_PINS)
	$(BIN)/pip install -e ".[dev]"
	touch $@

setup: $(VENV)/.installed  ## create .venv and install fakearena with its dev tools

demo: setup  ## the main job: the arena on the built-in synthetic faces, then the report path
	$(BIN)/fakearena arena hydra.run.dir=outputs/arena/demo

test: setup  ## the default test suite (fast; excludes tests marked slow)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

test-all: setup  ## every test, slow ones included (what CI runs)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q -m "slow or not slow"

bench: setup  ## performance benchmarks (prints tables, writes benchmarks/results/*.json)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache .ruff_cache
