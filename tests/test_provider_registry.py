"""providers/registry.py and the readers of answers: the settings'
misconfigurations, the instance cache, the secrets' redaction."""

import logging
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_flashcall.checks import check_settings
from django_flashcall.providers import SandboxProvider, get_provider, get_providers, registry
from django_flashcall.providers.answers import amount, flag
from django_flashcall.providers.base import (
    _RedactSecrets,
    all_secrets,
    install_log_redaction,
    redact,
)

SMSRU = "django_flashcall.providers.SMSRuProvider"


def make_sandbox(**options):
    """A factory as a BACKEND: the registry calls it like a class."""
    return SandboxProvider(**options)


def check_ids(settings, providers):
    settings.FLASHCALL_PROVIDERS = providers
    return sorted(m.id.rsplit(".", 1)[1] for m in check_settings() if "E0" in m.id)


def test_an_empty_list_is_refused_at_use(settings):
    settings.FLASHCALL_PROVIDERS = []
    with pytest.raises(ImproperlyConfigured, match="FLASHCALL_PROVIDERS is empty"):
        get_providers()


def test_a_provider_by_name(settings):
    settings.FLASHCALL_PROVIDERS = [
        "django_flashcall.providers.SandboxProvider",
        {"BACKEND": SMSRU, "OPTIONS": {"api_id": "x"}, "NAME": "backup"},
    ]
    assert get_provider().name == "sandbox"
    assert get_provider("backup").options == {"api_id": "x"}
    with pytest.raises(KeyError):
        get_provider("sms.ru")  # renamed: its NAME is what counts


def test_the_instance_cache_stays_small(settings, monkeypatch):
    monkeypatch.setattr(registry, "_instances", {})
    for n in range(40):  # a test suite that changes the setting a lot
        settings.FLASHCALL_PROVIDERS = [{"BACKEND": SMSRU, "OPTIONS": {"api_id": f"k{n}"}}]
        assert get_provider().options == {"api_id": f"k{n}"}
    assert len(registry._instances) <= 33
    again = get_providers()
    assert get_providers() is again  # the current setting's instances are kept


def test_a_factory_backend_passes_the_checks_and_is_called(settings):
    backend = {"BACKEND": f"{__name__}.make_sandbox", "OPTIONS": {"x": "1"}}
    assert check_ids(settings, [backend]) == []
    provider = get_provider()
    assert isinstance(provider, SandboxProvider)
    assert (provider.name, provider.options) == ("make_sandbox", {"x": "1"})


def test_a_backend_that_cannot_be_called_is_e002(settings):
    assert check_ids(settings, ["django_flashcall.providers.registry.NAME_LENGTH"]) == ["E002"]


# --------------------------------------------------------------------------- readers


@pytest.mark.parametrize("value", [None, True, False, "abc", "", "1.2.3"])
def test_what_is_not_an_amount(value):
    assert amount(value) is None  # a bool is not 1 rouble


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", False), (" No ", False), ("0", False), ("failed", False), ("2", None), ([], None)],
)
def test_flags_in_words(value, expected):
    assert flag(value) is expected


def test_redact_one_secret_or_several():
    assert redact("a/s3cret/b", "s3cret") == "a/<token>/b"
    # An empty secret in the list hides nothing (replacing "" would garble it all).
    assert redact("a/s3cret/b", ["", "s3cret"]) == "a/<token>/b"
    assert amount(" 1,5 ") == Decimal("1.5")


def test_the_options_of_a_backend_that_does_not_import_are_still_secret(settings, caplog):
    # The site will not start calls (E002), but its logs must not show the key.
    settings.FLASHCALL_PROVIDERS = [
        {"BACKEND": "no.such.SMSRuProvider", "OPTIONS": {"api_id": "typo-key-7f3a", "x": "1"}}
    ]
    assert "typo-key-7f3a" in all_secrets() and "1" not in all_secrets()
    install_log_redaction()
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        logging.getLogger("urllib3.connectionpool").debug(
            "POST /code/call?api_id=%s", "typo-key-7f3a"
        )
    assert [r.getMessage() for r in caplog.records] == ["POST /code/call?api_id=<token>"]


def test_a_record_that_cannot_be_formatted_is_let_through_untouched(settings):
    settings.FLASHCALL_API_TOKEN = "tok-9d2c"
    record = logging.LogRecord("urllib3", logging.DEBUG, __file__, 1, "%s and %s", ("one",), None)
    assert _RedactSecrets().filter(record) is True  # logging reports its own error later
    assert (record.msg, record.args) == ("%s and %s", ("one",))
