"""Shared fixtures for the django-flashcall test suite.

The servers are started by ``scripts/runtests.py`` (``make test``), which passes
them in through the environment:

* ``FLASHCALL_TEST_DB=postgres`` (+ ``PGHOST``/``PGPORT``/...): run on PostgreSQL
  (see tests/settings.py); otherwise SQLite, and ``@pytest.mark.postgres`` tests skip;
* ``FLASHCALL_TEST_REDIS_URL``: a throwaway Redis server (``redis_url`` fixture).

With ``CI`` set, a missing Redis is a failure, not a skip.
"""

import gc
import os

import pytest
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["django_flashcall.testing.pytest_plugin"]

# No per-example deadline: on a loaded CI machine a slow first example is
# noise, not a finding. The examples stay random, so CI keeps exploring.
hypothesis_settings.register_profile("flashcall", deadline=None)
hypothesis_settings.load_profile("flashcall")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def on_postgres() -> bool:
    return os.environ.get("FLASHCALL_TEST_DB") == "postgres"


# --------------------------------------------------------------------------- collection


def pytest_ignore_collect(collection_path, config):
    # tests/contrib needs the optional packages in INSTALLED_APPS: it runs on
    # its own settings, in its own pytest process (scripts/runtests.py).
    if collection_path.name == "contrib" and collection_path.parent.name == "tests":
        return not os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith("settings_contrib")
    return None


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (scripts/runtests.py starts one)")
    skip_redis = pytest.mark.skip(reason="needs Redis (scripts/runtests.py starts one)")
    no_redis = not os.environ.get("FLASHCALL_TEST_REDIS_URL") and not in_ci()
    for item in items:
        if not on_postgres() and item.get_closest_marker("postgres"):
            item.add_marker(skip_pg)
        # In CI a missing Redis must fail loudly (redis_url fixture), never skip.
        if no_redis and item.get_closest_marker("redis"):
            item.add_marker(skip_redis)


# --------------------------------------------------------------------------- services


@pytest.fixture(scope="session")
def redis_url():
    """URL of the throwaway Redis server (``redis://127.0.0.1:<port>/0``)."""
    url = os.environ.get("FLASHCALL_TEST_REDIS_URL")
    if not url:
        msg = "FLASHCALL_TEST_REDIS_URL is not set (scripts/runtests.py starts a Redis)"
        if in_ci():
            pytest.fail(msg + "; CI is set, so this is an error", pytrace=False)
        pytest.skip(msg)
    return url


# --------------------------------------------------------------------------- isolation


@pytest.fixture(autouse=True)
def _clear_caches():
    """Every test starts with empty caches (rate limits, challenge state...)."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield


_prepared: list = []


@pytest.fixture(autouse=True)
def _prepared_queries_compiled_per_test():
    """Under mutmut (``make mutants``) each test compiles the prepared queries
    anew. A query is compiled on its first use on a connection, and later
    uses skip its builder; mutmut runs a mutant of a function only against
    the tests that called that function, so a builder called by the first
    test alone would have its mutants tested by that one test alone."""
    if "MUTANT_UNDER_TEST" in os.environ:
        from django_flashcall.internal.prepared import _Prepared

        if not _prepared:  # module-level objects: built once, at import
            _prepared.extend(o for o in gc.get_objects() if isinstance(o, _Prepared))
        for prepared in _prepared:
            prepared._plans.clear()
    yield


# --------------------------------------------------------------------------- app state


@pytest.fixture
def clock(monkeypatch):
    """The app's clock, frozen; ``clock.advance(seconds)`` moves it."""
    from tests.helpers import install_clock

    return install_clock(monkeypatch)


@pytest.fixture
def lockable(settings, clock):
    """Limits where only the phone failure lock can refuse (after 5 wrong
    codes; a test may set ``FLASHCALL_PHONE_MAX_FAILURES`` lower)."""
    settings.FLASHCALL_MAX_CHECKS = 3
    settings.FLASHCALL_PHONE_MAX_FAILURES = 5
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 100
    return clock


@pytest.fixture
def outbox(flashcall_outbox):
    """The sandbox provider's outbox (and the sandbox selected)."""
    return flashcall_outbox


@pytest.fixture
def scripted(settings, flashcall_outbox):
    """A sandbox provider with a switchable failure and an in-call hook."""
    from tests.helpers import use_scripted

    return use_scripted(settings)


@pytest.fixture
def canned(settings):
    """A loopback server with one scripted answer for every request, and
    ``FLASHCALL_API_URL`` pointing at it (see ``tests/canned_http.py``)."""
    from tests.canned_http import CannedServer

    server = CannedServer()
    settings.FLASHCALL_API_URL = server.url
    settings.FLASHCALL_API_TOKEN = "canned-token"
    yield server
    server.stop()
