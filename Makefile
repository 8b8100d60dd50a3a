# The template repository's commands. Needs only Python 3, git and make: uv is bootstrapped
# into .tools/ and everything else is installed by uv from the lock file.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(CURDIR)/.tools/bin/uv
VENV := $(CURDIR)/.venv
RUN := $(UV) run --locked
# The template's own Python; the generated project is linted by the tests, with its own config.
LINTED := hooks tests scripts benchmarks

.PHONY: help demo test test-fast lint docs pin params bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --compile-bytecode  # fast imports even with PYTHONDONTWRITEBYTECODE
	touch $@

demo: $(VENV)/.synced ## Render the template with its defaults into build/ and run it end to end
	$(RUN) python scripts/demo.py

test: $(VENV)/.synced ## Run the whole template test suite (unit, render and end-to-end)
	$(RUN) pytest

test-fast: $(VENV)/.synced ## Only the tests that need no generated environment
	$(RUN) pytest -m "not e2e"

lint: $(VENV)/.synced ## Lint the template's own code
	$(RUN) ruff check $(LINTED)
	$(RUN) ruff format --check $(LINTED)

docs: $(VENV)/.synced ## Build the documentation site into site/ (strict)
	$(RUN) mkdocs build --strict

pin: $(VENV)/.synced ## Re-resolve the generated project's pinned versions (needs PyPI)
	$(RUN) python scripts/pin_generated_deps.py

params: $(VENV)/.synced ## Rebuild the template's params.yaml from conf/ (after any conf/ change)
	$(RUN) python scripts/make_params.py

bench: $(VENV)/.synced ## Benchmarks: render -> champion, release, no-op repro; serving (needs wrk)
	$(RUN) python -m benchmarks.pipeline_benchmark --rows 0
	$(RUN) python -m benchmarks.serving_benchmark

clean: ## Remove build outputs and caches (keeps .tools and .venv)
	rm -rf build site .pytest_cache .ruff_cache
