"""Every provider's secret (telefon-ip's token, sms.ru's api_id, uCaller's
secret_key) never reaches a log line (DEBUG on everywhere, urllib3's request
lines included), an exception, the database or the admin: the telefon-ip
leak test of tests/test_provider_telefonip.py, extended to every provider
and through the whole request path with failover."""

import logging

import pytest
from django.db import connection

from django_flashcall import services
from django_flashcall.exceptions import FlashCallError
from django_flashcall.models import CallAttempt
from django_flashcall.providers import ProviderError, get_providers
from django_flashcall.testing.fake_base import COMMON_FAULTS
from tests.test_provider_telefonip import exception_texts

TOKEN = "SENTINEL-TOKEN-9f1c"
API_ID = "SENTINEL-APIID-77d2"
SECRET = "SENTINEL-SECRET-0b3e5a7c9d1f2e4a"
SECRETS = (TOKEN, API_ID, SECRET)


@pytest.fixture
def sentinels(settings, caplog, fake_telefonip, fake_smsru, fake_ucaller):
    """Sentinel secrets on both sides of all three providers, DEBUG logging on."""
    fake_telefonip.token = TOKEN
    fake_smsru.api_id = API_ID
    fake_ucaller.secret_key = SECRET
    settings.FLASHCALL_API_TOKEN = TOKEN
    settings.FLASHCALL_PROVIDERS = [
        "django_flashcall.providers.TelefonIPProvider",
        fake_smsru.provider_entry(),
        fake_ucaller.provider_entry(),
    ]
    settings.FLASHCALL_TIMEOUT = (1, 0.3)
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "django_flashcall"):
        caplog.set_level(logging.DEBUG, logger=name)
    return fake_telefonip, fake_smsru, fake_ucaller


def assert_nowhere(records, errors):
    formatter = logging.Formatter()
    for record in records:
        text = record.getMessage() + formatter.format(record)
        for secret in SECRETS:
            assert secret not in text, f"{record.name}: {record.getMessage()}"
    for exc in errors:
        for text in exception_texts(exc):
            for secret in SECRETS:
                assert secret not in text, text


def every_failure(provider, fake):
    """Each answer and fault of one provider's fake, through its real client."""
    errors = []

    def attempt(action, *args, **kwargs):
        try:
            action(*args, **kwargs)
        except (ProviderError, NotImplementedError) as exc:
            errors.append(exc)

    phones = iter(f"7924450{n:04d}" for n in range(100))
    attempt(provider.send, next(phones))  # success: urllib3 logs its request line
    attempt(provider.get_balance)
    attempt(provider.get_status, "1")
    fake.slow_seconds = 0.6
    for fault in sorted(COMMON_FAULTS):
        fake.set_fault(fault, count=1)
        attempt(provider.send, next(phones))
        fake.set_fault(None)
    fake.daily_limit = 0
    attempt(provider.send, next(phones))
    fake.balance = 0
    attempt(provider.send, next(phones))
    return errors


@pytest.mark.parametrize("index", [1, 2], ids=["sms.ru", "ucaller"])
def test_no_secret_in_logs_or_exceptions(sentinels, caplog, index):
    fake = sentinels[index]
    provider = get_providers()[index]
    errors = every_failure(provider, fake)
    # Wrong credentials, on the way out and in the error text.
    if index == 1:
        fake.api_id = "another"
    else:
        fake.secret_key = "another"
    for action in (provider.get_balance, lambda: provider.send("79244509999")):
        with pytest.raises(ProviderError) as info:
            action()
        errors.append(info.value)

    assert len(errors) >= 8
    assert any(" /" in r.getMessage() for r in caplog.records if r.name.startswith("urllib3"))
    assert_nowhere(caplog.records, errors)
    for secret in SECRETS:
        assert secret not in repr(provider) + repr(fake)


@pytest.mark.django_db(transaction=True)
def test_no_secret_in_logs_or_the_database_through_failover(sentinels, caplog, settings):
    telefonip, smsru, ucaller = sentinels
    errors: list[Exception] = []
    telefonip.token = "another"  # 401: the next provider is asked
    services.request_code("79244500001")
    smsru.set_fault("refuse")
    services.request_code("79244500002")  # and the next
    ucaller.set_fault("server_error")
    try:
        services.request_code("79244500003")
    except FlashCallError as exc:
        errors.append(exc)
    telefonip.set_fault("slow", count=1)
    telefonip.token = TOKEN
    telefonip.slow_seconds = 0.6
    try:
        services.request_code("79244500004")
    except FlashCallError as exc:
        errors.append(exc)

    assert CallAttempt.objects.count() == 4
    assert_nowhere(caplog.records, errors)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM django_flashcall_callattempt")
        dump = repr(cursor.fetchall())
    assert "telefon-ip" in dump and "sms.ru" in dump  # the dump is the real table
    for secret in SECRETS:
        assert secret not in dump


@pytest.mark.django_db
def test_no_secret_in_the_admin(sentinels, admin_client):
    smsru = sentinels[1]
    smsru.set_fault(None)
    pages = [
        admin_client.get("/admin/django_flashcall/callattempt/").content.decode(),
        admin_client.get("/admin/django_flashcall/callattempt/monitor/").content.decode(),
    ]
    for page in pages:
        for secret in SECRETS:
            assert secret not in page
