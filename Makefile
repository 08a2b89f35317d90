# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WITH_SERVICES := $(PY) -m clozup.lib.localservices run --
PYTEST_ARGS ?=

.PHONY: run test install lock lint format browser migrate stop clean audit

$(VENV)/.installed: requirements/lock.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Clozup needs Python 3.11 or newer" or 0)'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes --no-deps -r requirements/lock.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(WITH_SERVICES) sh -c '\
	  $(PY) manage.py setup_database && \
	  $(PY) manage.py seed_demo --if-missing && \
	  DEBUG=$${DEBUG:-true} exec $(VENV)/bin/honcho -f Procfile.dev start'

test: install browser
	$(WITH_SERVICES) sh -c '$(PY) manage.py setup_database --skip-migrate && \
	  exec $(VENV)/bin/pytest $(PYTEST_ARGS)'

# Browser tests drive Debian's Chromium; install it when it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Browser tests need Chromium: install your distribution's chromium package" >&2; exit 1; \
	  fi; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Known vulnerabilities in the locked dependencies. Exit 1: some found;
# exit 2: the vulnerability service could not be reached (not a pass).
audit: install
	$(PY) .ci/audit.py

# Regenerate the lock file after changing pyproject.toml.
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes \
	  --universal --python-version 3.11 -o requirements/lock.txt

stop: install
	$(PY) -m clozup.lib.localservices stop

clean: stop
	rm -rf .data $(VENV)
