"""A request refused for the challenge leaves a row that tells staff every
signal that raised the bar, and ``code_failed`` gets the request."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from django_flashcall import signals
from django_flashcall.exceptions import ChallengeRequired
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.services import request_code

pytestmark = pytest.mark.django_db


def test_the_row_names_every_signal_and_the_signal_has_the_request(settings, outbox):
    settings.FLASHCALL_CHALLENGE = "django_flashcall.testing.challenge.arithmetic"
    settings.FLASHCALL_RANGE_RISK = 1
    settings.FLASHCALL_NETWORK_RISK = 1
    first = RequestFactory().post("/", REMOTE_ADDR="198.51.100.7")
    request_code("79244500001", request=first)  # unanswered: range and network hot
    heard = []

    def receiver(sender, **kwargs):
        heard.append(kwargs)

    signals.code_failed.connect(receiver)
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.8")
    try:
        with pytest.raises(ChallengeRequired):
            request_code("79244500002", request=request)
    finally:
        signals.code_failed.disconnect(receiver)
    row = CallAttempt.objects.order_by("-pk").first()
    assert (row.status, row.reason) == (Status.REFUSED, Reason.CHALLENGE)
    assert row.error == "range,network"
    assert [kw["request"] for kw in heard] == [request]
