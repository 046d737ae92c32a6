# Two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Exact versions of everything: main.txt for the site and workers, dev.txt adds the tools and tests.
LOCK_MAIN := requirements/main.txt
LOCK_DEV := requirements/dev.txt
COMPILE := $(VENV)/bin/pip-compile --quiet --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: demo test install lint typecheck pytest screenshots clean lock

$(STAMP): pyproject.toml $(LOCK_DEV)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	# torch first, pinned to the CPU build, so that nothing later pulls a CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	# confseq builds without isolation (its own build pins a pybind11 too old for 3.11): tools first.
	$(PY) -m pip install --quiet -c $(LOCK_DEV) pybind11 scikit-build cmake ninja setuptools wheel
	$(PY) -m pip install --quiet --no-build-isolation -r $(LOCK_DEV)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Refresh the lock files from pyproject.toml (newest versions that satisfy it, resolved by pip).
lock: $(STAMP)
	$(COMPILE) --output-file $(LOCK_MAIN) pyproject.toml
	$(COMPILE) --extra dev --output-file $(LOCK_DEV) pyproject.toml

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

# The suite runs on PostgreSQL + Redis when they can be started here, then on the embedded
# default (SQLite + filesystem broker). pytest exits 5 when it collects nothing: a failure here.
PYTEST := $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest ran no test"; exit 1; fi; exit $$rc
pytest: $(STAMP)
	@bin/with-services --skip-without-postgres sh -c '$(PYTEST)'
	@USE_SERVICES=0 bin/with-services sh -c '$(PYTEST)'

test: lint typecheck pytest

demo: $(STAMP)
	$(PY) manage.py demo

# The README's pictures, made by the end-to-end tests in headless Chromium.
screenshots: $(STAMP)
	$(PY) -m pytest -q tests/e2e
	mkdir -p docs/screenshots
	cp var/artifacts/rating-page.png var/artifacts/report-page.png docs/screenshots/

clean:
	rm -rf $(VENV) var
