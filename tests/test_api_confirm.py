"""``POST api/flashcall/confirm/`` through HTTP (SPEC §4, §6): the success
shape, every error row the endpoint can answer, the check counting of
``FLASHCALL_MAX_CHECKS``, expiry before comparison, the phone lock and the
IP rate limit. Login modes are in test_api_login.py."""

import pytest

from django_flashcall.models import CallAttempt, Status
from tests.api_helpers import CONFIRM, PHONE, REQUEST, assert_error, post

pytestmark = pytest.mark.django_db


def wrong(code):
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 10000:04d}"


@pytest.fixture
def call(client, flashcall_outbox):
    """Places a sandbox call to ``phone``; returns ``(attempt_id, code)``."""

    def place(phone=PHONE):
        response = post(client, REQUEST, {"phone": phone})
        assert response.status_code == 201, response.content
        return response.json()["attempt_id"], flashcall_outbox[-1].code

    return place


def attempt(attempt_id):
    return CallAttempt.objects.get(public_id=attempt_id)


# ----------------------------------------------------------------------------------------- success


def test_right_code_by_phone(client, call, django_user_model):
    attempt_id, code = call()
    response = post(client, CONFIRM, {"phone": "89244501003", "code": code})

    assert response.status_code == 200, response.content
    body = response.json()
    user = django_user_model.objects.get()
    assert body == {"verified": True, "phone": PHONE, "user_id": user.pk}
    row = attempt(attempt_id)
    assert (row.status, row.user, row.checks_used) == (Status.VERIFIED, user, 0)


def test_right_code_by_attempt_id(client, call):
    attempt_id, code = call()
    response = post(client, CONFIRM, {"attempt_id": attempt_id, "code": code})
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == PHONE
    assert attempt(attempt_id).status == Status.VERIFIED


def test_attempt_id_and_phone_together(client, call):
    attempt_id, code = call()
    response = post(client, CONFIRM, {"attempt_id": attempt_id, "phone": PHONE, "code": code})
    assert response.status_code == 200


def test_attempt_id_of_another_phone_is_no_active_attempt(client, call):
    attempt_id, code = call()
    response = post(
        client, CONFIRM, {"attempt_id": attempt_id, "phone": "79244501004", "code": code}
    )
    assert_error(response, 400, "no_active_attempt")
    assert attempt(attempt_id).status == Status.PENDING


@pytest.mark.parametrize("spelling", ["+7 (924) 450-10-03", "9244501003", "８９２４４５０１００３"])
def test_confirm_accepts_any_spelling_of_the_phone(client, call, spelling):
    _, code = call("89244501003")
    assert post(client, CONFIRM, {"phone": spelling, "code": code}).status_code == 200


@pytest.mark.parametrize("padded", [" {} ", "{}  ", "\t{}\n"])
def test_surrounding_spaces_are_stripped(client, call, padded):
    _, code = call()
    assert post(client, CONFIRM, {"phone": PHONE, "code": padded.format(code)}).status_code == 200


def test_a_code_is_single_use(client, call):
    attempt_id, code = call()
    assert post(client, CONFIRM, {"phone": PHONE, "code": code}).status_code == 200
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": code}), 400, "no_active_attempt")
    response = post(client, CONFIRM, {"attempt_id": attempt_id, "code": code})
    assert_error(response, 400, "no_active_attempt")


# ---------------------------------------------------------------- invalid_code / too_many_attempts


@pytest.mark.parametrize("max_checks", [3, 5])
def test_kth_wrong_code_answers_attempts_left(client, call, settings, max_checks):
    settings.FLASHCALL_MAX_CHECKS = max_checks
    attempt_id, code = call()
    for k in range(1, max_checks + 1):
        response = post(client, CONFIRM, {"attempt_id": attempt_id, "code": wrong(code)})
        body = assert_error(response, 400, "invalid_code")
        assert body["attempts_left"] == max_checks - k
    assert attempt(attempt_id).checks_used == max_checks
    # Dead: the right code too, by phone or by attempt id, and again.
    for body in (
        {"phone": PHONE, "code": code},
        {"attempt_id": attempt_id, "code": code},
        {"phone": PHONE, "code": wrong(code)},
        {"phone": PHONE, "code": code},
    ):
        assert_error(post(client, CONFIRM, body), 429, "too_many_attempts")
    row = attempt(attempt_id)
    assert row.status == Status.EXHAUSTED and row.checks_used == max_checks


def test_a_new_call_after_exhaustion_can_be_confirmed(client, call, settings):
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    _, code = call()
    for _ in range(3):
        post(client, CONFIRM, {"phone": PHONE, "code": wrong(code)})
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": code}), 429, "too_many_attempts")
    _, new_code = call()
    response = post(client, CONFIRM, {"phone": PHONE, "code": new_code})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "spell",
    [
        lambda c: c.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full-width
        lambda c: c.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # Arabic-Indic
        lambda c: c.translate(str.maketrans("0123456789", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗")),
        lambda c: c + "0",
        lambda c: c[:3],
        lambda c: c[:2] + " " + c[2:],
        lambda c: c[:2] + "-" + c[2:],
        lambda c: "+" + c,
        lambda c: "",
        lambda c: "abcd",
        lambda c: c[:3] + "a",
        lambda c: c + "\x00",
    ],
    ids=[
        "fullwidth",
        "arabic-indic",
        "math-bold",
        "five-digits",
        "three-digits",
        "inner-space",
        "dash",
        "plus",
        "empty",
        "letters",
        "three-digits-and-letter",
        "nul",
    ],
)
def test_a_code_that_is_not_4_ascii_digits_is_invalid_and_costs_no_check(client, call, spell):
    attempt_id, code = call()
    body = assert_error(
        post(client, CONFIRM, {"phone": PHONE, "code": spell(code)}), 400, "invalid_code"
    )
    assert body["attempts_left"] == 3
    assert attempt(attempt_id).checks_used == 0
    # The right code, in ASCII, still works.
    assert post(client, CONFIRM, {"phone": PHONE, "code": code}).status_code == 200


def test_non_guesses_after_wrong_guesses_keep_the_count(client, call):
    _, code = call()
    post(client, CONFIRM, {"phone": PHONE, "code": wrong(code)})
    body = assert_error(post(client, CONFIRM, {"phone": PHONE, "code": "x"}), 400, "invalid_code")
    assert body["attempts_left"] == 2


def test_the_newest_call_supersedes_the_previous_one(client, call, settings):
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    old_id, old_code = call()
    new_id, new_code = call()
    assert attempt(old_id).status == Status.EXPIRED
    assert_error(
        post(client, CONFIRM, {"attempt_id": old_id, "code": old_code}), 400, "code_expired"
    )
    if old_code != new_code:
        assert_error(post(client, CONFIRM, {"phone": PHONE, "code": old_code}), 400, "invalid_code")
    assert post(client, CONFIRM, {"attempt_id": new_id, "code": new_code}).status_code == 200


# -------------------------------------------------------------------------------------- phone lock


def test_wrong_codes_lock_the_phone_across_calls(client, call, settings, clock):
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    settings.FLASHCALL_PHONE_MAX_FAILURES = 4
    first, code = call()
    for _ in range(3):
        post(client, CONFIRM, {"attempt_id": first, "code": wrong(code)})
    clock.advance(10)
    attempt_id, code = call()  # a new call does not reset the phone's count
    body = assert_error(
        post(client, CONFIRM, {"attempt_id": attempt_id, "code": wrong(code)}), 400, "invalid_code"
    )
    assert body["attempts_left"] == 2
    # Locked: the right code is refused...
    body = {"attempt_id": attempt_id, "code": code}
    assert_error(post(client, CONFIRM, body), 429, "too_many_attempts")
    assert attempt(attempt_id).status == Status.PENDING
    # ...and request places no paid call, with a retry_after to the window's end.
    response = post(client, REQUEST, {"phone": PHONE})
    body = assert_error(response, 429, "rate_limited")
    assert body["retry_after"] == 86400 - 10  # the first wrong code was at t=0
    assert CallAttempt.objects.filter(status=Status.REFUSED).count() == 1


# ------------------------------------------------------------------------------------ code_expired


def test_code_expired(client, call, clock):
    attempt_id, code = call()
    clock.advance(299)
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": wrong(code)}), 400, "invalid_code")
    clock.advance(1)
    # Expiry is checked before the code: the right code is refused too, and
    # a wrong one is not counted.
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": code}), 400, "code_expired")
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": wrong(code)}), 400, "code_expired")
    response = post(client, CONFIRM, {"attempt_id": attempt_id, "code": code})
    assert_error(response, 400, "code_expired")
    row = attempt(attempt_id)
    assert row.status == Status.EXPIRED and row.checks_used == 1


def test_code_ttl_setting(client, call, clock, settings):
    settings.FLASHCALL_CODE_TTL = 30
    _, code = call()
    clock.advance(30)
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": code}), 400, "code_expired")


# ------------------------------------------------------------------- no_active_attempt / invalid_*


def test_no_call_is_no_active_attempt(client, flashcall_outbox):
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": "1234"}), 400, "no_active_attempt")
    response = post(
        client, CONFIRM, {"attempt_id": "6f1c3c8e-6a0e-4d55-9a59-2d3a4c1b7e10", "code": "1234"}
    )
    assert_error(response, 400, "no_active_attempt")


def test_a_failed_call_leaves_nothing_to_confirm(client, fake_telefonip):
    fake_telefonip.set_fault("server_error")
    assert post(client, REQUEST, {"phone": PHONE}).status_code == 503
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": "1234"}), 400, "no_active_attempt")


@pytest.mark.parametrize("phone", ["123", "+7 495 123-45-67", "garbage", "٨٩٢٤٤٥٠١٠٠٣"])
def test_invalid_phone_on_confirm(client, call, phone):
    attempt_id, code = call()
    assert_error(post(client, CONFIRM, {"phone": phone, "code": code}), 400, "invalid_phone")
    assert attempt(attempt_id).status == Status.PENDING


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phone": PHONE},
        {"code": "1234"},
        {"attempt_id": "not-a-uuid", "code": "1234"},
        {"attempt_id": "../../", "code": "1234"},
        {"attempt_id": 12, "code": "1234"},
        {"phone": PHONE, "code": 1234},
        {"phone": PHONE, "code": None},
        {"phone": None, "code": "1234"},
        {"phone": PHONE, "code": "1234", "user_id": 1},
        {"phone": PHONE, "code": "1234", "sms_fallback": False},
    ],
)
def test_invalid_request_on_confirm(client, call, body):
    attempt_id, _ = call()
    assert_error(post(client, CONFIRM, body), 400, "invalid_request")
    row = attempt(attempt_id)
    assert row.status == Status.PENDING and row.checks_used == 0


# ----------------------------------------------------------------------------------- IP rate limit


def test_confirm_ip_rate_limit_is_a_429_not_a_403(client, call, settings):
    settings.FLASHCALL_RATELIMIT_CONFIRM = "3/h"
    attempt_id, code = call()
    for _ in range(2):
        post(client, CONFIRM, {"attempt_id": attempt_id, "code": wrong(code)})
    assert post(client, CONFIRM, {"phone": PHONE, "code": "bad"}).status_code == 400
    response = post(client, CONFIRM, {"attempt_id": attempt_id, "code": code})
    body = assert_error(response, 429, "rate_limited")
    assert 1 <= body["retry_after"] <= 3600
    assert attempt(attempt_id).status == Status.PENDING  # the limited one was not checked
    # Another IP may still confirm.
    body = {"attempt_id": attempt_id, "code": code}
    response = post(client, CONFIRM, body, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 200


def test_confirm_default_ip_rate_is_30_per_hour(client, flashcall_outbox):
    for _ in range(30):
        response = post(client, CONFIRM, {"phone": PHONE, "code": "1234"})
        assert_error(response, 400, "no_active_attempt")
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": "1234"}), 429, "rate_limited")


def test_request_and_confirm_have_separate_ip_buckets(client, call, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "1/h"
    settings.FLASHCALL_RATELIMIT_CONFIRM = "1/h"
    _, code = call()
    assert post(client, CONFIRM, {"phone": PHONE, "code": code}).status_code == 200
    assert_error(post(client, REQUEST, {"phone": "79244501004"}), 429, "rate_limited")
    assert_error(post(client, CONFIRM, {"phone": PHONE, "code": code}), 429, "rate_limited")
