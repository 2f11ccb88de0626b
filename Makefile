# newsmon: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: run test lint install clean bench-extraction bench-dedup bench-crawl bench-feed bench-fetch bench-mirror bench-politeness bench-signals bench-soak bench-speed

# Set-up: a virtualenv with newsmon and its test and lint tools, redone when pyproject changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "newsmon needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

## run: the daemon in the foreground, on the embedded Redis, with the packaged configuration
run: $(STAMP)
	$(BIN)/newsmon run

## test: the whole suite (starts its own embedded Redis unless REDIS_URL is set)
test: $(STAMP)
	$(BIN)/pytest -q

## lint: ruff, the import layers (settings <- crawler <- scheduler, import-linter), mypy
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	@# mypy maps modules to files by folder names, and crawler/ installs as newsmon.crawler:
	@# it checks the packages under their installed names through a view of symlinks.
	@rm -rf build/typecheck && mkdir -p build/typecheck/newsmon
	@for part in crawler scheduler settings; do ln -s ../../../$$part build/typecheck/newsmon/$$part; done
	MYPYPATH=build/typecheck $(BIN)/mypy --namespace-packages --explicit-package-bases -p newsmon.settings -p newsmon.crawler -p newsmon.scheduler

## bench-NAME: run bench/NAME.py; benchmarks print what they measure and never assert
BENCHES = extraction dedup crawl feed fetch mirror politeness signals soak speed
$(addprefix bench-,$(BENCHES)): bench-%: $(STAMP)
	$(BIN)/python bench/$*.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
