"""The real uCaller client against the fake uCaller server, over real HTTP."""

import uuid
from decimal import Decimal

import pytest

from django_flashcall.providers import InvalidPhoneForProvider, ProviderError, UCallerProvider

PHONE = "79244501003"


@pytest.fixture
def provider(fake_ucaller):
    return UCallerProvider(
        service_id=fake_ucaller.service_id, secret_key=fake_ucaller.secret_key, url=fake_ucaller.url
    )


def failure(provider, phone=PHONE, **kwargs):
    with pytest.raises(ProviderError) as info:
        provider.send(phone, **kwargs)
    return info.value


# --------------------------------------------------------------------------- send


def test_the_site_chooses_the_code_and_the_attempt_is_the_unique_key(fake_ucaller, provider):
    attempt_id = str(uuid.uuid4())
    result = provider.send(PHONE, attempt_id=attempt_id)

    call = fake_ucaller.last_call(PHONE)
    (request,) = fake_ucaller.requests
    assert (request.method, request.path) == ("POST", "/v1.0/initCall")
    assert request.json == {"phone": int(PHONE), "code": result.code, "unique": attempt_id}
    assert call.code == result.code == call.caller[-4:]
    assert result.provider_id == call.id
    assert call.unique == attempt_id
    auth = request.headers["authorization"]
    assert auth == f"Bearer {fake_ucaller.secret_key}.{fake_ucaller.service_id}"
    assert fake_ucaller.secret_key not in request.path
    assert request.params == {}


def test_codes_vary(fake_ucaller, provider):
    codes = {provider.send(f"7924450100{i}").code for i in range(8)}
    assert len(codes) > 1
    assert all(len(c) == 4 and c.isdigit() and c != "0000" for c in codes)


def test_the_same_unique_key_never_places_a_second_call(fake_ucaller, provider):
    attempt_id = str(uuid.uuid4())
    first = provider.send(PHONE, attempt_id=attempt_id)
    again = provider.send(PHONE, attempt_id=attempt_id)  # a code we did not choose this time

    assert len(fake_ucaller.calls) == 1
    assert again.code == first.code  # the first call's code stands
    assert again.provider_id == first.provider_id


def test_documented_test_numbers(fake_ucaller, provider):
    assert provider.send("79000000001").code == fake_ucaller.last_code("79000000001")
    error = failure(provider, "79000000002")
    # An authorisation exists (it may be billed): not a refusal before dialling.
    assert (error.reason, error.no_call, error.trips_breaker) == ("rejected", False, False)
    assert fake_ucaller.balance == Decimal("100.0")  # test numbers are free


# --------------------------------------------------------------------------- documented errors


def test_wrong_secret_is_unauthorized(fake_ucaller, provider):
    fake_ucaller.secret_key = "x" * 32
    error = failure(provider)
    assert (error.reason, error.no_call, error.trips_breaker) == ("unauthorized", True, True)
    assert fake_ucaller.calls == []


def test_missing_credentials_send_nothing(fake_ucaller):
    error = failure(UCallerProvider(url=fake_ucaller.url, service_id="1"))
    assert error.reason == "unauthorized"
    assert fake_ucaller.requests == []


def test_no_funds(fake_ucaller, provider):
    fake_ucaller.balance = Decimal("0.1")
    error = failure(provider)
    assert (error.reason, error.no_call, error.trips_breaker) == ("no_funds", True, True)


def test_disabled_service_is_a_configuration_error(fake_ucaller, provider):
    fake_ucaller.service_disabled = True
    assert failure(provider).reason == "unauthorized"


def test_bad_phone(fake_ucaller, provider):
    error = failure(provider, "7924450100")
    assert isinstance(error, InvalidPhoneForProvider)
    assert error.no_call is True


@pytest.mark.parametrize("cap", ["repeat", "minute", "day"])
def test_per_number_caps_concern_one_phone(fake_ucaller, provider, cap):
    if cap == "repeat":
        provider.send(PHONE)  # then "wait 15 seconds": code 19
    elif cap == "minute":
        fake_ucaller.minute_limit = 0
    else:
        fake_ucaller.daily_limit = 0
    error = failure(provider)
    assert (error.reason, error.no_call, error.trips_breaker) == ("rejected", True, False)
    assert ("19" if cap == "repeat" else "18") in error.message


# --------------------------------------------------------------------------- faults


def test_refused_connection(fake_ucaller, provider):
    fake_ucaller.set_fault("refuse")
    error = failure(provider)
    assert (error.reason, error.no_call) == ("connection", True)


def test_a_read_timeout_is_never_retried(fake_ucaller, provider, settings):
    settings.FLASHCALL_TIMEOUT = (1, 0.3)
    fake_ucaller.slow_seconds = 0.6
    fake_ucaller.set_fault("timeout", count=1)
    error = failure(provider)
    assert (error.reason, error.no_call) == ("timeout", False)
    assert len(fake_ucaller.requests_for("initCall")) == 1


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("server_error", "server_error"), ("malformed", "bad_response"), ("drop", "timeout")],
)
def test_ambiguous_faults(fake_ucaller, provider, fault, reason):
    fake_ucaller.set_fault(fault)
    error = failure(provider)
    assert (error.reason, error.no_call) == (reason, False)


# --------------------------------------------------------------------------- status, balance


@pytest.mark.parametrize(("delivered", "expected"), [(True, True), (False, False), (None, None)])
def test_delivery_status_and_price(fake_ucaller, provider, delivered, expected):
    result = provider.send(PHONE)
    fake_ucaller.set_status(result.provider_id, delivered)

    status = provider.get_status(result.provider_id)

    assert status.delivered is expected
    assert status.price == Decimal("0.3")
    assert fake_ucaller.requests[-1].params == {"uid": result.provider_id}


def test_status_of_an_unknown_call_concerns_that_call_only(fake_ucaller, provider):
    with pytest.raises(ProviderError) as info:
        provider.get_status("999")
    assert (info.value.reason, info.value.trips_breaker) == ("rejected", False)


def test_balance(fake_ucaller, provider):
    provider.send(PHONE)
    assert provider.get_balance().balance == Decimal("99.7")


def test_repr_has_no_secret(provider, fake_ucaller):
    assert fake_ucaller.secret_key not in repr(provider)
    assert fake_ucaller.secret_key not in repr(fake_ucaller)
