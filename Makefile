# Everything runs in a local virtual environment (.venv): the system Python is never touched.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format install clean docs

# The whole system on this machine (hub, proxy, job server, runner, demo data), on loopback.
demo: $(STAMP)
	$(BIN)/jupyter-ext demo --port $(or $(PORT),8000) --dir jupyter_ext_demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_pipeline.py
	$(BIN)/python tests/benchmarks/bench_jobserver.py
	$(BIN)/python tests/benchmarks/bench_pages.py
	$(BIN)/python tests/benchmarks/bench_runner.py
	$(BIN)/python tests/benchmarks/bench_hub.py
	$(BIN)/python tests/benchmarks/bench_releases.py
	$(BIN)/python tests/benchmarks/bench_differencing.py
	$(BIN)/python tests/benchmarks/bench_checking_desk.py
	$(BIN)/python tests/benchmarks/bench_metrics.py
	$(BIN)/python tests/benchmarks/bench_fair_share.py
	$(BIN)/python tests/benchmarks/bench_security.py
	$(BIN)/python tests/benchmarks/bench_log_lines.py
	$(BIN)/python tests/benchmarks/bench_live_access.py
	$(BIN)/python tests/benchmarks/bench_quota.py
	$(BIN)/python tests/benchmarks/bench_study_runs.py
	$(BIN)/python tests/benchmarks/bench_notebooks.py
	$(BIN)/python tests/benchmarks/bench_schedules.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(STAMP)

# the generated parts of docs/architecture.md (state machines, roles, routes), from the code
docs: $(STAMP)
	$(BIN)/python -m jupyter_ext.jobserver.architecture docs/architecture.md

# the Jobs panel is built by the install (hatch-jupyter-builder): its sources make it stale too
LABEXT_SOURCES := $(wildcard labextension/package.json labextension/yarn.lock labextension/src/*.ts* \
	labextension/src/components/*.tsx labextension/style/*)

$(STAMP): pyproject.toml $(LABEXT_SOURCES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --reinstall-package jupyter-ext -e ".[test]"
	@# byte-compile once: every `jupyter ext` process then starts in a fraction of the time
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib jupyter_ext > /dev/null 2>&1 || true
	@touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
