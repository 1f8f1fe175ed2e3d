"""An open breaker in its last second still fails fast: the request is
refused before any limit or row is looked at, with a wait of one second
(never less, never more)."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import ProviderUnavailable
from django_flashcall.internal import breaker
from django_flashcall.models import Reason
from django_flashcall.services import request_code
from tests.helpers import PHONE

pytestmark = pytest.mark.django_db


def test_the_last_half_second_of_an_open_breaker_fails_fast(settings, outbox, clock):
    settings.FLASHCALL_BREAKER_THRESHOLD = 1
    settings.FLASHCALL_BREAKER_COOLDOWN = 60
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    request_code(PHONE)  # the phone's cooldown runs: a limit would say "cooldown"
    breaker.record_failure()  # the only provider
    clock.advance(59.5)
    with pytest.raises(ProviderUnavailable) as info:
        request_code(PHONE)
    assert (info.value.reason, info.value.extra["retry_after"]) == (Reason.BREAKER_OPEN, 1)
