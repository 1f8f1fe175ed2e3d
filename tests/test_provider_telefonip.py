"""The real telefon-ip client against the fake server, over real HTTP."""

import logging
import traceback
from decimal import Decimal

import pytest

from django_flashcall.providers import answers, transport
from django_flashcall.providers.base import (
    Balance,
    InvalidPhoneForProvider,
    ProviderError,
    ProviderResult,
)
from django_flashcall.providers.telefonip import TelefonIPProvider
from django_flashcall.testing import FAULTS, refused_url

PHONE = "79244501003"
SENTINEL = "SENTINEL-TOKEN-9f1c"


@pytest.fixture
def provider():
    return TelefonIPProvider()


@pytest.fixture
def fresh_session(monkeypatch):
    """A new shared connection pool, so no pooled connection predates the test."""
    monkeypatch.setattr(transport, "_pool", None)


# --------------------------------------------------------------------------- send


def test_send_returns_the_code_the_fake_issued(fake_telefonip, provider):
    result = provider.send(PHONE)

    call = fake_telefonip.last_call(PHONE)
    assert result == ProviderResult(code=call.code, provider_id=str(call.id), phone=PHONE)
    (request,) = fake_telefonip.requests
    assert request.phone == "89244501003"
    assert request.token == fake_telefonip.token
    assert request.query == {}
    assert call.sms is False


def test_sms_true_only_with_sms_fallback(fake_telefonip, provider):
    provider.send(PHONE, sms_fallback=True)
    provider.send("79244501004", sms_fallback=False)
    with_sms, without = fake_telefonip.requests
    assert with_sms.query == {"sms": "true"}
    assert without.query == {}
    assert [c.sms for c in fake_telefonip.calls] == [True, False]


def test_wrong_token_is_unauthorized(fake_telefonip, provider, settings):
    settings.FLASHCALL_API_TOKEN = "not-the-token"
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert info.value.reason == "unauthorized"
    assert fake_telefonip.calls == []


def test_no_token_makes_no_request(fake_telefonip, provider, settings):
    settings.FLASHCALL_API_TOKEN = ""
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert info.value.reason == "unauthorized"
    assert fake_telefonip.requests == []


def test_format_error_is_invalid_phone(fake_telefonip, provider):
    fake_telefonip.set_fault("format_error")
    with pytest.raises(InvalidPhoneForProvider) as info:
        provider.send(PHONE)
    assert info.value.reason == "rejected"
    assert info.value.trips_breaker is False


def test_daily_cap_is_rejected(fake_telefonip, provider):
    fake_telefonip.daily_limit = 1
    provider.send(PHONE)
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert info.value.reason == "rejected"
    assert "limit" in info.value.message


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("server_error", "server_error"),
        ("malformed", "bad_response"),
        ("huge", "bad_response"),
        ("bad_code", "bad_response"),
        ("missing_code", "bad_response"),
        ("success_false", "rejected"),
    ],
)
def test_fault_is_a_provider_error(fake_telefonip, provider, fault, reason):
    fake_telefonip.set_fault(fault)
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert info.value.reason == reason
    assert len(fake_telefonip.requests) == 1


def slow_send(fake, provider, settings):
    # The fake answers after 30 s (reset() cuts that short at teardown): a
    # client without the 0.5 s read timeout would get the code, not an error.
    settings.FLASHCALL_TIMEOUT = (1, 0.5)
    fake.slow_seconds = 30
    fake.set_fault("slow")
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    return info.value


def test_read_timeout_is_never_retried(fake_telefonip, provider, settings):
    slow_send(fake_telefonip, provider, settings)
    assert len(fake_telefonip.requests) == 1


def test_read_timeout_is_reported_as_timeout(fake_telefonip, provider, settings):
    assert slow_send(fake_telefonip, provider, settings).reason == "timeout"


def test_dropped_connection_is_never_retried(fake_telefonip, provider):
    fake_telefonip.set_fault("drop")
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert info.value.reason == "timeout"  # sent: the call may have been placed
    # The fake records a request before it answers or drops it, and a retry
    # would happen inside send(): by now any retry is on record.
    assert len(fake_telefonip.requests) == 1


def test_redirect_is_not_followed(fake_telefonip, provider):
    fake_telefonip.set_fault("redirect")
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert info.value.reason == "bad_response"
    assert [r.path.startswith("/moved/") for r in fake_telefonip.requests] == [False]
    assert fake_telefonip.calls == []


def test_refused_connection(fake_telefonip, provider, settings):
    settings.FLASHCALL_API_URL = refused_url()
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert info.value.reason == "connection"


def test_connections_are_reused(fake_telefonip, provider, fresh_session):
    fake_telefonip.daily_limit = 5
    for _ in range(5):
        provider.send(PHONE)
    assert len(fake_telefonip.calls) == 5
    assert fake_telefonip.connections == 1


# --------------------------------------------------------------------------- auxiliary


def test_get_status_delivered(fake_telefonip, provider):
    result = provider.send(PHONE)
    status = provider.get_status(result.provider_id)
    assert status.provider_id == result.provider_id
    assert status.delivered is True
    assert status.info == "Ok: SIP 200 OK"
    assert status.price == Decimal("0.2")


@pytest.mark.parametrize("as_bool", [False, True])
def test_get_status_parses_tolerantly(fake_telefonip, provider, as_bool):
    fake_telefonip.status_as_bool = as_bool
    fake_telefonip.price_as_string = True
    delivered = provider.send(PHONE).provider_id
    missed = provider.send("79244501004").provider_id
    fake_telefonip.set_status(int(missed), delivered=False)

    assert provider.get_status(delivered).delivered is True
    status = provider.get_status(missed)
    assert status.delivered is False
    assert status.price == Decimal("0.2")


def test_get_status_unknown_id(fake_telefonip, provider):
    with pytest.raises(ProviderError):
        provider.get_status("999")


def test_get_balance(fake_telefonip, provider):
    assert provider.get_balance() == Balance(Decimal("5.0"), Decimal("0.2"), Decimal("0.0"))
    provider.send(PHONE)
    fake_telefonip.price_as_string = True
    assert provider.get_balance().balance == Decimal("4.8")


# --------------------------------------------------------------------------- the token


def exception_texts(exc):
    """str, repr and formatted traceback of ``exc`` and of every exception it chains."""
    texts = ["".join(traceback.format_exception(exc))]
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts += [str(exc), repr(exc), repr(exc.args)]
        exc = exc.__cause__ or exc.__context__
    return texts


def every_failure(fake, provider, settings):
    """Make every failure path of the client but a refused connection happen.

    Returns the exceptions raised.
    """
    errors = []

    def attempt(action, *args, **kwargs):
        try:
            action(*args, **kwargs)
        except Exception as exc:
            errors.append(exc)

    fake.daily_limit = 100
    attempt(provider.send, PHONE, sms_fallback=True)  # success, for urllib3's request lines
    attempt(provider.get_balance)
    attempt(provider.get_status, "1")
    attempt(provider.get_status, "999")
    for fault in sorted(FAULTS - {"slow"}):
        fake.set_fault(fault, count=1)
        attempt(provider.send, PHONE)
    settings.FLASHCALL_TIMEOUT = (1, 0.2)
    fake.slow_seconds = 1
    fake.set_fault("slow", count=1)
    attempt(provider.send, PHONE)
    fake.daily_limit = 0
    attempt(provider.send, PHONE)
    fake.token = "another-token"
    attempt(provider.send, PHONE)  # 401
    attempt(provider.get_balance)
    return errors


@pytest.fixture
def sentinel_token(fake_telefonip, settings, caplog):
    """The sentinel as the token on both sides, and DEBUG logging everywhere."""
    settings.FLASHCALL_API_TOKEN = SENTINEL
    fake_telefonip.token = SENTINEL
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "django_flashcall"):
        caplog.set_level(logging.DEBUG, logger=name)
    return SENTINEL


def assert_no_leak(records, errors):
    formatter = logging.Formatter()
    leaks = [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if SENTINEL in r.getMessage() or SENTINEL in formatter.format(r)
    ]
    assert leaks == []
    for exc in errors:
        assert isinstance(exc, ProviderError)
        for text in exception_texts(exc):
            assert SENTINEL not in text, text


def test_the_token_never_reaches_logs_or_exceptions(
    fake_telefonip, provider, settings, caplog, sentinel_token
):
    errors = every_failure(fake_telefonip, provider, settings)

    assert len(errors) == 14
    assert SENTINEL in "".join(r.path for r in fake_telefonip.requests)  # it was sent
    # DEBUG logging was on, and urllib3 logged request lines with the URL path.
    assert sum(" /api/v1/authcalls/" in r.getMessage() for r in caplog.records) >= 10
    assert_no_leak(caplog.records, errors)
    assert SENTINEL not in repr(provider)


def test_the_token_never_reaches_logs_on_a_refused_connection(
    fake_telefonip, provider, settings, caplog, sentinel_token
):
    settings.FLASHCALL_API_URL = refused_url()
    errors = []
    for action, args in ((provider.send, (PHONE,)), (provider.get_status, ("1",))):
        with pytest.raises(ProviderError) as info:
            action(*args)
        errors.append(info.value)

    assert any("Retrying" in r.getMessage() for r in caplog.records)  # urllib3 retried
    assert_no_leak(caplog.records, errors)


# --------------------------------------------------------------------------- review fixes


def test_a_phone_capped_by_the_provider_does_not_trip_the_breaker(
    fake_telefonip, provider, settings
):
    fake_telefonip.daily_limit = 0  # every get_code: "limit of calls per day exceeded"
    with pytest.raises(ProviderError) as info:
        provider.send("79244501003")
    assert info.value.reason == "rejected"
    assert info.value.trips_breaker is False


def test_an_account_wide_refusal_trips_the_breaker(fake_telefonip, provider):
    fake_telefonip.set_fault("success_false")  # "service temporarily unavailable"
    with pytest.raises(ProviderError) as info:
        provider.send("79244501003")
    assert (info.value.reason, info.value.trips_breaker) == ("rejected", True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"success": 1, "data": {"code": "1003", "id": 7}}, None),
        ({"success": "true", "data": {"code": "1003", "id": 7}}, None),
        # A code without a clear success: the call was probably placed and billed,
        # so it is not a refusal ("rejected" would not count against the limits).
        ({"data": {"code": "1003", "id": 7}}, "bad_response"),
        ({"success": "maybe", "data": {"code": "1003"}}, "bad_response"),
        ({"success": 0, "error": "x", "data": {}}, "rejected"),
    ],
)
def test_success_flag_is_read_tolerantly(provider, canned, body, reason):
    canned.answer(json=body)
    if reason is None:
        assert provider.send("79244501003").code == "1003"
    else:
        with pytest.raises(ProviderError) as info:
            provider.send("79244501003")
        assert info.value.reason == reason


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "1e30", 1e30, "sNaN"])
def test_insane_prices_are_unknown(value):
    assert answers.amount(value) is None


@pytest.mark.parametrize("value", ["0.2", 0.2, "1,5", 3])
def test_sane_prices_are_read(value):
    assert answers.amount(value) == Decimal(str(value).replace(",", "."))


def test_a_percent_encoded_token_is_redacted_too(settings, caplog):
    from urllib.parse import quote

    token = "s3cr3t+tok/en=="
    settings.FLASHCALL_API_TOKEN = token
    caplog.set_level(logging.DEBUG)
    path = f"/api/v1/authcalls/{quote(token, safe='')}/get_code/89244501003/"
    logging.getLogger("urllib3.connectionpool").debug('"GET %s HTTP/1.1" 200 10', path)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "<token>" in text
    assert token not in text and quote(token, safe="") not in text


# --------------------------------------------------------------------------- undocumented answers
# The provider page documents get_code's 200 and 400 only; these are the
# plausible shapes it leaves open, each given the safest reading.


def answer(canned, action: str, status: int = 200, **kwargs) -> None:
    """``action`` names what the test is about; every request gets the answer."""
    canned.answer(status, **kwargs)


@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (400, {"body": "id record not found"}),  # plain text
        (400, {"json": "id record not found"}),  # a bare JSON string
        (400, {"json": {"success": False, "error": "id record not found", "data": {}}}),
        (404, {"body": ""}),
    ],
)
def test_an_unknown_status_id_is_rejected_whatever_the_body(provider, canned, status, kwargs):
    # "rejected" is per attempt: flashcall_sync_status goes on with the others.
    answer(canned, "get_status", status, **kwargs)
    with pytest.raises(ProviderError) as info:
        provider.get_status("999")
    assert info.value.reason == "rejected"


@pytest.mark.parametrize(
    ("error", "reason", "trips"),
    [
        ("limit of calls per day exceeded", "rejected", False),
        ("Превышено количество отправок на телефон", "rejected", False),
        ("Лимит звонков в сутки исчерпан", "rejected", False),
        # The account's money: everybody's problem, and the next provider's turn.
        ("balance limit reached", "no_funds", True),
        ("Недостаточно средств на балансе", "no_funds", True),
        ("service temporarily unavailable", "rejected", True),
    ],
)
def test_which_refusals_trip_the_breaker(provider, canned, error, reason, trips):
    answer(canned, "get_code", json={"success": False, "error": error, "data": {}})
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert (info.value.reason, info.value.trips_breaker) == (reason, trips)
    # No code came back: surely no call, so failover may ask the next provider.
    assert info.value.no_call is True


def test_a_400_that_is_not_about_the_format_is_not_invalid_phone(provider, canned):
    # Only the documented "does not match the format ... or phone field is
    # missing" 400 tells the user their phone is invalid.
    answer(canned, "get_code", 400, json={"success": False, "error": "daily limit for this phone"})
    with pytest.raises(ProviderError) as info:
        provider.send(PHONE)
    assert not isinstance(info.value, InvalidPhoneForProvider)
    assert (info.value.reason, info.value.trips_breaker) == ("rejected", False)


@pytest.mark.parametrize(("value", "delivered"), [(2, None), (-1, None), (1, True), (0, False)])
def test_only_documented_statuses_are_read_as_delivery(provider, canned, value, delivered):
    # An undocumented status ("in progress"?) stays unknown, so it is polled again.
    body = {"success": True, "data": {"id": 7, "status": value, "status_info": "", "price": "0.2"}}
    answer(canned, "get_status", json=body)
    assert provider.get_status("7").delivered is delivered


@pytest.mark.parametrize(
    ("action", "error", "reason"),
    [
        ("get_status", "Unauthorized token", "unauthorized"),
        ("get_balance", "Unauthorized token", "unauthorized"),
        ("get_balance", "", "rejected"),
    ],
)
def test_success_false_on_a_200_is_a_refusal(provider, canned, action, error, reason):
    answer(canned, action, json={"success": False, "error": error, "data": {}})
    with pytest.raises(ProviderError) as info:
        provider.get_status("7") if action == "get_status" else provider.get_balance()
    assert info.value.reason == reason


def test_a_float_call_id_is_kept_as_an_integer(provider, canned):
    answer(canned, "get_code", json={"success": True, "data": {"code": "1003", "id": 168.0}})
    assert provider.send(PHONE).provider_id == "168"
