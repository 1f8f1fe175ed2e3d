"""FLASHCALL_TEST_NUMBERS: no call, no spend, a fixed code, every other rule."""

import pytest
from django.core.checks import run_checks

from django_flashcall import services
from django_flashcall.conf import flashcall_settings
from django_flashcall.exceptions import InvalidCode, RateLimited, TooManyAttempts
from django_flashcall.models import CallAttempt, Status

REVIEW = "79000000000"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def review(settings, fake_telefonip, fake_smsru):
    settings.FLASHCALL_PROVIDERS = ["django_flashcall.providers.TelefonIPProvider"]
    settings.FLASHCALL_TEST_NUMBERS = {REVIEW: "1234"}
    return fake_telefonip


def test_a_test_number_places_no_call_and_its_fixed_code_confirms(review):
    attempt = services.request_code("+7 900 000-00-00")

    assert review.requests == []  # no provider was asked
    assert (attempt.status, attempt.channel) == (Status.PENDING, "test")
    assert attempt.price is None and attempt.provider == ""
    verified = services.confirm_code(REVIEW, "1234")
    assert verified.pk == attempt.pk and verified.status == Status.VERIFIED


def test_other_numbers_still_get_real_calls(review):
    services.request_code("79244501003")
    assert len(review.calls) == 1


def test_the_cooldown_applies(review):
    services.request_code(REVIEW)
    with pytest.raises(RateLimited):
        services.request_code(REVIEW)
    assert review.requests == []


def test_wrong_codes_count_and_exhaust(review, settings):
    held = str(services.request_code(REVIEW).public_id)
    for _ in range(flashcall_settings.MAX_CHECKS - 1):
        with pytest.raises(InvalidCode):
            services.confirm_code(REVIEW, "0000", attempt_id=held)
    with pytest.raises(InvalidCode):
        services.confirm_code(REVIEW, "0000", attempt_id=held)
    with pytest.raises(TooManyAttempts):
        services.confirm_code(REVIEW, "1234", attempt_id=held)


def test_test_numbers_spend_nothing_from_the_budget(review, settings):
    settings.FLASHCALL_DAILY_BUDGET = 1
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    for _ in range(3):
        services.request_code(REVIEW)
    services.request_code("79244501003")  # the budget's one paid call is still there
    assert len(review.calls) == 1
    assert CallAttempt.objects.filter(channel="test").count() == 3


def test_an_open_breaker_does_not_stop_a_test_number(review, settings):
    from django_flashcall.internal import breaker

    for _ in range(flashcall_settings.BREAKER_THRESHOLD):
        breaker.record_failure("telefon-ip")
    assert services.request_code(REVIEW).channel == "test"


def _ids(settings_debug, settings):
    settings.DEBUG = settings_debug
    return [m.id for m in run_checks() if m.id.startswith("django_flashcall.")]


def test_a_check_warns_outside_debug(review, settings):
    assert "django_flashcall.W020" in _ids(False, settings)
    assert "django_flashcall.W020" not in _ids(True, settings)


@pytest.mark.parametrize(
    "numbers", [{"12": "1234"}, {REVIEW: "12a4"}, {REVIEW: 1234}, ["79000000000"]]
)
def test_a_malformed_setting_is_an_error(review, settings, numbers):
    settings.FLASHCALL_TEST_NUMBERS = numbers
    assert "django_flashcall.E022" in _ids(True, settings)


def test_through_the_api_the_channel_is_test(review, client, settings):
    from tests.api_helpers import CONFIRM, REQUEST, post

    response = post(client, REQUEST, {"phone": "+7 900 000 00 00"})
    assert response.status_code == 201, response.content
    assert response.json()["channel"] == "test"
    response = post(client, CONFIRM, {"phone": REVIEW, "code": "1234"})
    assert response.status_code == 200 and response.json()["verified"] is True
    assert review.requests == []
