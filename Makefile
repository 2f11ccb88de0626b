# newsmon: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: run test lint install clean bench-extraction bench-dedup bench-crawl bench-feed bench-fetch bench-mirror

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

lint: $(STAMP)
	$(BIN)/ruff check .
	@# mypy checks the packages under their installed names through a view of symlinks.
	@rm -rf build/typecheck && mkdir -p build/typecheck/newsmon
	@ln -s ../../../newsmon/__init__.py build/typecheck/newsmon/__init__.py
	@for part in crawler scheduler settings; do ln -s ../../../$$part build/typecheck/newsmon/$$part; done
	MYPYPATH=build/typecheck $(BIN)/mypy -p newsmon

## bench-NAME: run bench/NAME.py; benchmarks print what they measure and never assert
BENCHES = extraction dedup crawl feed fetch mirror
$(addprefix bench-,$(BENCHES)): bench-%: $(STAMP)
	$(BIN)/python bench/$*.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
