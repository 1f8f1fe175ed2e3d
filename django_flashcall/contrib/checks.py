"""System checks for the integrations, run with the app's own (checks.py).

Only the allauth adapter has settings to get wrong outside its own package:
the session backend that would hand allauth's copy of the code to the
browser, and allauth code steps that outlive the call's code.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from ..conf import flashcall_settings

SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"


def _uses_the_allauth_mixin() -> bool:
    path = getattr(settings, "ACCOUNT_ADAPTER", None)
    if not path or not apps.is_installed("allauth.account"):
        return False
    try:
        adapter = import_string(path)
    except ImportError:
        return False  # allauth reports a broken ACCOUNT_ADAPTER itself
    from .allauth.adapter import FlashCallAdapterMixin

    return isinstance(adapter, type) and issubclass(adapter, FlashCallAdapterMixin)


def contrib_messages() -> list[CheckMessage]:
    if not _uses_the_allauth_mixin():
        return []
    from allauth.account import app_settings as allauth_settings

    messages: list[CheckMessage] = []
    if getattr(settings, "SESSION_ENGINE", "") == SIGNED_COOKIES:
        messages.append(
            Error(
                "The signed-cookie session backend with FlashCallAdapterMixin: allauth keeps "
                "the call's code in the session, which this backend sends to the browser, "
                "where anyone could read it and verify a phone they do not hold.",
                hint="Use a server-side SESSION_ENGINE (the default database backend, "
                "cache or cached_db).",
                id="django_flashcall.E030",
            )
        )
    ttl = flashcall_settings.CODE_TTL
    if type(ttl) is not int:
        return messages  # not a number of seconds: E007 says so (no comparison here)
    late = {
        name: value
        for name, value in (
            ("ACCOUNT_PHONE_VERIFICATION_TIMEOUT", allauth_settings.PHONE_VERIFICATION_TIMEOUT),
            ("ACCOUNT_LOGIN_BY_CODE_TIMEOUT", allauth_settings.LOGIN_BY_CODE_TIMEOUT),
        )
        if value > ttl
    }
    if late:
        names = ", ".join(f"{name} = {value}" for name, value in late.items())
        messages.append(
            Warning(
                f"allauth waits longer for a code than the call's code lives "
                f"({names} > FLASHCALL_CODE_TTL = {ttl}): a code typed late is accepted "
                "by allauth, then refused as expired.",
                hint=f"Set {' and '.join(late)} to {ttl} or less.",
                id="django_flashcall.W030",
            )
        )
    return messages
