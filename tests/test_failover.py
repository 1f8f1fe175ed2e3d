"""FLASHCALL_PROVIDERS: the order of preference and failover (SPEC §8), with
the real clients against the fake servers over real HTTP."""

import pytest

from django_flashcall import services
from django_flashcall.conf import flashcall_settings
from django_flashcall.exceptions import ProviderUnavailable, RateLimited
from django_flashcall.internal import breaker
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.testing import refused_url

PHONE = "79244501003"
TELEFONIP = "django_flashcall.providers.TelefonIPProvider"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chain(settings, fake_telefonip, fake_smsru, fake_ucaller):
    """[telefon-ip, sms.ru, uCaller], each pointed at its fake."""
    settings.FLASHCALL_PROVIDERS = [
        TELEFONIP,
        fake_smsru.provider_entry(),
        fake_ucaller.provider_entry(),
    ]
    return fake_telefonip, fake_smsru, fake_ucaller


def paid_calls(*fakes):
    return [len(f.calls) for f in fakes]


# --------------------------------------------------------------------------- in order


def test_the_first_provider_places_the_call(chain):
    telefonip, smsru, ucaller = chain
    attempt = services.request_code(PHONE)

    assert paid_calls(telefonip, smsru, ucaller) == [1, 0, 0]
    assert (attempt.provider, attempt.failed_before) == ("telefon-ip", "")
    assert smsru.requests == [] and ucaller.requests == []


def test_a_single_flashcall_provider_is_a_list_of_one(settings, fake_telefonip):
    settings.FLASHCALL_PROVIDERS = None  # only FLASHCALL_PROVIDER, as in 0.1
    attempt = services.request_code(PHONE)
    assert attempt.provider == "telefon-ip"
    assert len(fake_telefonip.calls) == 1


# --------------------------------------------------------------------------- go on


def test_a_refused_connection_goes_on_to_the_next(chain, settings):
    telefonip, smsru, ucaller = chain
    settings.FLASHCALL_API_URL = refused_url()

    attempt = services.request_code(PHONE, sms_fallback=False)

    assert paid_calls(telefonip, smsru, ucaller) == [0, 1, 0]
    attempt.refresh_from_db()
    assert (attempt.status, attempt.provider, attempt.failed_before) == (
        Status.PENDING,
        "sms.ru",
        "telefon-ip",
    )
    assert attempt.price == smsru.cost
    assert CallAttempt.objects.count() == 1  # one request, one row


def test_bad_credentials_go_on_to_the_next(chain, settings):
    telefonip, smsru, ucaller = chain
    settings.FLASHCALL_API_TOKEN = "not-the-token"
    attempt = services.request_code(PHONE)
    assert paid_calls(telefonip, smsru, ucaller) == [0, 1, 0]
    assert len(telefonip.requests) == 1  # asked once, answered 401
    assert attempt.failed_before == "telefon-ip"


def test_no_funds_go_on_through_every_provider(chain):
    telefonip, smsru, ucaller = chain
    telefonip.balance = telefonip.price / 2
    smsru.balance = smsru.cost / 2
    attempt = services.request_code(PHONE)
    assert paid_calls(telefonip, smsru, ucaller) == [0, 0, 1]
    assert (attempt.provider, attempt.failed_before) == ("ucaller", "telefon-ip,sms.ru")


def test_an_open_breaker_is_skipped_without_a_request(chain, settings):
    telefonip, smsru, ucaller = chain
    for _ in range(flashcall_settings.BREAKER_THRESHOLD):
        breaker.record_failure("telefon-ip")

    attempt = services.request_code(PHONE)

    assert telefonip.requests == []
    assert paid_calls(telefonip, smsru, ucaller) == [0, 1, 0]
    # Skipped, not failed: it was not asked.
    assert (attempt.provider, attempt.failed_before) == ("sms.ru", "")


def test_breakers_are_per_provider(chain, settings):
    telefonip, smsru, _ = chain
    settings.FLASHCALL_API_URL = refused_url()
    for n in range(flashcall_settings.BREAKER_THRESHOLD):
        services.request_code(f"7924450100{n}")
    assert breaker.is_open("telefon-ip")
    assert not breaker.is_open("sms.ru")
    assert len(smsru.calls) == flashcall_settings.BREAKER_THRESHOLD


# --------------------------------------------------------------------------- stop


def test_a_read_timeout_stops_the_chain(chain, settings):
    telefonip, smsru, ucaller = chain
    settings.FLASHCALL_TIMEOUT = (1, 0.3)
    telefonip.slow_seconds = 0.6
    telefonip.set_fault("slow", count=1)

    with pytest.raises(ProviderUnavailable):
        services.request_code(PHONE)

    # The slow provider may have placed the call: nobody else is asked.
    assert smsru.requests == [] and ucaller.requests == []
    assert len(telefonip.requests) == 1
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.reason, attempt.provider) == (
        Status.FAILED,
        Reason.TIMEOUT,
        "telefon-ip",
    )


def test_a_5xx_stops_the_chain(chain):
    telefonip, smsru, ucaller = chain
    telefonip.set_fault("server_error")
    with pytest.raises(ProviderUnavailable):
        services.request_code(PHONE)
    assert smsru.requests == [] and ucaller.requests == []


def test_a_5xx_after_a_refusal_stops_there(chain, settings):
    telefonip, smsru, ucaller = chain
    settings.FLASHCALL_API_URL = refused_url()
    smsru.set_fault("server_error")
    with pytest.raises(ProviderUnavailable):
        services.request_code(PHONE)
    assert ucaller.requests == []
    attempt = CallAttempt.objects.get()
    assert (attempt.reason, attempt.provider, attempt.failed_before) == (
        Reason.SERVER_ERROR,
        "sms.ru",
        "telefon-ip",
    )


# --------------------------------------------------------------------------- all fail


def test_when_every_provider_refuses_the_request_fails_and_costs_the_phone_nothing(chain, settings):
    telefonip, smsru, ucaller = chain
    settings.FLASHCALL_API_URL = refused_url()
    smsru.set_fault("refuse")
    ucaller.set_fault("refuse")

    with pytest.raises(ProviderUnavailable):
        services.request_code(PHONE)

    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (Status.FAILED, Reason.CONNECTION)
    assert (attempt.provider, attempt.failed_before) == ("ucaller", "telefon-ip,sms.ru")
    # Surely no call: the phone's cooldown does not start.
    smsru.set_fault(None)
    assert services.request_code(PHONE).provider == "sms.ru"


def test_every_breaker_open_fails_fast_with_one_row(chain, settings):
    for name in ("telefon-ip", "sms.ru", "ucaller"):
        for _ in range(flashcall_settings.BREAKER_THRESHOLD):
            breaker.record_failure(name)
    with pytest.raises(ProviderUnavailable) as info:
        services.request_code(PHONE)
    assert info.value.extra["retry_after"] >= 1
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.reason) == (Status.REFUSED, Reason.BREAKER_OPEN)
    assert [f.requests for f in chain] == [[], [], []]


def test_a_format_refusal_goes_on(chain):
    telefonip, smsru, ucaller = chain
    telefonip.set_fault("format_error")
    attempt = services.request_code(PHONE)
    assert (attempt.provider, attempt.failed_before) == ("sms.ru", "telefon-ip")


def test_refusals_of_one_phone_everywhere_end_as_a_refusal(chain):
    telefonip, smsru, ucaller = chain
    telefonip.daily_limit = 0  # 200 "limit of calls per day exceeded"
    smsru.fraud_phones.add(PHONE)  # 233
    ucaller.daily_limit = 0  # 18
    with pytest.raises(ProviderUnavailable) as info:
        services.request_code(PHONE)
    assert info.value.reason == Reason.REJECTED
    assert paid_calls(telefonip, smsru, ucaller) == [0, 0, 0]
    assert [len(f.requests) for f in chain] == [1, 1, 1]


# --------------------------------------------------------------------------- counted once


def test_one_request_is_counted_once_by_the_limits_and_the_budget(chain, settings):
    telefonip, smsru, _ = chain
    settings.FLASHCALL_API_URL = refused_url()
    settings.FLASHCALL_DAILY_BUDGET = 2
    services.request_code(PHONE)

    with pytest.raises(RateLimited) as info:  # the cooldown saw one call
        services.request_code(PHONE)
    assert info.value.reason == Reason.COOLDOWN
    services.request_code("79244501004")  # the budget's second call
    with pytest.raises(RateLimited) as info:
        services.request_code("79244501005")
    assert info.value.reason == Reason.BUDGET
    assert len(smsru.calls) == 2
    assert CallAttempt.objects.filter(status=Status.PENDING).count() == 2
