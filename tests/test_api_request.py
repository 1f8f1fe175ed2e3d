"""``POST api/flashcall/request/`` through HTTP (SPEC §4, §6): the success
shape, every error row the endpoint can answer, the IP rate limit, the
provider failures driven through the fake telefon-ip server, no enumeration."""

import logging
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from django_flashcall.models import CallAttempt, PhoneNumber, Reason, Status
from django_flashcall.testing import refused_url
from tests.api_helpers import PHONE, REQUEST, assert_error, post
from tests.helpers import scrub

pytestmark = pytest.mark.django_db


# ----------------------------------------------------------------------------------------- success


def test_request_answers_the_spec_shape(client, flashcall_outbox):
    before = timezone.now()
    response = post(client, REQUEST, {"phone": "+7 (924) 450-10-03", "sms_fallback": False})

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "attempt_id",
        "phone",
        "channel",
        "code_length",
        "expires_at",
        "resend_after",
    }
    assert str(uuid.UUID(body["attempt_id"])) == body["attempt_id"]
    assert body["phone"] == PHONE
    assert body["channel"] == "call"
    assert body["code_length"] == 4
    assert body["resend_after"] == 60
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None
    assert before + timedelta(seconds=299) <= expires_at <= timezone.now() + timedelta(seconds=301)
    (call,) = flashcall_outbox
    assert call.phone == PHONE and call.sms_fallback is False
    # The code never leaves the server.
    assert call.code not in scrub(response.content.decode(), PHONE)
    assert call.caller not in response.content.decode()
    attempt = CallAttempt.objects.get(public_id=body["attempt_id"])
    assert attempt.status == Status.PENDING and attempt.ip == "127.0.0.1"


def test_settings_shape_the_answer(client, flashcall_outbox, settings):
    settings.FLASHCALL_CODE_TTL = 90
    settings.FLASHCALL_RESEND_COOLDOWN = 15
    before = timezone.now()
    body = post(client, REQUEST, {"phone": PHONE}).json()
    assert body["resend_after"] == 15
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(seconds=89) <= expires_at <= timezone.now() + timedelta(seconds=91)


@pytest.mark.parametrize(
    ("site", "sent", "expected"),
    [
        (False, None, False),
        (False, False, False),
        # Only the site opts in to the SMS fallback (it costs more, and SMS
        # pumping is a fraud); a client may only opt out.
        (False, True, False),
        (True, None, True),
        (True, True, True),
        (True, False, False),
    ],
)
def test_sms_fallback_reaches_the_provider(client, fake_telefonip, settings, site, sent, expected):
    settings.FLASHCALL_SMS_FALLBACK = site
    body = {"phone": PHONE} if sent is None else {"phone": PHONE, "sms_fallback": sent}
    assert post(client, REQUEST, body).status_code == 201
    (sent_request,) = fake_telefonip.requests_for("get_code")
    assert sent_request.query == ({"sms": "true"} if expected else {})
    assert CallAttempt.objects.get().sms_fallback is expected


@pytest.mark.parametrize(
    "spelling",
    [
        "+7 (924) 450-10-03",
        "+79244501003",
        "79244501003",
        "89244501003",
        "8 924 450 10 03",
        "9244501003",
        "924.450.10.03",
        "  89244501003  ",
        # NFKC (SPEC §6): full-width and other compatibility digits are digits.
        "＋７ （９２４） ４５０－１０－０３",
        "８９２４４５０１００３",
        "𝟖𝟗𝟐𝟒𝟒𝟓𝟎𝟏𝟎𝟎𝟑",
    ],
)
def test_every_accepted_spelling_maps_to_the_stored_form(client, fake_telefonip, spelling):
    response = post(client, REQUEST, {"phone": spelling})
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == PHONE
    (sent,) = fake_telefonip.requests_for("get_code")
    assert sent.phone == "89244501003"


def test_all_spellings_share_one_set_of_limits(client, flashcall_outbox):
    assert post(client, REQUEST, {"phone": "+7 924 450-10-03"}).status_code == 201
    for spelling in ("89244501003", "９２４４５０１００３", "7 (924) 4501003"):
        assert_error(post(client, REQUEST, {"phone": spelling}), 429, "rate_limited")
    assert len(flashcall_outbox) == 1


# ----------------------------------------------------------------- invalid_phone / invalid_request


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "   ",
        "hello",
        "+7 495 123-45-67",  # Moscow landline
        "84951234567",
        "+1 924 450 1003",
        "+89244501003",
        "892445010",  # short
        "892445010031",  # long
        "7924+4501003",
        "8-924-450-10-03 ext 5",
        "٨٩٢٤٤٥٠١٠٠٣",  # Arabic-Indic digits: not NFKC-equivalent to ASCII
        "۸۹۲۴۴۵۰۱۰۰۳",  # Extended Arabic-Indic
        "८९२४४५०१००३",  # Devanagari
    ],
)
def test_invalid_phone(client, fake_telefonip, phone):
    assert_error(post(client, REQUEST, {"phone": phone}), 400, "invalid_phone")
    assert fake_telefonip.requests == []
    assert not CallAttempt.objects.exists()


def test_provider_format_error_is_invalid_phone(client, fake_telefonip):
    fake_telefonip.set_fault("format_error")
    assert_error(post(client, REQUEST, {"phone": PHONE}), 400, "invalid_phone")
    assert len(fake_telefonip.requests_for("get_code")) == 1
    assert CallAttempt.objects.get().status == Status.FAILED


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"sms_fallback": True},
        {"phone": 89244501003},
        {"phone": None},
        {"phone": PHONE, "sms_fallback": "true"},
        {"phone": PHONE, "sms_fallback": 1},
        {"phone": PHONE, "sms_fallback": None},
        {"phone": PHONE, "code": "1234"},
    ],
)
def test_invalid_request(client, flashcall_outbox, body):
    assert_error(post(client, REQUEST, body), 400, "invalid_request")
    assert flashcall_outbox == []


# ---------------------------------------------------------------- rate_limited (per phone, budget)


def test_resend_cooldown(client, flashcall_outbox, clock):
    assert post(client, REQUEST, {"phone": PHONE}).status_code == 201
    clock.advance(20)
    body = assert_error(post(client, REQUEST, {"phone": PHONE}), 429, "rate_limited")
    assert body["retry_after"] == 40
    assert len(flashcall_outbox) == 1
    refused = CallAttempt.objects.get(status=Status.REFUSED)
    assert refused.reason == Reason.COOLDOWN
    clock.advance(40)
    assert post(client, REQUEST, {"phone": PHONE}).status_code == 201
    assert len(flashcall_outbox) == 2


def test_phone_daily_limit(client, flashcall_outbox, settings, clock):
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 2
    for _ in range(2):
        assert post(client, REQUEST, {"phone": PHONE}).status_code == 201
        clock.advance(60)
    body = assert_error(post(client, REQUEST, {"phone": PHONE}), 429, "rate_limited")
    assert body["retry_after"] == 86400 - 120
    assert len(flashcall_outbox) == 2
    # Another phone is not affected.
    assert post(client, REQUEST, {"phone": "79244501004"}).status_code == 201


def test_site_daily_budget(client, flashcall_outbox, settings, clock):
    settings.FLASHCALL_DAILY_BUDGET = 2
    assert post(client, REQUEST, {"phone": "79244501001"}).status_code == 201
    clock.advance(100)
    assert post(client, REQUEST, {"phone": "79244501002"}).status_code == 201
    body = assert_error(post(client, REQUEST, {"phone": "79244501003"}), 429, "rate_limited")
    assert body["retry_after"] == 86400 - 100  # until the oldest call leaves the window
    assert len(flashcall_outbox) == 2
    assert CallAttempt.objects.get(phone="79244501003").reason == Reason.BUDGET


# ----------------------------------------------------------------------------------- IP rate limit


def test_ip_rate_limit_is_a_429_not_a_403(client, flashcall_outbox):
    # Default FLASHCALL_RATELIMIT_REQUEST is 10/h per client IP.
    for n in range(10):
        response = post(client, REQUEST, {"phone": f"792445010{n:02d}"}, REMOTE_ADDR="10.1.1.1")
        assert response.status_code == 201, (n, response.content)
    response = post(client, REQUEST, {"phone": "79244501099"}, REMOTE_ADDR="10.1.1.1")
    body = assert_error(response, 429, "rate_limited")
    assert 1 <= body["retry_after"] <= 3600
    assert len(flashcall_outbox) == 10  # the limited one placed no call
    # Another client IP has its own bucket.
    response = post(client, REQUEST, {"phone": "79244501099"}, REMOTE_ADDR="10.1.1.2")
    assert response.status_code == 201


def test_ip_rate_limit_counts_bad_bodies_too(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/h"
    for _ in range(2):
        assert_error(post(client, REQUEST, {"phone": "nope"}), 400, "invalid_phone")
    assert_error(post(client, REQUEST, {"phone": PHONE}), 429, "rate_limited")
    assert flashcall_outbox == []


def test_spoofed_x_forwarded_for_does_not_escape_the_limit(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "3/h"
    for n in range(3):
        response = post(
            client,
            REQUEST,
            {"phone": f"792445010{n:02d}"},
            REMOTE_ADDR="10.2.2.2",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
        assert response.status_code == 201
    response = post(
        client,
        REQUEST,
        {"phone": "79244501050"},
        REMOTE_ADDR="10.2.2.2",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert_error(response, 429, "rate_limited")
    # Nor is the spoofed address what gets logged.
    assert set(CallAttempt.objects.values_list("ip", flat=True)) == {"10.2.2.2"}


def test_trusted_proxy_count_uses_x_forwarded_for(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/h"
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}  # every request comes through our one proxy

    def via_proxy(phone, xff):
        return post(client, REQUEST, {"phone": phone}, HTTP_X_FORWARDED_FOR=xff, **proxy)

    # The address the proxy appended (the last one) is the client; what the
    # client wrote in front of it does not matter.
    assert via_proxy("79244501000", "198.51.100.7, 203.0.113.1").status_code == 201
    assert via_proxy("79244501001", "198.51.100.8, 203.0.113.1").status_code == 201
    assert_error(via_proxy("79244501002", "203.0.113.1"), 429, "rate_limited")
    # Another client behind the same proxy has its own bucket.
    assert via_proxy("79244501003", "203.0.113.50").status_code == 201
    assert CallAttempt.objects.get(phone="79244501003").ip == "203.0.113.50"
    assert len(flashcall_outbox) == 3


def test_ipv6_clients_are_limited_per_address(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/h"
    for n in range(2):
        response = post(client, REQUEST, {"phone": f"792445010{n:02d}"}, REMOTE_ADDR="2001:db8::1")
        assert response.status_code == 201
    response = post(client, REQUEST, {"phone": "79244501070"}, REMOTE_ADDR="2001:db8::1")
    assert_error(response, 429, "rate_limited")


def test_ipv6_addresses_of_one_64_share_a_bucket(client, flashcall_outbox, settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/h"
    for n in range(2):
        response = post(
            client, REQUEST, {"phone": f"792445010{n:02d}"}, REMOTE_ADDR=f"2001:db8:0:1::{n + 1}"
        )
        assert response.status_code == 201
    response = post(client, REQUEST, {"phone": "79244501071"}, REMOTE_ADDR="2001:db8:0:1::99")
    assert_error(response, 429, "rate_limited")
    assert len(flashcall_outbox) == 2


# ---------------------------------------------------------------------------- provider_unavailable


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("server_error", Reason.SERVER_ERROR),
        ("malformed", Reason.BAD_RESPONSE),
        ("success_false", Reason.REJECTED),
        ("bad_code", Reason.BAD_RESPONSE),
        ("missing_code", Reason.BAD_RESPONSE),
        ("drop", Reason.TIMEOUT),
        ("redirect", Reason.BAD_RESPONSE),
        ("huge", Reason.BAD_RESPONSE),
    ],
)
def test_provider_faults_are_provider_unavailable(client, fake_telefonip, fault, reason):
    fake_telefonip.set_fault(fault)
    assert_error(post(client, REQUEST, {"phone": PHONE}), 503, "provider_unavailable")
    # One request only: a get_code is never retried, and no redirect is followed.
    assert len(fake_telefonip.requests) == 1
    assert not fake_telefonip.requests[0].path.startswith("/moved")
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (Status.FAILED, reason)
    assert fake_telefonip.token not in attempt.error


def test_slow_provider_times_out(client, fake_telefonip, settings):
    settings.FLASHCALL_TIMEOUT = (1, 0.3)
    fake_telefonip.set_fault("slow")
    response = post(client, REQUEST, {"phone": PHONE})
    assert_error(response, 503, "provider_unavailable")
    # A read timeout may mean the call was placed: never retried.
    assert len(fake_telefonip.requests_for("get_code")) == 1
    assert CallAttempt.objects.get().reason == Reason.TIMEOUT


def test_refused_connection_is_provider_unavailable(client, settings, flashcall_outbox):
    settings.FLASHCALL_PROVIDER = "django_flashcall.providers.TelefonIPProvider"
    settings.FLASHCALL_API_URL = refused_url()
    settings.FLASHCALL_TIMEOUT = (1, 1)
    assert_error(post(client, REQUEST, {"phone": PHONE}), 503, "provider_unavailable")
    assert CallAttempt.objects.get().reason == Reason.CONNECTION


def test_wrong_token_is_503_and_logged_at_error_without_the_token(
    client, fake_telefonip, settings, caplog
):
    secret = "WRONG-token-5b1e7c"  # noqa: S105
    settings.FLASHCALL_API_TOKEN = secret
    caplog.set_level(logging.DEBUG)

    response = post(client, REQUEST, {"phone": PHONE})

    assert_error(response, 503, "provider_unavailable")
    assert fake_telefonip.requests[0].token == secret  # it did reach the fake: a real 401
    errors = [
        r for r in caplog.records if r.name == "django_flashcall" and r.levelno == logging.ERROR
    ]
    assert errors, caplog.text
    for record in caplog.records:
        assert secret not in record.getMessage()
    assert secret not in caplog.text
    assert secret not in response.content.decode()
    attempt = CallAttempt.objects.get()
    assert attempt.reason == Reason.UNAUTHORIZED and secret not in attempt.error


def test_open_breaker_fails_fast_with_retry_after(client, fake_telefonip, settings, clock):
    settings.FLASHCALL_BREAKER_THRESHOLD = 2
    settings.FLASHCALL_BREAKER_COOLDOWN = 120
    fake_telefonip.set_fault("server_error")
    for phone in ("79244501001", "79244501002"):
        body = assert_error(post(client, REQUEST, {"phone": phone}), 503, "provider_unavailable")
        assert "retry_after" not in body
    fake_telefonip.set_fault(None)  # the provider is well again, but the breaker is open

    clock.advance(30)
    response = post(client, REQUEST, {"phone": PHONE})
    body = assert_error(response, 503, "provider_unavailable")
    assert body["retry_after"] == 90
    assert response["Retry-After"] == str(body["retry_after"])
    assert len(fake_telefonip.requests) == 2  # no request reached the fake
    assert CallAttempt.objects.get(phone=PHONE).reason == Reason.BREAKER_OPEN

    clock.advance(90)  # cooldown over: one probe goes through and closes it
    assert post(client, REQUEST, {"phone": PHONE}).status_code == 201
    assert post(client, REQUEST, {"phone": "79244501004"}).status_code == 201
    assert len(fake_telefonip.requests_for("get_code")) == 4


# ---------------------------------------------------------------------------------- no enumeration


@pytest.mark.parametrize("phone_field", [None, "phone"])
def test_answer_does_not_tell_whether_the_phone_has_a_user(
    client, flashcall_outbox, django_user_model, settings, phone_field
):
    settings.FLASHCALL_USER_PHONE_FIELD = phone_field
    owned, free = "79244501001", "79244501002"
    user = django_user_model.objects.create_user("owner", phone=owned if phone_field else None)
    if phone_field is None:
        PhoneNumber.objects.create(user=user, phone=owned)

    answers = [post(client, REQUEST, {"phone": phone}) for phone in (owned, free)]

    def shape(response):
        body = response.json()
        for key in ("attempt_id", "phone", "expires_at"):
            body.pop(key)
        headers = sorted(name.lower() for name, _ in response.items())
        return response.status_code, body, headers, sorted(response.cookies)

    assert shape(answers[0]) == shape(answers[1])
    assert answers[0].status_code == 201
    assert len(flashcall_outbox) == 2


# ------------------------------------------------------------------------------------- CSRF cookie


def test_request_sets_the_csrf_cookie_in_session_mode(client, flashcall_outbox):
    response = post(client, REQUEST, {"phone": PHONE})
    assert response.status_code == 201
    assert response.cookies["csrftoken"].value


def test_request_sets_no_csrf_cookie_in_token_mode(client, flashcall_outbox, settings):
    settings.FLASHCALL_LOGIN = "token"
    response = post(client, REQUEST, {"phone": PHONE})
    assert response.status_code == 201
    assert "csrftoken" not in response.cookies


# --------------------------------------------------------------------------- translated detail


@pytest.mark.parametrize(
    ("body", "code"),
    [({"phone": "nope"}, "invalid_phone"), ({"phone": 1}, "invalid_request")],
)
def test_detail_is_translated_and_code_is_stable(client, flashcall_outbox, body, code):
    english = assert_error(post(client, REQUEST, body, HTTP_ACCEPT_LANGUAGE="en"), 400, code)
    russian = assert_error(post(client, REQUEST, body, HTTP_ACCEPT_LANGUAGE="ru"), 400, code)
    assert english["detail"] != russian["detail"]
    assert any("а" <= ch <= "я" for ch in russian["detail"].lower())
