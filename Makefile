# The two commands of the README: `make demo` and `make test`. Both start from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: demo test lint typecheck unit bench bench-quick coverage mutation clean docs

$(PY):
	$(PYTHON) -m venv $(VENV)

# Install and run the example project end to end (snapshot, change, checkout, restore).
demo: $(PY)
	$(PY) -m pip install -q -e '.[demo]'
	bash examples/demo.sh

# Install and run every check CI runs: lint, strict typing, the whole test suite.
test: $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -n 2

# The test suite without the slow integration tests (they still run in `make test` and CI).
unit: $(PY)
	$(PY) -m pytest -n 2 -m 'not slow'

# Regenerate the generated reference pages (docs/commands.md, docs/api.md); tests/test_docs.py
# fails until they match the code.
docs: $(PY)
	$(PY) -m mlv.cli.docgen

bench: $(PY)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run.py

bench-quick: $(PY)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run.py --quick

# Branch coverage of the whole suite, subprocesses included, per layer (docs/reliability.md).
coverage: $(PY)
	$(PY) -m pip install -q -e '.[dev,coverage]'
	rm -rf .coverage-data && mkdir .coverage-data
	$(PY) -m coverage run -m pytest -n 2 -q
	$(PY) -m coverage combine -q
	$(PY) .ci/coverage_report.py

# Mutation testing of the store, the model and core's integrity paths; long (hours for all of
# it), resumable, never part of CI. Narrow it with MUTANTS='mlv.core.store.gc.*'.
mutation: $(PY)
	$(PY) -m pip install -q -e '.[dev,mutation]'
	$(PY) -m mutmut run --max-children 2 $(MUTANTS) || true
	$(PY) .ci/mutation_report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache benchmarks/.work .coverage-data mutants

# The sdist and the wheel users install (distribution mlv-cli), in dist/.
.PHONY: dist
dist: $(PY)
	$(PY) -m pip install -q build
	$(PY) -m build
