"""Property-based tests of the JSON API against its own OpenAPI document
(schemathesis): every generated request, schema-valid or not, gets an answer
the document describes (status, content type, body, headers), never a 500.

Bounded (``EXAMPLES`` per operation, mode and login mode: a CI step of
seconds); ``FLASHCALL_SCHEMATHESIS_EXAMPLES=2000`` makes a long run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import on_postgres

pytestmark = [
    pytest.mark.django_db,
    # The schema and its answers do not depend on the database: once is enough.
    pytest.mark.skipif(on_postgres(), reason="runs in the SQLite run"),
]

SCHEMA = "/api/flashcall/schema/"
EXAMPLES = int(os.environ.get("FLASHCALL_SCHEMATHESIS_EXAMPLES", "40"))
OPERATIONS = ["POST /api/flashcall/request/", "POST /api/flashcall/confirm/"]


@pytest.fixture(params=["session", "token"])
def api_schema(request, settings, flashcall_outbox):
    """The schema served by the app, over WSGI. ``session``: confirm is
    CSRF-protected (403 ``csrf_failed``); ``token``: it is not."""
    settings.FLASHCALL_LOGIN = request.param
    # Room for many calls, so that valid bodies reach the services.
    settings.FLASHCALL_RATELIMIT_REQUEST = "100000/h"
    settings.FLASHCALL_RATELIMIT_CONFIRM = "100000/h"
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 100000
    # As Django's test client does: a request must not close the test's
    # database connection (its transaction holds the test's data).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(SCHEMA, get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", OPERATIONS)
def test_api_conforms_to_its_schema(api_schema, label, mode):
    (operation,) = [
        result.ok() for result in api_schema.get_all_operations() if result.ok().label == label
    ]

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def conforms(case):
        # Every default check but one: a schema string cannot say "a Russian
        # mobile number in any spelling" or "4 ASCII digits", so a
        # schema-valid value the rules refuse gets a documented 400
        # (invalid_phone, invalid_code, no_active_attempt...), not a 2xx.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    conforms()
