"""System checks of FLASHCALL_PROVIDERS (E001, E002, E020, E021, E023, W003)."""

import pytest

from django_flashcall.checks import check_settings
from django_flashcall.providers import get_providers

SMSRU = "django_flashcall.providers.SMSRuProvider"
UCALLER = "django_flashcall.providers.UCallerProvider"
TELEFONIP = "django_flashcall.providers.TelefonIPProvider"


def ids(settings, providers):
    """The ids of the provider checks (the cache's W001 aside)."""
    settings.FLASHCALL_PROVIDERS = providers
    found = (m.id.rsplit(".", 1)[1] for m in check_settings())
    return sorted(i for i in found if i not in {"W001", "W002"})


def test_a_good_list_passes(settings):
    providers = [
        TELEFONIP,
        {"BACKEND": SMSRU, "OPTIONS": {"api_id": "x"}},
        {"BACKEND": UCALLER, "OPTIONS": {"service_id": "1", "secret_key": "k"}},
    ]
    assert ids(settings, providers) == []
    assert [p.name for p in get_providers()] == ["telefon-ip", "sms.ru", "ucaller"]


@pytest.mark.parametrize(
    "providers",
    [[], "not a list", [42], [{"OPTIONS": {}}], [{"BACKEND": SMSRU, "OPTIONS": []}],
     [{"BACKEND": SMSRU, "TYPO": 1}], [{"BACKEND": SMSRU, "NAME": "x" * 40}],
     [{"BACKEND": SMSRU, "NAME": "sms ru"}], [{"BACKEND": SMSRU, "NAME": "a:b"}]],
)  # fmt: skip
def test_malformed_lists_are_e020(settings, providers):
    assert "E020" in ids(settings, providers)


def test_an_entry_that_does_not_import_is_e002(settings):
    assert ids(settings, [TELEFONIP, "no.such.Provider"]) == ["E002"]


def test_two_accounts_of_one_provider_need_names(settings):
    one = {"BACKEND": SMSRU, "OPTIONS": {"api_id": "a"}}
    two = {"BACKEND": SMSRU, "OPTIONS": {"api_id": "b"}}
    assert ids(settings, [one, two]) == ["E021"]
    assert ids(settings, [one, {**two, "NAME": "sms.ru-backup"}]) == []
    # Even unnamed, at run time each gets its own breaker.
    settings.FLASHCALL_PROVIDERS = [one, two]
    assert [p.name for p in get_providers()] == ["sms.ru", "sms.ru-2"]


def test_missing_options_are_e023(settings):
    assert ids(settings, [{"BACKEND": SMSRU}]) == ["E023"]
    assert ids(settings, [{"BACKEND": UCALLER, "OPTIONS": {"service_id": "1"}}]) == ["E023"]


def test_telefonip_in_the_list_needs_a_token(settings):
    settings.FLASHCALL_API_TOKEN = ""
    assert ids(settings, [{"BACKEND": SMSRU, "OPTIONS": {"api_id": "x"}}, TELEFONIP]) == ["E001"]
    with_option = {"BACKEND": TELEFONIP, "OPTIONS": {"token": "t"}}
    assert ids(settings, [with_option]) == []


def test_the_sandbox_in_the_list_warns_outside_debug(settings):
    settings.DEBUG = False
    assert "W003" in ids(settings, [TELEFONIP, "django_flashcall.providers.SandboxProvider"])
