""" "Call me again" on the code page when the new call cannot be placed (the
provider is down): the page says so and the first call's code still works."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import ProviderUnavailable
from django_flashcall.models import CallAttempt, Status
from django_flashcall.views import SESSION_KEY

from .helpers import install_clock, use_failing
from .test_views import CONFIRM, PHONE, STORED, ask, detail, enter, logged_in_user_id, text

pytestmark = pytest.mark.django_db


def test_a_failed_call_again_keeps_the_first_code_usable(
    client, flashcall_outbox, monkeypatch, settings
):
    clock = install_clock(monkeypatch)
    ask(client, PHONE)
    first = flashcall_outbox[-1].code
    state = dict(client.session[SESSION_KEY])
    clock.advance(61)  # past the cooldown
    failing = use_failing(settings)

    response = client.post(CONFIRM, {"action": "resend"})
    assert response.status_code == 200
    assert detail(ProviderUnavailable) in text(response)
    assert failing.calls == [STORED]
    # No new cooldown from a call that was not placed, and the session still
    # points at the first call.
    assert client.session[SESSION_KEY] == state
    assert 'data-wait="' not in text(response)

    enter(client, first)
    assert logged_in_user_id(client) is not None
    assert CallAttempt.objects.filter(status=Status.VERIFIED).count() == 1
