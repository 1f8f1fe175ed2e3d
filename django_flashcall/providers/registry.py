"""The configured providers, in order of preference (SPEC §8).

``FLASHCALL_PROVIDERS`` lists them; each entry is a dotted path or a dict::

    {"BACKEND": "django_flashcall.providers.SMSRuProvider",
     "OPTIONS": {"api_id": "..."},
     "NAME": "sms.ru"}            # optional; the class's ``name`` by default

Unset (or ``None``), it is ``[FLASHCALL_PROVIDER]``: the 0.1 setting keeps
working as a list of one. A provider's name keys its circuit breaker and
is what the attempt row records, so it must be unique and short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import flashcall_settings
from .base import BaseProvider

__all__ = ["NAME_LENGTH", "Entry", "entries", "get_provider", "get_providers", "parse"]

NAME_LENGTH = 32  # CallAttempt.provider
_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{NAME_LENGTH}}}")
_instances: dict[str, list[BaseProvider]] = {}


@dataclass(frozen=True)
class Entry:
    backend: str
    options: dict[str, Any] = field(default_factory=dict, repr=False)  # holds secrets
    name: str = ""  # as configured; "" = the class's own


def raw_setting() -> list[Any]:
    providers = flashcall_settings.PROVIDERS
    if providers is None:
        return [flashcall_settings.PROVIDER]
    return list(providers) if isinstance(providers, list | tuple) else [providers]


def parse(item: Any) -> Entry:
    """One entry of the setting; ``ImproperlyConfigured`` when it is malformed."""
    if isinstance(item, str):
        return Entry(item)
    if isinstance(item, dict):
        unknown = set(item) - {"BACKEND", "OPTIONS", "NAME"}
        backend, options, name = item.get("BACKEND"), item.get("OPTIONS", {}), item.get("NAME", "")
        if unknown:
            raise ImproperlyConfigured(f"unknown keys {sorted(unknown)} (BACKEND, OPTIONS, NAME)")
        if not isinstance(backend, str) or not backend:
            raise ImproperlyConfigured("BACKEND must be the dotted path of a provider class")
        if not isinstance(options, dict):
            raise ImproperlyConfigured("OPTIONS must be a dict")
        if not isinstance(name, str) or not _NAME.fullmatch(name or "x"):
            # It goes into cache keys (memcached refuses spaces) and the admin.
            raise ImproperlyConfigured(
                f"NAME must be at most {NAME_LENGTH} letters, digits, '.', '_' or '-'"
            )
        return Entry(backend, dict(options), name)
    raise ImproperlyConfigured(
        f"an entry is a dotted path or a dict with BACKEND, not {type(item).__name__}"
    )


def entries() -> list[Entry]:
    return [parse(item) for item in raw_setting()]


def default_name(cls: type) -> str:
    return (getattr(cls, "name", "") or cls.__name__)[:NAME_LENGTH]


def _build(entries_: list[Entry]) -> list[BaseProvider]:
    providers: list[BaseProvider] = []
    taken: set[str] = set()
    for entry in entries_:
        cls = import_string(entry.backend)
        provider = cls(**entry.options) if entry.options else cls()
        name = entry.name or default_name(cls)
        # Two unnamed entries of one class (two accounts) still get two
        # breakers; system check E021 asks for NAMEs.
        base, n = name, 2
        while name in taken:
            suffix = f"-{n}"
            name, n = base[: NAME_LENGTH - len(suffix)] + suffix, n + 1
        taken.add(name)
        provider.name = name
        providers.append(provider)
    return providers


def get_providers() -> list[BaseProvider]:
    """The providers, in order; instances live as long as the setting is unchanged.

    Providers read settings when they are used, so a cached instance still
    follows ``override_settings`` of ``FLASHCALL_API_TOKEN`` and the like.
    """
    raw = raw_setting()
    key = repr(raw)  # in memory only; it holds the options
    providers = _instances.get(key)
    if providers is None:
        providers = _build([parse(item) for item in raw])
        if not providers:
            raise ImproperlyConfigured("FLASHCALL_PROVIDERS is empty")
        if len(_instances) > 32:  # a test suite that changes settings a lot
            _instances.clear()
        _instances[key] = providers
    return providers


def get_provider(name: str | None = None) -> BaseProvider:
    """The first provider, or the one called ``name`` (``KeyError`` if none)."""
    providers = get_providers()
    if name is None:
        return providers[0]
    for provider in providers:
        if provider.name == name:
            return provider
    raise KeyError(name)
