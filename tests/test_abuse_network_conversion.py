"""A network's verified calls count for it: the pumping guard weighs a
network's unanswered calls (``FLASHCALL_NETWORK_RISK``), and a code confirmed
from that network answers one of them."""

from __future__ import annotations

import pytest

from django_flashcall.testing.challenge import answer
from tests.api_helpers import CONFIRM, REQUEST, assert_error, post

pytestmark = pytest.mark.django_db

NETWORK = "198.51.100.7"  # 198.51.100.0/24


def ask(client, phone, challenge=None):
    body = {"phone": phone} if challenge is None else {"phone": phone, "challenge": challenge}
    return post(client, REQUEST, body, REMOTE_ADDR=NETWORK)


@pytest.fixture
def network_guard(settings, flashcall_outbox, clock):
    """The challenge once a network has two calls unanswered; ranges never hot."""
    settings.FLASHCALL_CHALLENGE = "django_flashcall.testing.challenge.arithmetic"
    settings.FLASHCALL_NETWORK_RISK = 2
    settings.FLASHCALL_RANGE_RISK = 100
    return flashcall_outbox


def test_a_code_confirmed_from_the_network_answers_one_of_its_calls(client, network_guard):
    # Each phone in a range of its own: only the network's counters add up.
    response = ask(client, "79210000001")
    attempt_id, code = response.json()["attempt_id"], network_guard[-1].code
    confirmed = post(client, CONFIRM, {"attempt_id": attempt_id, "code": code}, REMOTE_ADDR=NETWORK)
    assert confirmed.status_code == 200
    assert ask(client, "79220000001").status_code == 201  # unanswered: 1 of 2
    # Two calls, one verified: one unanswered, under the bar.
    assert ask(client, "79230000001").status_code == 201
    # Now two unanswered: the next one from the network needs the challenge.
    fresh = "79240000001"
    assert_error(ask(client, fresh), 403, "challenge_required")
    assert ask(client, fresh, answer(fresh)).status_code == 201
