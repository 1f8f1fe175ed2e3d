"""Providers place the call. ``get_provider()`` loads ``FLASHCALL_PROVIDER``."""

from __future__ import annotations

from django.utils.module_loading import import_string

from ..conf import flashcall_settings
from .base import (
    Balance,
    BaseProvider,
    DeliveryStatus,
    InvalidPhoneForProvider,
    ProviderError,
    ProviderResult,
)
from .sandbox import SandboxProvider
from .telefonip import TelefonIPProvider

__all__ = [
    "Balance",
    "BaseProvider",
    "DeliveryStatus",
    "InvalidPhoneForProvider",
    "ProviderError",
    "ProviderResult",
    "SandboxProvider",
    "TelefonIPProvider",
    "get_provider",
]

_instances: dict[str, BaseProvider] = {}


def get_provider() -> BaseProvider:
    """The configured provider; one instance per dotted path and process.

    Providers read their settings on each call, so a cached instance still
    follows ``override_settings``.
    """
    path = flashcall_settings.PROVIDER
    provider = _instances.get(path)
    if provider is None:
        provider = _instances[path] = import_string(path)()
    return provider
