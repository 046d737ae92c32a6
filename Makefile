# Two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck pytest screenshots clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	# torch first, pinned to the CPU build, so that nothing later pulls a CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

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
