"""The integrations' system checks (django_flashcall.E030, W030)."""

from __future__ import annotations

import pytest

pytest.importorskip("allauth")

from django_flashcall.checks import check_settings  # noqa: E402


def ids() -> list[str]:
    return [m.id for m in check_settings()]


def test_the_contrib_settings_pass():
    assert not [i for i in ids() if i.endswith(("030",))]


def test_signed_cookie_sessions_are_refused_with_the_mixin(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert "django_flashcall.E030" in ids()
    settings.ACCOUNT_ADAPTER = "allauth.account.adapter.DefaultAccountAdapter"
    assert "django_flashcall.E030" not in ids()  # not our adapter: not our concern


def test_allauth_code_steps_longer_than_the_code_ttl_warn(settings):
    settings.ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 900  # allauth's default
    (message,) = [m for m in check_settings() if m.id == "django_flashcall.W030"]
    assert "ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 900" in message.msg
    assert "ACCOUNT_LOGIN_BY_CODE_TIMEOUT" not in message.msg
    settings.FLASHCALL_CODE_TTL = 900
    assert "django_flashcall.W030" not in ids()


def test_a_site_without_allauth_in_installed_apps_is_not_checked(settings):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if not a.startswith("allauth")]
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert "django_flashcall.E030" not in ids()


@pytest.mark.parametrize("ttl", ["300", 2.5, None])
def test_a_code_ttl_that_is_not_seconds_is_reported_once_not_a_crash(settings, ttl):
    settings.FLASHCALL_CODE_TTL = ttl
    found = ids()  # "300" > 900 raised TypeError here, and check stopped
    assert "django_flashcall.E007" in found
    assert "django_flashcall.W030" not in found


def test_an_adapter_that_does_not_import_is_left_to_allauth(settings):
    settings.ACCOUNT_ADAPTER = "tests.contrib.no_such_module.AccountAdapter"
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert not [i for i in ids() if i.endswith("030")]
