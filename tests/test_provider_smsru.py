"""The real sms.ru client against the fake sms.ru server, over real HTTP."""

from decimal import Decimal

import pytest

from django_flashcall.providers import InvalidPhoneForProvider, ProviderError, SMSRuProvider
from django_flashcall.providers.base import ProviderResult

PHONE = "79244501003"


@pytest.fixture
def provider(fake_smsru):
    return SMSRuProvider(api_id=fake_smsru.api_id, url=fake_smsru.url)


def failure(provider, phone=PHONE, **kwargs):
    with pytest.raises(ProviderError) as info:
        provider.send(phone, **kwargs)
    return info.value


# --------------------------------------------------------------------------- send


def test_send_returns_the_code_the_fake_issued_with_its_price(fake_smsru, provider):
    result = provider.send(PHONE, client_ip="203.0.113.7")

    call = fake_smsru.last_call(PHONE)
    assert result == ProviderResult(
        code=call.code, provider_id=call.id, phone=PHONE, price=Decimal("0.4")
    )
    assert call.code == call.caller[-4:]
    (request,) = fake_smsru.requests
    assert (request.method, request.path) == ("POST", "/code/call")
    assert request.params == {"phone": PHONE, "ip": "203.0.113.7", "api_id": fake_smsru.api_id}
    assert fake_smsru.balance == Decimal("99.6")


def test_the_api_id_travels_in_the_body_not_the_url(fake_smsru, provider):
    provider.send(PHONE)
    provider.get_balance()
    for request in fake_smsru.requests:
        assert request.method == "POST"
        assert fake_smsru.api_id not in request.path


def test_an_unknown_client_ip_is_sent_as_minus_one(fake_smsru, provider):
    provider.send(PHONE)
    assert fake_smsru.calls[0].client_ip == "-1"


# --------------------------------------------------------------------------- documented errors


def test_wrong_api_id_is_unauthorized_and_places_no_call(fake_smsru, provider):
    fake_smsru.api_id = "another-key"
    error = failure(provider)
    assert (error.reason, error.no_call, error.trips_breaker) == ("unauthorized", True, True)
    assert "200" in error.message
    assert fake_smsru.calls == []


def test_no_api_id_sends_nothing(fake_smsru):
    error = failure(SMSRuProvider(url=fake_smsru.url))
    assert error.reason == "unauthorized"
    assert fake_smsru.requests == []


def test_no_funds(fake_smsru, provider):
    fake_smsru.balance = Decimal("0.1")
    error = failure(provider)
    assert (error.reason, error.no_call, error.trips_breaker) == ("no_funds", True, True)
    assert fake_smsru.calls == []


def test_a_number_sms_ru_cannot_call_is_an_invalid_phone(fake_smsru, provider):
    error = failure(provider, "7924450100")  # ten digits: 202
    assert isinstance(error, InvalidPhoneForProvider)
    assert (error.no_call, error.trips_breaker) == (True, False)


def test_service_unavailable_trips_the_breaker_but_placed_no_call(fake_smsru, provider):
    fake_smsru.service_unavailable = True
    error = failure(provider)
    assert (error.reason, error.no_call, error.trips_breaker) == ("rejected", True, True)
    assert "220" in error.message


@pytest.mark.parametrize("status_code", [230, 231, 233])
def test_per_number_caps_concern_one_phone(fake_smsru, provider, status_code):
    if status_code == 230:
        fake_smsru.daily_limit = 0
    elif status_code == 231:
        provider.send(PHONE)  # minute_limit = 1
    else:
        fake_smsru.fraud_phones.add(PHONE)
    error = failure(provider)
    assert (error.reason, error.no_call, error.trips_breaker) == ("rejected", True, False)
    assert str(status_code) in error.message


# --------------------------------------------------------------------------- faults


def test_refused_connection_surely_placed_no_call(fake_smsru, provider):
    fake_smsru.set_fault("refuse")
    error = failure(provider)
    assert (error.reason, error.no_call) == ("connection", True)
    assert fake_smsru.requests == []


def test_a_read_timeout_is_never_retried(fake_smsru, provider, settings):
    settings.FLASHCALL_TIMEOUT = (1, 0.3)
    fake_smsru.slow_seconds = 0.6
    fake_smsru.set_fault("timeout", count=1)
    error = failure(provider)
    assert (error.reason, error.no_call) == ("timeout", False)
    # One request reached the fake, which placed the call after its pause.
    assert len(fake_smsru.requests_for("call")) == 1


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("server_error", "server_error"), ("malformed", "bad_response"), ("drop", "timeout")],
)
def test_ambiguous_faults(fake_smsru, provider, fault, reason):
    fake_smsru.set_fault(fault)
    error = failure(provider)
    assert (error.reason, error.no_call, error.trips_breaker) == (reason, False, True)
    assert len(fake_smsru.requests) == 1


# --------------------------------------------------------------------------- balance, status


def test_balance(fake_smsru, provider):
    provider.send(PHONE)
    balance = provider.get_balance()
    assert balance.balance == Decimal("99.6")
    assert fake_smsru.requests[-1].params["json"] == "1"


def test_balance_with_a_wrong_api_id(fake_smsru, provider):
    fake_smsru.api_id = "another-key"
    with pytest.raises(ProviderError) as info:
        provider.get_balance()
    assert info.value.reason == "unauthorized"


def test_sms_ru_has_no_delivery_status(provider):
    with pytest.raises(NotImplementedError):
        provider.get_status("000001-10000001")


def test_repr_has_no_secret(provider, fake_smsru):
    assert fake_smsru.api_id not in repr(provider)
    assert fake_smsru.api_id not in repr(fake_smsru)
