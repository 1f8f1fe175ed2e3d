"""SPEC §10 through the JSON API and the pages: the challenge, the pumping
guards (internal/abuse.py), confirms by phone alone, non-JSON bodies.

The day-long simulation is tests/test_abuse_simulation.py.
"""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from django_flashcall.exceptions import ChallengeRequired
from django_flashcall.internal import abuse
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.testing.challenge import answer, arithmetic
from tests.api_helpers import CONFIRM, REQUEST, assert_error, post
from tests.helpers import wrong

pytestmark = pytest.mark.django_db

ARITHMETIC = "django_flashcall.testing.challenge.arithmetic"
RANGE = "7924450"  # 7924450xxxx: one range of 10,000 numbers


def number(i: int, prefix: str = RANGE) -> str:
    return prefix + f"{i:04d}"


@pytest.fixture
def guarded(settings, flashcall_outbox, clock):
    """The arithmetic challenge, and a range hot after one unanswered call."""
    settings.FLASHCALL_CHALLENGE = ARITHMETIC
    settings.FLASHCALL_RANGE_RISK = 1
    return flashcall_outbox


def ask(client, phone, challenge=None, ip="198.51.100.7"):
    body = {"phone": phone} if challenge is None else {"phone": phone, "challenge": challenge}
    return post(client, REQUEST, body, REMOTE_ADDR=ip)


# --------------------------------------------------------------------------- the challenge


def test_a_hot_range_asks_for_the_challenge_and_places_no_call(client, guarded):
    assert ask(client, number(1)).status_code == 201  # never answered: the range is hot
    calls = len(guarded)
    body = assert_error(ask(client, number(2)), 403, "challenge_required")
    assert body["challenge"].startswith("How much is")  # the prompt, for API clients
    assert len(guarded) == calls  # no paid call
    refused = CallAttempt.objects.order_by("-pk").first()
    assert (refused.status, refused.reason, refused.error) == ("refused", "challenge", "range")

    wrong_answer = assert_error(ask(client, number(2), "nope"), 403, "challenge_required")
    assert wrong_answer["detail"] != body["detail"]  # says the answer was wrong
    assert len(guarded) == calls

    assert ask(client, number(2), answer(number(2))).status_code == 201
    assert len(guarded) == calls + 1
    # Another range is not affected.
    assert ask(client, number(3, "7916000")).status_code == 201


def test_the_challenge_is_not_asked_while_the_risk_is_low(client, settings, flashcall_outbox):
    asked = []
    settings.FLASHCALL_CHALLENGE = "tests.test_abuse.recording_challenge"
    recording_challenge.asked = asked
    assert ask(client, number(1), challenge="anything").status_code == 201
    assert asked == []


def recording_challenge(request, phone, value):
    recording_challenge.asked.append(value)
    return False


def test_a_broken_challenge_is_a_refusal_not_a_500(client, guarded, settings):
    settings.FLASHCALL_CHALLENGE = "tests.test_abuse.broken_challenge"
    ask(client, number(1))
    assert_error(ask(client, number(2), "42"), 403, "challenge_required")


def broken_challenge(request, phone, value):
    raise RuntimeError("the CAPTCHA service is down")


def test_without_a_challenge_the_guards_stay_off(client, settings, flashcall_outbox):
    settings.FLASHCALL_RANGE_RISK = 1
    for i in range(3):
        assert ask(client, number(i)).status_code == 201
    assert not abuse.enabled()


def test_the_arithmetic_challenge_takes_the_right_sum_only(clock):
    phone = number(5)
    assert arithmetic(None, phone, answer(phone))
    assert arithmetic(None, phone, f" {answer(phone)} ")
    assert not arithmetic(None, phone, "99")  # no two numbers of 2..9 add up to it
    assert not arithmetic(None, phone, None)
    before = answer(phone)
    clock.advance(600)  # the previous period's question is still taken
    assert arithmetic(None, phone, before)


# --------------------------------------------------------------------------- the signals


def test_ipv6_clients_are_grouped_by_their_48(client, settings, flashcall_outbox, clock):
    settings.FLASHCALL_CHALLENGE = ARITHMETIC
    settings.FLASHCALL_NETWORK_RISK = 2
    # Fresh /64s of one /48 escape the per-IP rate, not the network's count.
    for i in range(2):
        ip = f"2001:db8:7:{i:x}::1"
        assert ask(client, number(i, f"79{i + 10:02d}000"), ip=ip).status_code == 201
    body = assert_error(
        ask(client, number(9, "7930000"), ip="2001:db8:7:ff::9"), 403, "challenge_required"
    )
    assert CallAttempt.objects.order_by("-pk").first().error == "network"
    assert body["code"] == "challenge_required"
    # Another /48 is not affected; nor is the IPv4 /24 next door.
    assert ask(client, number(1, "7931000"), ip="2001:db8:8::1").status_code == 201
    assert abuse.network_of("2001:db8:7:ffff::1") == "2001:db8:7::/48"
    assert abuse.network_of("203.0.113.77") == "203.0.113.0/24"
    assert abuse.network_of(None) is None


def test_verified_calls_cool_a_range_down(client, guarded):
    response = ask(client, number(1))
    attempt_id, code = response.json()["attempt_id"], guarded[-1].code
    assert post(client, CONFIRM, {"attempt_id": attempt_id, "code": code}).status_code == 200
    # One call, one success: nothing unanswered, no challenge.
    assert ask(client, number(2)).status_code == 201


def test_a_falling_conversion_rate_raises_the_bar_for_everyone(
    client, settings, flashcall_outbox, clock
):
    settings.FLASHCALL_CHALLENGE = ARITHMETIC
    settings.FLASHCALL_CONVERSION_SAMPLE = 4
    settings.FLASHCALL_CONVERSION_HOLD = 600
    # Three unanswered calls, each to its own range from its own network: the
    # fourth would make 4 of 4 unverified.
    for i in range(3):
        assert ask(client, number(i, f"79{i + 20:02d}000"), ip=f"203.0.{i}.1").status_code == 201
    fresh = number(1, "7960000")
    assert_error(ask(client, fresh, ip="192.0.2.1"), 403, "challenge_required")
    assert CallAttempt.objects.order_by("-pk").first().error == "conversion"
    assert ask(client, fresh, answer(fresh), ip="192.0.2.1").status_code == 201
    # The hold passes, but the last hour's calls still go unverified: up
    # again, for twice as long.
    clock.advance(601)
    other = number(2, "7961000")
    assert_error(ask(client, other, ip="192.0.2.2"), 403, "challenge_required")
    # Once those calls leave the hour's window and the hold is over, it comes down.
    clock.advance(2 * 3600)
    assert ask(client, other, ip="192.0.2.2").status_code == 201


def test_bots_failing_the_challenge_keep_the_bar_up(client, settings, flashcall_outbox, clock):
    settings.FLASHCALL_CHALLENGE = ARITHMETIC
    settings.FLASHCALL_CONVERSION_SAMPLE = 4
    settings.FLASHCALL_CONVERSION_HOLD = 600
    for i in range(4):
        ask(client, number(i, f"79{i + 20:02d}000"), ip=f"203.0.{i}.1")
    clock.advance(500)
    for i in range(4):  # four refused requests: the end moves a hold further
        ask(client, number(i, f"79{i + 40:02d}000"), ip=f"203.0.{i + 10}.1")
    clock.advance(200)  # past the first hold, within the extension
    assert_error(ask(client, number(1, "7970000"), ip="192.0.2.1"), 403, "challenge_required")


def test_range_daily_limit_is_a_wall_even_with_the_challenge(client, guarded, settings):
    settings.FLASHCALL_RANGE_DAILY_LIMIT = 2
    settings.FLASHCALL_RANGE_RISK = 100
    assert ask(client, number(1)).status_code == 201
    assert ask(client, number(2)).status_code == 201
    body = assert_error(ask(client, number(3), answer(number(3))), 429, "rate_limited")
    assert body["retry_after"] == abuse.RISK_RETRY
    assert CallAttempt.objects.order_by("-pk").first().reason == Reason.RANGE_LIMIT


# --------------------------------------------------------------------------- the pages


def test_the_page_shows_the_challenge_and_takes_its_answer(client, guarded):
    assert ask(client, number(1)).status_code == 201
    phone = number(2)
    page = client.post("/accounts/phone/", {"phone": phone})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="challenge"' in html and "How much is" in html
    assert len(guarded) == 1
    page = client.post("/accounts/phone/", {"phone": phone, "challenge": "nope"})
    assert 'name="challenge"' in page.content.decode()
    done = client.post("/accounts/phone/", {"phone": phone, "challenge": answer(phone)})
    assert done.status_code == 302 and done["Location"].startswith("/accounts/phone/confirm/")
    assert len(guarded) == 2


def test_the_page_has_no_challenge_field_while_the_risk_is_low(client, guarded):
    assert 'name="challenge"' not in client.get("/accounts/phone/").content.decode()


# ------------------------------------------------------------------ confirms by phone alone


@pytest.fixture
def owned(client, flashcall_outbox):
    """A call the owner asked for: ``(attempt_id, code)``."""
    response = ask(client, number(1))
    return response.json()["attempt_id"], flashcall_outbox[-1].code


def test_strangers_cannot_burn_the_owners_code(client, owned, settings):
    attempt_id, code = owned
    phone = number(1)
    first = assert_error(
        post(client, CONFIRM, {"phone": phone, "code": wrong(code)}), 400, "invalid_code"
    )
    assert first["attempts_left"] == 0  # no other try by phone alone
    for _ in range(5):
        body = {"phone": phone, "code": wrong(code)}
        assert_error(post(client, CONFIRM, body), 429, "too_many_attempts")
    row = CallAttempt.objects.get(public_id=attempt_id)
    assert (row.status, row.checks_used, row.phone_only_checks) == (Status.PENDING, 1, 1)
    # The owner still has MAX_CHECKS - 1 tries: a typo, then the code.
    body = assert_error(
        post(client, CONFIRM, {"attempt_id": attempt_id, "code": wrong(code)}), 400, "invalid_code"
    )
    assert body["attempts_left"] == 1  # 3 checks: the stranger's, this one, one more
    assert post(client, CONFIRM, {"attempt_id": attempt_id, "code": code}).status_code == 200


def test_guesses_per_call_do_not_grow_for_whoever_holds_the_attempt(client, owned):
    # Someone who asked for the call (to a victim's phone) holds the id and
    # may also confirm by phone alone: three wrong codes in all, not more.
    attempt_id, code = owned
    phone = number(1)
    assert_error(post(client, CONFIRM, {"phone": phone, "code": wrong(code)}), 400, "invalid_code")
    for left in (1, 0):
        body = {"attempt_id": attempt_id, "code": wrong(code)}
        assert (
            assert_error(post(client, CONFIRM, body), 400, "invalid_code")["attempts_left"] == left
        )
    for body in ({"attempt_id": attempt_id, "code": code}, {"phone": phone, "code": code}):
        assert_error(post(client, CONFIRM, body), 429, "too_many_attempts")
    assert CallAttempt.objects.get(public_id=attempt_id).checks_used == 3


def test_the_last_check_is_never_taken_by_phone_alone(client, owned):
    attempt_id, code = owned
    for _ in range(2):
        post(client, CONFIRM, {"attempt_id": attempt_id, "code": wrong(code)})
    # One check left: a confirm by phone alone is not even compared.
    assert_error(
        post(client, CONFIRM, {"phone": number(1), "code": code}), 429, "too_many_attempts"
    )
    assert post(client, CONFIRM, {"attempt_id": attempt_id, "code": code}).status_code == 200


def test_a_right_code_by_phone_alone_verifies_and_counts_no_wrong_code(client, owned):
    attempt_id, code = owned
    assert post(client, CONFIRM, {"phone": number(1), "code": code}).status_code == 200
    row = CallAttempt.objects.get(public_id=attempt_id)
    assert (row.status, row.checks_used, row.phone_only_checks) == (Status.VERIFIED, 0, 0)


def test_strangers_cannot_lock_the_phone(client, settings, flashcall_outbox, clock):
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 100
    settings.FLASHCALL_PHONE_MAX_FAILURES = 3
    phone = number(1)
    for _ in range(3):  # three calls, a stranger's wrong code on each
        ask(client, phone)
        code = flashcall_outbox[-1].code
        post(client, CONFIRM, {"phone": phone, "code": wrong(code)})
        clock.advance(1)
    # The phone is not locked: the owner gets a call and logs in...
    response = ask(client, phone)
    attempt_id, code = response.json()["attempt_id"], flashcall_outbox[-1].code
    # ...while confirms by phone alone are done for the day.
    assert_error(post(client, CONFIRM, {"phone": phone, "code": code}), 429, "too_many_attempts")
    assert post(client, CONFIRM, {"attempt_id": attempt_id, "code": code}).status_code == 200


# --------------------------------------------------------------------------- non-JSON bodies


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("text/plain", '{"phone": "79244501003"}'),  # a cross-site form, no preflight
        ("application/x-www-form-urlencoded", "phone=79244501003"),
        ("multipart/form-data; boundary=x", "--x--"),
        ("application/json", "[1]"),
        ("application/json", "{"),
        ("text/plain", ""),
    ],
)
def test_a_body_that_is_not_json_costs_no_ip_budget(
    client, settings, flashcall_outbox, content_type, body
):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/h"
    for _ in range(5):
        response = client.post(REQUEST, body, content_type=content_type)
        assert_error(response, 400, "invalid_request")
    for i in range(2):
        assert ask(client, number(i), ip="127.0.0.1").status_code == 201
    assert_error(ask(client, number(3), ip="127.0.0.1"), 429, "rate_limited")


# --------------------------------------------------------------------------- system checks


def _ids():
    return {m.id for m in run_checks() if m.id and m.id.startswith("django_flashcall.")}


def test_w013_no_budget_for_a_paying_site(settings):
    settings.FLASHCALL_PROVIDER = "django_flashcall.providers.TelefonIPProvider"
    assert "django_flashcall.W013" in _ids()
    settings.FLASHCALL_DAILY_BUDGET = 500
    assert "django_flashcall.W013" not in _ids()
    settings.FLASHCALL_DAILY_BUDGET = None
    settings.DEBUG = True
    assert "django_flashcall.W013" not in _ids()
    settings.DEBUG = False
    settings.FLASHCALL_PROVIDER = "django_flashcall.providers.SandboxProvider"
    assert "django_flashcall.W013" not in _ids()


@pytest.mark.parametrize("path", ["no.such.module", "django_flashcall.conf.DEFAULTS"])
def test_e013_a_challenge_that_is_not_a_callable(settings, path):
    settings.FLASHCALL_CHALLENGE = path
    assert "django_flashcall.E013" in _ids()
    settings.FLASHCALL_CHALLENGE = ARITHMETIC
    assert "django_flashcall.E013" not in _ids()


def test_a_burst_on_cold_counters_gets_no_more_than_the_threshold(settings, clock):
    # Ten concurrent requests all read the counters before any is counted.
    settings.FLASHCALL_CHALLENGE = ARITHMETIC
    at = clock()
    risks = [abuse.assess(number(i), None, at) for i in range(10)]
    assert not any(risk.high for risk in risks)
    passed = 0
    for i, risk in enumerate(risks):
        try:
            abuse.screen(risk, None, number(i), None)
            passed += 1
        except ChallengeRequired:
            pass
    assert passed == 3  # FLASHCALL_RANGE_RISK
