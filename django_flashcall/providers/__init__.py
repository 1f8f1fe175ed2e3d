"""Providers place the call. ``get_providers()`` loads ``FLASHCALL_PROVIDERS``
(or ``[FLASHCALL_PROVIDER]``), in order of preference; ``get_provider()``
is the first of them."""

from __future__ import annotations

from .base import (
    Balance,
    BaseProvider,
    DeliveryStatus,
    InvalidPhoneForProvider,
    ProviderError,
    ProviderResult,
)
from .registry import get_provider, get_providers
from .sandbox import SandboxProvider
from .smsru import SMSRuProvider
from .telefonip import TelefonIPProvider
from .ucaller import UCallerProvider

__all__ = [
    "Balance",
    "BaseProvider",
    "DeliveryStatus",
    "InvalidPhoneForProvider",
    "ProviderError",
    "ProviderResult",
    "SMSRuProvider",
    "SandboxProvider",
    "TelefonIPProvider",
    "UCallerProvider",
    "get_provider",
    "get_providers",
]
