"""``{% sandbox_call phone as call %}``: the newest simulated call to ``phone``.

Only with the SandboxProvider (no real call is made, so the demo may show
the caller number on screen); None with a real provider.
"""

from django import template
from django.utils.module_loading import import_string

from django_flashcall.conf import flashcall_settings
from django_flashcall.phone import pretty
from django_flashcall.providers import SandboxProvider
from django_flashcall.providers.sandbox import SandboxCall

register = template.Library()


def sandbox_active() -> bool:
    try:
        provider = import_string(flashcall_settings.PROVIDER)
    except ImportError:
        return False
    return isinstance(provider, type) and issubclass(provider, SandboxProvider)


@register.simple_tag
def sandbox_call(phone: str) -> SandboxCall | None:
    if not phone or not sandbox_active():
        return None
    return SandboxProvider.last_call(phone)


@register.filter
def pretty_phone(stored: str) -> str:
    """``79241234567`` → ``+7 924 123-45-67``."""
    return pretty(stored)


@register.simple_tag(name="sandbox_active")
def sandbox_active_tag() -> bool:
    return sandbox_active()
