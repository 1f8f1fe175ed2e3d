"""A site's challenge (``FLASHCALL_CHALLENGE``) is called with the request
it judges, as a CAPTCHA check that verifies the client's address needs."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from django_flashcall.services import request_code

pytestmark = pytest.mark.django_db

SEEN: list = []


def recording_challenge(request, phone, value):
    SEEN.append(request)
    return value == "ok"


def test_the_challenge_is_called_with_the_request(settings, outbox):
    settings.FLASHCALL_CHALLENGE = "tests.test_challenge_gets_the_request.recording_challenge"
    settings.FLASHCALL_RANGE_RISK = 1
    request_code("79244500001")  # one unanswered call: the range is hot
    SEEN.clear()
    request = RequestFactory().post("/")
    attempt = request_code("79244500002", request=request, challenge="ok")
    assert attempt.status == "pending"
    assert SEEN == [request]
