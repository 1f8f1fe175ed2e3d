"""Deprecated location (0.1): use ``django_flashcall.services.check_ip_rate``."""

from __future__ import annotations

import warnings

from .internal.net import CONFIRM_GROUP, REQUEST_GROUP, check_ip_rate, client_ip

warnings.warn(
    "django_flashcall.net is deprecated; use django_flashcall.services.check_ip_rate",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["CONFIRM_GROUP", "REQUEST_GROUP", "check_ip_rate", "client_ip"]
