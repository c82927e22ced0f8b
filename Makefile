# The few commands the README names. Each installs into .venv first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint docs bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -e '.[test,bench,docs]'
	# The Python client is its own distribution (client/pyproject.toml); its tests run here.
	$(BIN)/pip install -q -e './client[pandas,xarray]'
	# nappy's setup.py imports numpy, so it is built without isolation once numpy is in.
	$(BIN)/pip install -q --no-build-isolation 'nappy>=2.0'
	touch $@

demo: install
	$(BIN)/fieldcat demo

# `make test` runs the suite in two phases (docs/development.md, "Parallel runs"): every test
# not marked `solo`, then the `solo` tests (those bounding a duration or a throughput, which
# busy neighbours would make fail) in one process, alone. Both phases always run; either
# failing fails the command. The first phase runs in TEST_WORKERS processes (two by default,
# one test file to a worker at a time; TEST_WORKERS=0 for one process): on an idle 2-core
# machine two workers took 13.4 minutes where one process took 20.8.
TEST_WORKERS ?= 2

test: install
	@$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not solo"; parallel=$$?; \
	$(BIN)/pytest -m solo; solo=$$?; \
	echo "make test: parallel phase exit $$parallel, solo phase exit $$solo"; \
	test $$parallel -eq 0 -a $$solo -eq 0

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(MAKE) docs

# The documentation site (mkdocs-material) into build/site; --strict fails on a broken link
# or any other warning (never add --quiet: it hides the warnings from --strict, which then
# passes). Nothing is fetched from the network while building.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: install
	@for b in bench/*.py; do \
		[ -e "$$b" ] || continue; \
		echo "== $$b"; $(BIN)/python "$$b" || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build/site
