"""The rules of SPEC §6, end to end through ``request_code`` / ``confirm_code``.

Calls go through real providers loaded by dotted path: the sandbox (its
``outbox`` tells which calls were placed and with what code), the fake
telefon-ip server over HTTP, and the small providers of ``tests.helpers``.
Time is moved with ``tests.helpers.install_clock``, never slept.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test import RequestFactory

from django_flashcall import signals
from django_flashcall.exceptions import (
    CodeExpired,
    InvalidCode,
    InvalidPhone,
    InvalidRequest,
    NoActiveAttempt,
    ProviderUnavailable,
    RateLimited,
    TooManyAttempts,
)
from django_flashcall.internal.cache import CacheUnavailable
from django_flashcall.models import CallAttempt, PhoneNumber
from django_flashcall.providers import (
    InvalidPhoneForProvider,
    ProviderError,
    ProviderResult,
    SandboxProvider,
)
from django_flashcall.services import confirm_code, hash_code, request_code
from tests.helpers import (
    FixedCodeProvider,
    code_for,
    owners_attempt,
    phone,
    row,
    scrub,
    use_failing,
    use_scripted,
    wrong,
)

pytestmark = pytest.mark.django_db

PHONE = "79244501003"
DAY = 86400
User = get_user_model()


@pytest.fixture
def failing(settings):
    return use_failing(settings)


@pytest.fixture
def received():
    """Every signal sent, as (signal name, kwargs)."""
    log: list[tuple[str, dict]] = []
    receivers = {}
    for name in ("code_requested", "code_verified", "code_failed"):

        def receiver(sender, _name=name, **kwargs):
            log.append((_name, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver)
    yield log
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


@pytest.fixture
def compares(monkeypatch):
    """Record the calls to ``constant_time_compare`` made by the services."""
    calls = []
    from django_flashcall.services import confirm

    real = confirm.constant_time_compare

    def recording(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("django_flashcall.services.confirm.constant_time_compare", recording)
    return calls


# --------------------------------------------------------------------------- request


def test_request_places_one_call_and_returns_a_pending_attempt(outbox, clock):
    attempt = request_code("+7 (924) 450-10-03")

    (call,) = outbox
    assert call.phone == PHONE
    stored = row(attempt)
    assert stored.phone == PHONE
    assert stored.status == "pending"
    assert stored.channel == "call"
    assert stored.created_at == clock.current
    assert stored.expires_at == clock.current + timedelta(seconds=300)  # default TTL
    assert stored.provider_id == call.provider_id
    assert stored.checks_used == 0
    assert stored.public_id == attempt.public_id


def test_code_ttl_setting_is_read_at_use(outbox, clock, settings):
    settings.FLASHCALL_CODE_TTL = 42
    attempt = request_code(PHONE)
    assert row(attempt).expires_at == clock.current + timedelta(seconds=42)


def test_sms_fallback_reaches_the_provider_and_the_row(outbox, settings):
    # Off by default, and a client cannot turn it on (README: SMS-pumping fraud).
    a = request_code(phone(1))
    b = request_code(phone(2), sms_fallback=True)
    settings.FLASHCALL_SMS_FALLBACK = True
    c = request_code(phone(3))
    d = request_code(phone(4), sms_fallback=False)  # a client may opt out
    e = request_code(phone(5), sms_fallback=True)
    assert [call.sms_fallback for call in outbox] == [False, False, True, False, True]
    assert [row(x).sms_fallback for x in (a, b, c, d, e)] == [False, False, True, False, True]


def test_request_records_client_ip_and_user_agent(outbox):
    request = RequestFactory().post(
        "/",
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="x" * 400,
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    attempt = request_code(PHONE, request=request)
    stored = row(attempt)
    assert stored.ip == "203.0.113.9"  # X-Forwarded-For is not trusted by default
    assert stored.user_agent == "x" * 255


def test_invalid_phone_places_no_call(outbox):
    with pytest.raises(InvalidPhone):
        request_code("+7 495 123-45-67")
    with pytest.raises(InvalidPhone):
        request_code(None)
    assert outbox == []


def test_request_answers_alike_for_owned_and_unowned_phones(outbox):
    owner = User.objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=phone(1))
    owned, unowned = request_code(phone(1)), request_code(phone(2))
    fields = ("status", "channel", "user_id", "reason", "error", "checks_used")
    assert [getattr(row(owned), f) for f in fields] == [getattr(row(unowned), f) for f in fields]
    assert row(owned).expires_at - row(owned).created_at == (
        row(unowned).expires_at - row(unowned).created_at
    )


# --------------------------------------------------------------------------- code storage


def test_code_is_stored_only_as_a_keyed_hash(settings):
    settings.FLASHCALL_PROVIDER = "tests.helpers.FixedCodeProvider"
    code = FixedCodeProvider.CODE
    assert code not in PHONE
    attempt = request_code(PHONE)

    values = CallAttempt.objects.filter(pk=attempt.pk).values().get()
    for name, value in values.items():
        text = str(value)
        assert text != code, name
        if name != "code_hash":
            assert code not in scrub(text), name
    digest = values["code_hash"]
    # HMAC-SHA256 keyed with SHA-256(salt + SECRET_KEY), over "<attempt id>:<code>"
    # (Django's salted_hmac), computed here without the app's code.
    key = hashlib.sha256(f"django_flashcall.code{settings.SECRET_KEY}".encode()).digest()
    message = f"{attempt.public_id}:{code}".encode()
    assert digest == hmac.new(key, message, hashlib.sha256).hexdigest()
    assert digest != hashlib.sha256(code.encode()).hexdigest()
    assert digest != hashlib.sha256(f"{attempt.public_id}:{code}".encode()).hexdigest()


def test_hash_is_bound_to_secret_key(outbox, settings):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    original = settings.SECRET_KEY

    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert hash_code(attempt.public_id, code) != row(attempt).code_hash
    with pytest.raises(InvalidCode) as info:
        confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE))
    assert info.value.extra["attempts_left"] == 2  # counted as a wrong code

    settings.SECRET_KEY = original
    assert confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE)).status == "verified"


def test_hash_known_answer(settings):
    """A fixed vector: a change of the construction (salt, message, digest)
    would orphan every code in flight at an upgrade, so it must be seen."""
    settings.SECRET_KEY = "known-answer-secret-key-0123456789-abcdefghijklmnop"
    attempt_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    expected = "236312a5d37ae6758b3603b91e0871f5367f713e8246ac1826aa1b580a8e0d16"
    assert hash_code(attempt_id, "1234") == expected
    assert hash_code(str(attempt_id), "1234") == expected


def test_hash_is_bound_to_the_attempt():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert hash_code(a, "1234") != hash_code(b, "1234")
    assert hash_code(a, "1234") != hash_code(a, "1235")
    assert hash_code(a, "1234") == hash_code(str(a), "1234")


def test_codes_are_compared_in_constant_time(outbox, compares):
    attempt = request_code(PHONE)
    code = code_for(outbox)

    with pytest.raises(InvalidCode):
        confirm_code(PHONE, wrong(code), attempt_id=owners_attempt(PHONE))
    confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE))

    stored_hash = row(attempt).code_hash
    assert compares == [
        (hash_code(attempt.public_id, wrong(code)), stored_hash),
        (hash_code(attempt.public_id, code), stored_hash),
    ]


# --------------------------------------------------------------------------- expiry


def test_code_works_until_its_ttl(outbox, clock):
    request_code(PHONE)
    clock.advance(299)
    assert confirm_code(PHONE, code_for(outbox)).status == "verified"


@pytest.mark.parametrize("late", [300, 301, DAY])
def test_expiry_is_checked_before_the_code_is_compared(outbox, clock, compares, late):
    attempt = request_code(PHONE)
    clock.advance(late)

    with pytest.raises(CodeExpired):
        confirm_code(PHONE, code_for(outbox))

    assert compares == []  # never compared
    stored = row(attempt)
    assert stored.checks_used == 0
    assert stored.status == "expired"
    assert stored.user_id is None
    with pytest.raises(CodeExpired):  # and stays expired
        confirm_code(PHONE, code_for(outbox))


def test_expired_code_fails_even_after_expires_at_is_moved_into_the_past(outbox):
    attempt = request_code(PHONE)
    CallAttempt.objects.filter(pk=attempt.pk).update(
        expires_at=row(attempt).created_at - timedelta(seconds=1)
    )
    with pytest.raises(CodeExpired):
        confirm_code(PHONE, code_for(outbox))
    assert row(attempt).checks_used == 0


# --------------------------------------------------------------------------- single use


def test_a_code_is_single_use(outbox):
    request_code(PHONE)
    code = code_for(outbox)
    attempt = confirm_code(PHONE, code)
    assert attempt.status == "verified"
    assert row(attempt).verified_at is not None

    with pytest.raises(NoActiveAttempt):
        confirm_code(PHONE, code)
    with pytest.raises(NoActiveAttempt):
        confirm_code(attempt_id=str(attempt.public_id), code=code)


# --------------------------------------------------------------------------- code format


@pytest.mark.parametrize(
    "garbage",
    [
        "12a4",
        "123",
        "12345",
        "١٢٣٤",
        "۱۲۳۴",
        "１２３４",
        "",
        "    ",
        "12 34",
        "+123",
        "-123",
        "12.3",
        "1,23",
        "0x12",
        "1234\x00",
        "12\u200b34",
        "1" * 10_000,
        1234,
        1234.0,
        None,
        True,
        b"1234",
        ["1234"],
        {"code": "1234"},
    ],
)
def test_malformed_code_is_invalid_and_costs_no_check(outbox, compares, garbage):
    attempt = request_code(PHONE)

    with pytest.raises(InvalidCode) as info:
        confirm_code(PHONE, garbage)

    assert info.value.code == "invalid_code"
    assert info.value.extra["attempts_left"] == 3
    assert row(attempt).checks_used == 0
    assert row(attempt).status == "pending"
    assert compares == []
    # Still all the checks left: the right code works.
    assert confirm_code(PHONE, code_for(outbox)).status == "verified"


def test_many_malformed_codes_never_exhaust_the_attempt(outbox, settings):
    settings.FLASHCALL_PHONE_MAX_FAILURES = 2
    request_code(PHONE)
    for garbage in ["abcd", "123", "12345", "١٢٣٤"] * 5:
        with pytest.raises(InvalidCode):
            confirm_code(PHONE, garbage)
    assert confirm_code(PHONE, code_for(outbox)).status == "verified"


@pytest.mark.parametrize("spaced", [" {} ", "{}  ", "  {}", "{}\n"])
def test_surrounding_spaces_are_stripped(outbox, spaced):
    request_code(PHONE)
    assert confirm_code(PHONE, spaced.format(code_for(outbox))).status == "verified"


# --------------------------------------------------------------------------- wrong codes


@pytest.mark.parametrize("max_checks", [1, 3, 5])
def test_kth_wrong_code_leaves_max_minus_k(outbox, settings, max_checks):
    settings.FLASHCALL_MAX_CHECKS = max_checks
    attempt = request_code(PHONE)
    code = code_for(outbox)

    for k in range(1, max_checks + 1):
        with pytest.raises(InvalidCode) as info:
            confirm_code(PHONE, wrong(code), attempt_id=owners_attempt(PHONE))
        assert info.value.extra["attempts_left"] == max_checks - k
        assert row(attempt).checks_used == k

    assert row(attempt).status == "exhausted"
    for late in [code, wrong(code), "garbage"]:  # dead: the right code included
        with pytest.raises(TooManyAttempts) as info:
            confirm_code(PHONE, late, attempt_id=owners_attempt(PHONE))
        assert info.value.status == 429
    assert row(attempt).checks_used == max_checks
    assert row(attempt).user_id is None


def test_exhausted_attempt_by_attempt_id(outbox):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    for _ in range(3):
        with pytest.raises(InvalidCode):
            confirm_code(attempt_id=str(attempt.public_id), code=wrong(code))
    with pytest.raises(TooManyAttempts):
        confirm_code(attempt_id=str(attempt.public_id), code=code)


# --------------------------------------------------------------------------- superseded codes


def test_a_new_call_expires_the_previous_code(outbox, clock):
    old = request_code(PHONE)
    old_code = code_for(outbox)
    clock.advance(61)
    new = request_code(PHONE)
    new_code = code_for(outbox)

    assert row(old).status == "expired"
    with pytest.raises(CodeExpired):
        confirm_code(attempt_id=str(old.public_id), code=old_code)
    if old_code != new_code:  # 1 in 10,000 the sandbox repeats a code
        with pytest.raises(InvalidCode):
            confirm_code(PHONE, old_code, attempt_id=owners_attempt(PHONE))
    assert confirm_code(PHONE, new_code, attempt_id=owners_attempt(PHONE)).pk == new.pk


def test_the_replaced_code_is_named_as_such(outbox, clock, monkeypatch):
    """After "call me again", the first call's code says a newer call replaced
    it (a slip, not a typo); it still counts as a wrong code for the new call."""
    codes = iter(["1111", "2222"])
    real_send = SandboxProvider.send

    def send(self, phone, *, sms_fallback=False):
        result = real_send(self, phone, sms_fallback=sms_fallback)
        return ProviderResult(code=next(codes), provider_id=result.provider_id, phone=phone)

    monkeypatch.setattr(SandboxProvider, "send", send)
    request_code(PHONE)
    clock.advance(61)
    new = request_code(PHONE)
    held = str(new.public_id)
    with pytest.raises(InvalidCode) as replaced:
        confirm_code(PHONE, "1111", attempt_id=held)
    assert str(replaced.value.detail) == str(InvalidCode.replaced_detail)
    assert replaced.value.as_dict()["attempts_left"] == 2
    with pytest.raises(InvalidCode) as typo:
        confirm_code(PHONE, "3333", attempt_id=held)
    assert str(typo.value.detail) == str(InvalidCode.default_detail)
    assert row(new).checks_used == 2
    assert confirm_code(PHONE, "2222", attempt_id=held).pk == new.pk


# --------------------------------------------------------------------------- rows


def test_every_attempt_leaves_a_row_with_its_reason(scripted, clock):
    request_code(PHONE)
    confirm_code(PHONE, code_for(scripted.outbox))
    with pytest.raises(RateLimited):
        request_code(PHONE)
    scripted.failure = ProviderError("server_error", "the provider answered HTTP 502")
    with pytest.raises(ProviderUnavailable):
        request_code(phone(1))

    rows = list(CallAttempt.objects.order_by("pk").values_list("phone", "status", "reason"))
    assert rows == [
        (PHONE, "verified", ""),
        (PHONE, "refused", "cooldown"),
        (phone(1), "failed", "server_error"),
    ]


def test_provider_failure_keeps_everything(scripted, clock, received, settings):
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT="agent/1")
    first = request_code(PHONE)
    code = code_for(scripted.outbox)
    clock.advance(61)

    scripted.failure = ProviderError("server_error", "the provider answered HTTP 500")
    settings.FLASHCALL_SMS_FALLBACK = True
    with pytest.raises(ProviderUnavailable) as info:
        request_code(PHONE, request=request)
    assert info.value.status == 503
    assert info.value.reason == "server_error"

    failed = CallAttempt.objects.order_by("-pk").first()
    assert failed.status == "failed"
    assert failed.reason == "server_error"
    assert failed.error == "the provider answered HTTP 500"
    assert (failed.phone, failed.ip, failed.user_agent, failed.sms_fallback) == (
        PHONE,
        "203.0.113.5",
        "agent/1",
        True,
    )
    assert failed.code_hash == ""
    # The code already delivered still works: a failed resend supersedes nothing.
    assert row(first).status == "pending"
    assert confirm_code(PHONE, code).pk == first.pk
    failed_signals = [kw for name, kw in received if name == "code_failed"]
    assert failed_signals[0]["attempt"].pk == failed.pk
    assert failed_signals[0]["error"] is info.value


def test_unexpected_provider_exception_is_a_provider_failure(scripted, settings):
    settings.FLASHCALL_BREAKER_THRESHOLD = 1
    scripted.failure = ConnectionResetError("connection reset by peer")
    with pytest.raises(ProviderUnavailable):
        request_code(PHONE)
    failed = CallAttempt.objects.get()
    assert (failed.status, failed.phone) == ("failed", PHONE)
    with pytest.raises(ProviderUnavailable) as info:  # and the breaker counted it
        request_code(phone(1))
    assert info.value.reason == "breaker_open"


def test_provider_rejecting_the_phone_is_invalid_phone_and_trips_no_breaker(scripted, settings):
    settings.FLASHCALL_BREAKER_THRESHOLD = 2
    scripted.failure = InvalidPhoneForProvider("provider 400: does not match the format")
    for i in range(4):
        with pytest.raises(InvalidPhone):
            request_code(phone(i))
    assert len(scripted.calls) == 4  # the breaker never opened
    assert set(CallAttempt.objects.values_list("status", "reason")) == {("failed", "rejected")}


def test_fake_telefonip_server_error_is_provider_unavailable(fake_telefonip, clock):
    fake_telefonip.set_fault("server_error")
    with pytest.raises(ProviderUnavailable):
        request_code(PHONE)
    failed = CallAttempt.objects.get()
    assert (failed.status, failed.reason) == ("failed", "server_error")
    assert fake_telefonip.token not in failed.error

    clock.advance(61)
    fake_telefonip.set_fault(None)
    attempt = request_code(PHONE)
    assert confirm_code(PHONE, fake_telefonip.last_code(PHONE)).pk == attempt.pk


# --------------------------------------------------------------------------- logging


def test_unauthorized_is_logged_at_error(failing, caplog):
    failing.reason = "unauthorized"  # use_failing resets it for the next test
    with caplog.at_level(logging.DEBUG, logger="django_flashcall"):
        with pytest.raises(ProviderUnavailable) as info:
            request_code(PHONE)
    assert info.value.status == 503
    errors = [
        r for r in caplog.records if r.name == "django_flashcall" and r.levelno == logging.ERROR
    ]
    assert len(errors) == 1
    assert CallAttempt.objects.get().reason == "unauthorized"


def test_server_error_is_not_logged_at_error(failing, caplog):
    with caplog.at_level(logging.DEBUG, logger="django_flashcall"):
        with pytest.raises(ProviderUnavailable):
            request_code(PHONE)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_real_401_from_fake_telefonip_is_logged_at_error_without_token(
    fake_telefonip, settings, caplog
):
    settings.FLASHCALL_API_TOKEN = "wrong-token-0123456789"
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ProviderUnavailable) as info:
            request_code(PHONE)
    errors = [
        r for r in caplog.records if r.name == "django_flashcall" and r.levelno == logging.ERROR
    ]
    assert len(errors) == 1
    assert "wrong-token-0123456789" not in caplog.text
    assert "wrong-token-0123456789" not in str(info.value)
    assert "wrong-token-0123456789" not in CallAttempt.objects.get().error


def test_the_code_is_never_logged_at_info_or_above(settings, caplog, clock):
    settings.FLASHCALL_PROVIDER = "tests.helpers.FixedCodeProvider"
    code = FixedCodeProvider.CODE
    with caplog.at_level(logging.DEBUG):
        held = str(request_code(PHONE).public_id)
        with pytest.raises(InvalidCode):
            confirm_code(PHONE, wrong(code), attempt_id=held)
        with pytest.raises(RateLimited):
            request_code(PHONE)
        confirm_code(PHONE, code, attempt_id=held)
        with pytest.raises(NoActiveAttempt):
            confirm_code(PHONE, code)
    for record in caplog.records:
        if record.levelno >= logging.INFO:
            assert code not in scrub(record.getMessage()), record.getMessage()


# --------------------------------------------------------------------------- signals


def test_signals_carry_the_attempt(outbox, received):
    request = RequestFactory().post("/")
    attempt = request_code(PHONE, request=request)
    code = code_for(outbox)
    with pytest.raises(InvalidCode) as wrong_info:
        confirm_code(PHONE, wrong(code), request=request, attempt_id=owners_attempt(PHONE))
    verified = confirm_code(PHONE, code, request=request, attempt_id=owners_attempt(PHONE))
    with pytest.raises(RateLimited) as limited:
        request_code(PHONE)

    names = [name for name, _ in received]
    assert names == ["code_requested", "code_failed", "code_verified", "code_failed"]
    requested, failed, ok, refused = (kw for _, kw in received)
    assert requested["attempt"].pk == attempt.pk
    assert requested["attempt"].status == "pending"
    assert requested["request"] is request
    assert failed["attempt"].pk == attempt.pk
    assert failed["error"] is wrong_info.value
    assert ok["attempt"].pk == verified.pk
    assert ok["attempt"].status == "verified"
    assert ok["user"] == verified.user and ok["user"] is not None
    assert refused["attempt"].status == "refused"
    assert refused["error"] is limited.value


def test_breaker_refusal_sends_code_failed(failing, settings, received):
    settings.FLASHCALL_BREAKER_THRESHOLD = 1
    with pytest.raises(ProviderUnavailable):
        request_code(phone(1))
    with pytest.raises(ProviderUnavailable):
        request_code(phone(2))
    reasons = [kw["attempt"].reason for name, kw in received if name == "code_failed"]
    assert reasons == ["server_error", "breaker_open"]


# --------------------------------------------------------------------------- attempt id


def test_confirm_by_attempt_id(outbox):
    attempt = request_code(PHONE)
    done = confirm_code(attempt_id=str(attempt.public_id), code=code_for(outbox))
    assert done.pk == attempt.pk and done.status == "verified"


def test_confirm_by_attempt_id_as_uuid_and_with_matching_phone(outbox):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    with pytest.raises(InvalidCode):
        confirm_code("8 924 450-10-03", wrong(code), attempt_id=attempt.public_id)
    done = confirm_code("8 924 450-10-03", code, attempt_id=attempt.public_id)
    assert done.pk == attempt.pk


@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "", "1234", "../../", "0" * 33, 42, ["x"], {"id": 1}, 1.5, b"x"]
)
def test_malformed_attempt_id_is_invalid_request(outbox, bad_id):
    attempt = request_code(PHONE)
    with pytest.raises(InvalidRequest) as info:
        confirm_code(attempt_id=bad_id, code=code_for(outbox))
    assert info.value.code == "invalid_request"
    assert row(attempt).checks_used == 0 and row(attempt).status == "pending"


def test_attempt_id_with_another_phone_is_no_active_attempt(outbox):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    with pytest.raises(NoActiveAttempt):
        confirm_code(phone(1), code, attempt_id=str(attempt.public_id))
    assert row(attempt).checks_used == 0
    assert confirm_code(PHONE, code, attempt_id=str(attempt.public_id)).pk == attempt.pk


def test_unknown_attempt_id_or_phone_is_no_active_attempt(outbox):
    request_code(PHONE)
    with pytest.raises(NoActiveAttempt):
        confirm_code(attempt_id=str(uuid.uuid4()), code="1234")
    with pytest.raises(NoActiveAttempt):
        confirm_code(phone(1), "1234")


def test_refused_and_failed_rows_are_not_confirmable(scripted, clock):
    scripted.failure = ProviderError("server_error")
    with pytest.raises(ProviderUnavailable):
        request_code(PHONE)
    failed = CallAttempt.objects.get()
    with pytest.raises(NoActiveAttempt):
        confirm_code(attempt_id=str(failed.public_id), code="1234")
    with pytest.raises(NoActiveAttempt):
        confirm_code(PHONE, "1234")


def test_confirm_needs_a_phone_or_an_attempt_id():
    with pytest.raises(InvalidRequest):
        confirm_code(None, "1234")
    with pytest.raises(InvalidPhone):
        confirm_code("not a phone", "1234")
    with pytest.raises(InvalidPhone):
        confirm_code(79244501003, "1234")


# --------------------------------------------------------------------------- queries


def _wrong(number: str, code: str, held: str) -> None:
    with pytest.raises(InvalidCode):
        confirm_code(number, code, attempt_id=held)


def test_query_counts(outbox, clock, django_assert_max_num_queries):
    owner = User.objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=PHONE)
    with django_assert_max_num_queries(3):  # the phone's state, insert, update
        request_code(PHONE)
    clock.advance(61)
    with django_assert_max_num_queries(4):  # + expire the pending attempt
        request_code(PHONE)
    held = owners_attempt(PHONE)
    with django_assert_max_num_queries(
        6
    ):  # lock + read, phone state, owner, update (+ 2: transaction)
        confirm_code(PHONE, code_for(outbox), attempt_id=held)

    held = str(request_code(phone(1)).public_id)
    with django_assert_max_num_queries(10):  # + the user and its PhoneNumber, in a savepoint
        confirm_code(phone(1), code_for(outbox, phone(1)), attempt_id=held)
    held = str(request_code(phone(2)).public_id)
    code = code_for(outbox, phone(2))
    with django_assert_max_num_queries(5):  # lock + read, phone state, count the check (+ 2)
        _wrong(phone(2), wrong(code), held)
    request_code(phone(3))
    # By phone alone: its bound (SPEC §10) is a condition of the one update.
    with django_assert_max_num_queries(10):  # as by the attempt: lock ... update, new user
        confirm_code(phone(3), code_for(outbox, phone(3)))
    with django_assert_max_num_queries(5):  # lock + read, phone state, take the check (+ 2)
        with pytest.raises(InvalidCode):
            confirm_code(phone(2), wrong(code))


# --------------------------------------------------------------------------- a dead cache


DEAD_REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "dead": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    },
}


def test_request_fails_closed_with_a_row_when_the_cache_is_down(outbox, settings):
    settings.CACHES = DEAD_REDIS
    settings.FLASHCALL_CACHE_ALIAS = "dead"
    with pytest.raises(ProviderUnavailable) as info:
        request_code(PHONE)
    assert info.value.extra["retry_after"] >= 1
    assert outbox == []  # no paid call without working limits
    row = CallAttempt.objects.get()
    assert (row.status, row.reason) == ("refused", "cache_unavailable")


def test_a_placed_call_survives_the_cache_dying_after_it(scripted, monkeypatch):
    # One failure on record, so the next success has bookkeeping to do...
    scripted.failure = ProviderError("server_error")
    with pytest.raises(ProviderUnavailable):
        request_code(phone(1))
    scripted.failure = None

    def dead(
        name: str | None = None,
    ) -> None:  # ...and the cache dies right after the call is placed
        raise CacheUnavailable("cache delete_many() failed (ConnectionError)")

    monkeypatch.setattr("django_flashcall.internal.breaker.record_success", dead)
    attempt = request_code(PHONE)
    assert CallAttempt.objects.get(pk=attempt.pk).status == "pending"
    assert scripted.calls[-1] == PHONE


def test_a_failing_signal_receiver_does_not_undo_a_verified_login(outbox, caplog):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    signals.code_verified.connect(broken)
    try:
        request_code(PHONE)
        attempt = confirm_code(PHONE, code_for(outbox))
    finally:
        signals.code_verified.disconnect(broken)
    assert attempt.status == "verified"
    assert any("receiver" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


# --------------------------------------------------------------------------- transactions


def test_request_code_refuses_to_run_inside_the_callers_transaction(settings):
    # The test's own atomic blocks do not count; the caller's one does: the
    # attempt row must be committed before the paid call (limits.check_autocommit).
    scripted = use_scripted(settings)
    with pytest.raises(TransactionManagementError, match="non_atomic_requests"):
        with transaction.atomic():
            request_code(PHONE)
    assert scripted.calls == [] and not CallAttempt.objects.exists()
    request_code(PHONE)  # outside it, fine
    assert scripted.calls == [PHONE]


@pytest.mark.django_db(transaction=True)
def test_request_code_with_autocommit_off_is_refused(settings):
    scripted = use_scripted(settings)
    transaction.set_autocommit(False)
    try:
        with pytest.raises(TransactionManagementError):
            request_code(PHONE)
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert scripted.calls == [] and not CallAttempt.objects.exists()


@pytest.mark.parametrize(
    ("path", "data", "kwargs", "status"),
    [
        ("/api/flashcall/request/", {"phone": PHONE}, {"content_type": "application/json"}, 201),
        ("/accounts/phone/", {"phone": PHONE}, {}, 302),
    ],
)
def test_views_work_with_atomic_requests(client, settings, path, data, kwargs, status):
    scripted = use_scripted(settings)
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        response = client.post(path, data, **kwargs)
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = False
    assert response.status_code == status, response.content[:300]
    assert scripted.calls == [PHONE]


def test_zero_phone_max_failures_never_crashes_a_confirm(outbox, settings):
    # Check E007 refuses the value at start; a site that silenced it still gets
    # the SPEC answers, never a TypeError from a phone with no wrong code yet.
    settings.FLASHCALL_PHONE_MAX_FAILURES = 0
    request_code(PHONE)
    (call,) = outbox
    assert confirm_code(PHONE, call.code, attempt_id=owners_attempt(PHONE)).status == "verified"
