"""``{% sandbox_last_call as call %}``: the demo server's newest simulated call.

For the allauth and two-factor demos (settings_allauth, settings_two_factor),
whose pages are the packages' own and do not know the phone being called.
Only with the SandboxProvider, which places no real call; None otherwise.
"""

from django import template

from django_flashcall.providers import SandboxProvider
from django_flashcall.providers.sandbox import SandboxCall

from .sandbox import sandbox_active

register = template.Library()


@register.simple_tag
def sandbox_last_call() -> SandboxCall | None:
    return SandboxProvider.last_call() if sandbox_active() else None
