"""End to end: a site with [telefon-ip, sms.ru] keeps logging people in
through the JSON API while the telefon-ip fake is down, with exactly one
paid call per request (counted on the fakes)."""

import pytest

from django_flashcall.conf import flashcall_settings
from django_flashcall.internal import breaker
from django_flashcall.models import CallAttempt, PhoneNumber, Status
from tests.api_helpers import CONFIRM, REQUEST, post

PHONES = [f"7924450{n:04d}" for n in range(12)]


@pytest.fixture
def site(settings, fake_telefonip, fake_smsru):
    settings.FLASHCALL_PROVIDERS = [
        "django_flashcall.providers.TelefonIPProvider",
        fake_smsru.provider_entry(),
    ]
    settings.FLASHCALL_RATELIMIT_REQUEST = "1000/h"
    settings.FLASHCALL_RATELIMIT_CONFIRM = "1000/h"
    return fake_telefonip, fake_smsru


def log_in(client, phone, fakes):
    response = post(client, REQUEST, {"phone": phone})
    assert response.status_code == 201, response.content
    code = next(f.last_code(phone) for f in fakes if f.last_code(phone))
    response = post(client, CONFIRM, {"phone": phone, "code": code})
    assert response.status_code == 200, response.content
    assert response.json()["verified"] is True
    client.logout()


@pytest.mark.django_db(transaction=True)
def test_logins_go_on_while_telefonip_is_down(client, site, settings):
    telefonip, smsru = site
    log_in(client, PHONES[0], site)  # both up: telefon-ip, the first choice, calls
    assert (len(telefonip.calls), len(smsru.calls)) == (1, 0)

    telefonip.stop()  # down: connections refused
    try:
        for phone in PHONES[1:]:
            log_in(client, phone, site)
    finally:
        telefonip.start()

    # Exactly one paid call per request, all from sms.ru while telefon-ip was down.
    assert (len(telefonip.calls), len(smsru.calls)) == (1, len(PHONES) - 1)
    assert sorted(c.phone for c in smsru.calls) == PHONES[1:]
    assert PhoneNumber.objects.count() == len(PHONES)
    rows = CallAttempt.objects.order_by("created_at")
    assert rows.count() == len(PHONES)  # one row per request
    assert {r.status for r in rows} == {Status.VERIFIED}
    assert [r.provider for r in rows] == ["telefon-ip"] + ["sms.ru"] * (len(PHONES) - 1)
    # The first requests tried telefon-ip and failed over; once its breaker
    # opened, later ones skipped it without a connection attempt.
    threshold = flashcall_settings.BREAKER_THRESHOLD
    failed_over = [r.failed_before for r in rows[1:]]
    assert failed_over[:threshold] == ["telefon-ip"] * threshold
    assert set(failed_over[threshold:]) == {""}
    assert breaker.is_open("telefon-ip")


@pytest.mark.django_db(transaction=True)
def test_telefonip_back_up_is_probed_and_preferred_again(client, site, settings, clock):
    telefonip, smsru = site
    telefonip.stop()
    try:
        for phone in PHONES[: flashcall_settings.BREAKER_THRESHOLD]:
            log_in(client, phone, site)
    finally:
        telefonip.start()  # on a new port
    settings.FLASHCALL_API_URL = telefonip.url
    assert breaker.is_open("telefon-ip")

    clock.advance(flashcall_settings.BREAKER_COOLDOWN + 1)
    log_in(client, PHONES[-1], site)  # the probe: telefon-ip is back

    assert telefonip.last_call(PHONES[-1]) is not None
    assert smsru.last_call(PHONES[-1]) is None
    assert not breaker.is_open("telefon-ip")
