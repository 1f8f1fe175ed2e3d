"""The pumping guards' counts (internal/abuse.py, SPEC §10) at their edges:
the range limit without a challenge, a request whose own count makes its
range hot, addresses that are not IPs, a challenge whose prompt fails."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import ChallengeRequired
from django_flashcall.internal import abuse
from django_flashcall.models import CallAttempt, Reason
from django_flashcall.testing.challenge import answer
from tests.api_helpers import REQUEST, assert_error, post

pytestmark = pytest.mark.django_db

ARITHMETIC = "django_flashcall.testing.challenge.arithmetic"
RANGE = "7924450"


def number(i: int) -> str:
    return RANGE + f"{i:04d}"


def placed_in_range(at) -> float:
    risk = abuse.assess(number(9999), None, at)
    day, _hour = risk.windows()
    return day.count(risk.values, f"range:{RANGE}:placed")


def test_the_range_limit_alone_is_a_wall_and_asks_no_challenge(client, settings, flashcall_outbox):
    settings.FLASHCALL_RANGE_DAILY_LIMIT = 2  # no FLASHCALL_CHALLENGE
    for i in range(2):
        assert post(client, REQUEST, {"phone": number(i)}).status_code == 201
    body = assert_error(post(client, REQUEST, {"phone": number(2)}), 429, "rate_limited")
    assert body["retry_after"] == abuse.RISK_RETRY and "challenge" not in body
    assert [call.phone for call in flashcall_outbox] == [number(0), number(1)]
    assert CallAttempt.objects.order_by("-pk").first().reason == Reason.RANGE_LIMIT


def test_a_request_made_hot_by_its_own_count_passes_with_its_answer_counted_once(settings, clock):
    # Four concurrent requests read cold counters; the fourth's own call makes
    # the range hot (FLASHCALL_RANGE_RISK = 3), and it carries the right answer.
    settings.FLASHCALL_CHALLENGE = ARITHMETIC
    at = clock()
    risks = [abuse.assess(number(i), None, at) for i in range(4)]
    assert not any(risk.high for risk in risks)
    for i, risk in enumerate(risks):
        abuse.screen(risk, None, number(i), answer(number(i)))
    assert risks[-1].high and risks[-1].reserved
    assert placed_in_range(at) == 4  # one count per call, none twice
    # Without an answer, the next one is asked for the challenge.
    with pytest.raises(ChallengeRequired):
        abuse.screen(abuse.assess(number(5), None, at), None, number(5), None)
    assert placed_in_range(at) == 4


@pytest.mark.parametrize("address", ["unknown", "", None, "999.1.1.1"])
def test_an_address_that_is_not_an_ip_is_no_network(address, clock):
    assert abuse.network_of(address) is None
    assert abuse.assess(number(1), address, clock()).network is None


def broken_prompt_challenge(request, phone, value):
    return value == "42"


def _broken_prompt(request, phone):
    raise RuntimeError("the prompt service is down")


broken_prompt_challenge.prompt = _broken_prompt


def test_a_prompt_that_fails_leaves_the_question_out(caplog):
    assert abuse.prompt_for(broken_prompt_challenge, None, number(1)) == {}
    assert "FLASHCALL_CHALLENGE.prompt raised" in caplog.text
