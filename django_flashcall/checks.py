"""System checks: a misconfiguration fails loudly at start, not at the first call."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import flashcall_settings, low_balance, problems

LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
LOGIN_MODES = {"session", "token", "none"}


@register(Tags.security, Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    from .contrib.checks import contrib_messages
    from .providers.checks import provider_messages, test_number_messages

    errors: list = [*provider_messages(), *test_number_messages(), *contrib_messages()]
    caches = getattr(settings, "CACHES", {})
    # Ours, and django-ratelimit's (the IP limits), which it picks on its own.
    aliases = dict.fromkeys(
        [flashcall_settings.CACHE_ALIAS, getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    )
    for alias in aliases:
        default = "django.core.cache.backends.locmem.LocMemCache"
        backend = caches.get(alias, {}).get("BACKEND", default)
        if backend in LOCAL_CACHES and not settings.DEBUG:
            errors.append(
                Warning(
                    f"The {alias!r} cache ({backend.rsplit('.', 1)[-1]}) is not shared between "
                    "processes: rate limits, cooldowns, the budget and the circuit breaker "
                    "would count per process.",
                    hint="Use Redis (django.core.cache.backends.redis.RedisCache) or "
                    "Memcached for FLASHCALL_CACHE_ALIAS and RATELIMIT_USE_CACHE.",
                    id="django_flashcall.W001",
                )
            )
    backend_path = "django_flashcall.auth_backends.FlashCallBackend"
    if backend_path not in getattr(settings, "AUTHENTICATION_BACKENDS", []):
        errors.append(
            Warning(
                f"{backend_path} is not in AUTHENTICATION_BACKENDS: a user logged in by "
                "phone would be logged out on their next request.",
                hint=f"Add {backend_path!r} to AUTHENTICATION_BACKENDS.",
                id="django_flashcall.W002",
            )
        )
    login = flashcall_settings.LOGIN
    if login not in LOGIN_MODES:
        try:
            hook = import_string(login)
        except ImportError:
            hook = None
        if not callable(hook):
            errors.append(
                Error(
                    f"FLASHCALL_LOGIN {login!r} is neither a mode nor an importable callable.",
                    hint="Use 'session', 'token', 'none' or a dotted path to "
                    "callable(request, user, attempt) -> dict.",
                    id="django_flashcall.E003",
                )
            )
    from .internal.rates import EXAMPLES, RATE_SETTINGS, rate_misread, rate_problem

    for name in RATE_SETTINGS:
        rate = getattr(flashcall_settings, name)
        problem = rate_problem(rate)
        if problem is not None:
            errors.append(
                Error(
                    f"FLASHCALL_{name} = {rate!r} {problem}.",
                    hint=f"Use django-ratelimit's syntax, a count per period: {EXAMPLES}; "
                    "None turns the limit off.",
                    id="django_flashcall.E005",
                )
            )
        misread = rate_misread(rate)
        if misread is not None:
            errors.append(
                Warning(
                    f"FLASHCALL_{name} = {rate!r} {misread}.",
                    hint=f"Write the period as s, m, h or d (lower case): {EXAMPLES}.",
                    id="django_flashcall.W004",
                )
            )
    low = flashcall_settings.LOW_BALANCE
    if low is not None and low_balance() is None:
        errors.append(
            Error(
                f"FLASHCALL_LOW_BALANCE = {low!r} is not a number.",
                hint="Use a number such as 50 or 50.0 (or None for no warning).",
                id="django_flashcall.E006",
            )
        )
    for name, value, expected in problems():
        errors.append(
            Error(
                f"FLASHCALL_{name} = {value!r} is not {expected}.",
                hint=f"Set FLASHCALL_{name} to {expected}, or remove it for the default.",
                id="django_flashcall.E007",
            )
        )
    alias = flashcall_settings.CACHE_ALIAS
    if isinstance(alias, str) and alias not in getattr(settings, "CACHES", {"default": {}}):
        errors.append(
            Error(
                f"FLASHCALL_CACHE_ALIAS = {alias!r} is not in CACHES.",
                hint="Name a cache of CACHES (a shared one: Redis or Memcached).",
                id="django_flashcall.E008",
            )
        )
    if login == "token" and not apps.is_installed("rest_framework.authtoken"):
        errors.append(
            Error(
                "FLASHCALL_LOGIN = 'token' needs 'rest_framework.authtoken' in INSTALLED_APPS.",
                id="django_flashcall.E004",
            )
        )
    return errors


def _pays_for_calls() -> bool:
    """Whether a provider that places paid calls is configured (not only the sandbox)."""
    from .providers import SandboxProvider

    paths: list[Any] = [flashcall_settings.PROVIDER]
    listed = getattr(settings, "FLASHCALL_PROVIDERS", None)
    if isinstance(listed, list | tuple) and listed:
        paths = [p.get("BACKEND") if isinstance(p, dict) else p for p in listed]
    for path in paths:
        try:
            provider = import_string(path) if isinstance(path, str) else None
        except ImportError:
            continue  # E002 says so
        if not (isinstance(provider, type) and issubclass(provider, SandboxProvider)):
            return True
    return False


@register(Tags.security)
def check_abuse(app_configs: Any = None, **kwargs: Any) -> list:
    """SPEC §10: spend capped, and a challenge that imports."""
    errors: list = []
    if flashcall_settings.DAILY_BUDGET is None and not settings.DEBUG and _pays_for_calls():
        errors.append(
            Warning(
                "FLASHCALL_DAILY_BUDGET is not set: nothing caps what calls cost the site "
                "in a day, whoever asks for them.",
                hint="Set FLASHCALL_DAILY_BUDGET to about twice the calls of your busiest "
                "day (see the docs' security page), and a FLASHCALL_CHALLENGE so that "
                "pumping is stopped long before it.",
                id="django_flashcall.W013",
            )
        )
    path = flashcall_settings.CHALLENGE
    if isinstance(path, str) and path:
        try:
            challenge = import_string(path)
        except ImportError as exc:
            challenge, problem = None, f"cannot be imported ({type(exc).__name__})"
        else:
            problem = "is not callable"
        if not callable(challenge):
            errors.append(
                Error(
                    f"FLASHCALL_CHALLENGE {path!r} {problem}.",
                    hint="The dotted path of a callable(request, phone, value) -> bool, "
                    "e.g. one that checks a CAPTCHA token.",
                    id="django_flashcall.E013",
                )
            )
    return errors
