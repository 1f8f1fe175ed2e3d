"""System checks of the provider settings: ``FLASHCALL_PROVIDERS`` (or
``FLASHCALL_PROVIDER``) and ``FLASHCALL_TEST_NUMBERS``. Called by
:func:`django_flashcall.checks.check_settings`."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import flashcall_settings
from .registry import default_name, parse, raw_setting

_STORED_PHONE = re.compile(r"^79\d{9}$")
_CODE = re.compile(r"^\d{4}$")


def _where(index: int) -> str:
    if flashcall_settings.PROVIDERS is None:
        return "FLASHCALL_PROVIDER"
    return f"FLASHCALL_PROVIDERS[{index}]"


def provider_messages() -> list[CheckMessage]:
    from . import SandboxProvider, TelefonIPProvider

    messages: list[CheckMessage] = []
    providers = flashcall_settings.PROVIDERS
    if providers is not None and (not isinstance(providers, list | tuple) or not providers):
        return [
            Error(
                "FLASHCALL_PROVIDERS must be a non-empty list.",
                hint="List dotted paths or dicts with BACKEND and OPTIONS, in order of "
                "preference; or remove it to use FLASHCALL_PROVIDER.",
                id="django_flashcall.E020",
            )
        ]
    names: dict[str, str] = {}
    for index, item in enumerate(raw_setting()):
        where = _where(index)
        try:
            entry = parse(item)
        except ImproperlyConfigured as exc:
            messages.append(
                Error(
                    f"{where} is malformed: {exc}.",
                    hint='Use "dotted.path.Provider" or {"BACKEND": "dotted.path.Provider", '
                    '"OPTIONS": {...}, "NAME": "optional-name"}.',
                    id="django_flashcall.E020",
                )
            )
            continue
        try:
            cls = import_string(entry.backend)
        except ImportError as exc:
            messages.append(
                Error(
                    f"{where} {entry.backend!r} cannot be imported ({type(exc).__name__}).",
                    hint="Use 'django_flashcall.providers.TelefonIPProvider', "
                    "'...SMSRuProvider', '...UCallerProvider', '...SandboxProvider' or the "
                    "dotted path of your class.",
                    id="django_flashcall.E002",
                )
            )
            continue
        if not isinstance(cls, type):
            if not callable(cls):  # it would fail at the first request, with a 500
                messages.append(
                    Error(
                        f"{where} {entry.backend!r} is neither a provider class nor a callable "
                        "that returns a provider.",
                        hint="Point it at a BaseProvider subclass.",
                        id="django_flashcall.E002",
                    )
                )
            continue  # a factory: what it returns is known only when it is called
        name = entry.name or default_name(cls)
        if name in names:
            messages.append(
                Error(
                    f"{where} has the name {name!r}, like {names[name]}: each provider "
                    "needs its own name (its circuit breaker and its monitoring row).",
                    hint='Give one of them a "NAME".',
                    id="django_flashcall.E021",
                )
            )
        names.setdefault(name, where)
        messages += _entry_messages(where, cls, entry.options, TelefonIPProvider, SandboxProvider)
    return messages


def _entry_messages(
    where: str, cls: type, options: dict[str, Any], telefonip: type, sandbox: type
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if issubclass(cls, telefonip) and not (options.get("token") or flashcall_settings.API_TOKEN):
        messages.append(
            Error(
                f"FLASHCALL_API_TOKEN is empty but the TelefonIP provider is selected ({where}).",
                hint="Set FLASHCALL_API_TOKEN from the environment, or use "
                "FLASHCALL_PROVIDER = 'django_flashcall.providers.SandboxProvider' in development.",
                id="django_flashcall.E001",
            )
        )
    missing = [o for o in getattr(cls, "required_options", ()) if not options.get(o)]
    if missing:
        messages.append(
            Error(
                f"{where} ({cls.__name__}) lacks the option(s) {', '.join(missing)}.",
                hint='Set them in the entry\'s "OPTIONS", read from the environment.',
                id="django_flashcall.E023",
            )
        )
    if issubclass(cls, sandbox) and not settings.DEBUG:
        messages.append(
            Warning(
                f"{where} is the SandboxProvider while DEBUG is off: no call is "
                "placed, so nobody can receive a code.",
                hint="Use a real provider (TelefonIPProvider with FLASHCALL_API_TOKEN, ...) "
                "in production; silence django_flashcall.W003 in a test or staging site "
                "that is meant to run on the sandbox.",
                id="django_flashcall.W003",
            )
        )
    return messages


def test_number_messages() -> list[CheckMessage]:
    numbers = flashcall_settings.TEST_NUMBERS
    if not numbers:
        return []
    valid = isinstance(numbers, dict) and all(
        isinstance(k, str) and _STORED_PHONE.match(k) and isinstance(v, str) and _CODE.match(v)
        for k, v in numbers.items()
    )
    if not valid:
        return [
            Error(
                f"FLASHCALL_TEST_NUMBERS = {numbers!r} is not a dict of stored phones to "
                "4-digit codes.",
                hint='Use {"79000000000": "1234"}: keys 79XXXXXXXXX, values 4 digits as strings.',
                id="django_flashcall.E022",
            )
        ]
    if settings.DEBUG:
        return []
    return [
        Warning(
            "FLASHCALL_TEST_NUMBERS is set while DEBUG is off: anyone who knows one of "
            "these numbers logs in with its fixed code, no call needed.",
            hint="Keep test numbers to staging and app store review; silence "
            "django_flashcall.W020 if this site is one.",
            id="django_flashcall.W020",
        )
    ]
