# django-flashcall developer commands.  On a fresh machine `make demo` and
# `make test` create the virtualenv (.venv) themselves.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: venv demo test test-fast lint mutants docs dist bench bench-peer clean

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install only when the package metadata changed since the last install.
# The whole development set (test tools, playwright, psycopg, gunicorn, ruff):
$(STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

# The demo needs only the package and drf-spectacular (its schema page).
$(DEMO_STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[schema]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	cd example_project && ../$(PY) manage.py migrate --noinput && \
		../$(PY) manage.py runserver 127.0.0.1:8000

# Whole suite: SQLite, then PostgreSQL (+ Redis, browser, multiprocess tests).
# Extra pytest arguments: make test ARGS='-x -k otp'
test: venv
	$(PY) scripts/runtests.py $(ARGS)

test-fast: venv
	$(PY) -m pytest -m "not browser and not multiprocess and not postgres and not packaging" -q $(ARGS)

# ruff, then mypy with django-stubs (its settings: [mypy] in setup.cfg).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Mutation testing of the rules' core with mutmut ([mutmut] in setup.cfg: the
# modules, and the fast SQLite test files that exercise them; each mutant runs
# only the tests that call its function). Not in CI. A whole run takes about
# 30 minutes on two cores; JOBS=1 on a busy machine. MODULE=internal.limits
# (or phone, services.request, services: a dotted prefix) runs that module's
# mutants again and keeps the other results. The score and the survivors
# not listed in tests/equivalent_mutants.txt come last (`mutmut show NAME`
# shows one); it fails if there is such a survivor.
mutants: venv
	$(PY) -m pip install -q -e '.[mutation]'
ifdef MODULE
	$(VENV)/bin/mutmut run --max-children $(or $(JOBS),2) 'django_flashcall.$(MODULE).*'
else
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(or $(JOBS),2)
endif
	$(PY) scripts/mutation_score.py

# The documentation site; warnings are errors (a broken link fails it).
docs: venv
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "docs/_build/html/index.html"

# The release artefacts in dist/: an sdist and a wheel, checked by twine.
dist: venv
	rm -rf dist
	$(PY) -m build
	$(VENV)/bin/twine check --strict dist/*

bench: venv
	$(PY) benchmarks/run.py

# Against django-phone-verify, instructions per flow (MATRIX=1: flows/s too).
bench-peer:
	benchmarks/compare_peer.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache docs/_build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
