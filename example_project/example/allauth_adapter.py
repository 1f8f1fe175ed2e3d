"""The allauth demo's account adapter: flash calls through the mixin.

A site with its own adapter adds ``FlashCallAdapterMixin`` in front of its
base class, as here; a site without one can point ``ACCOUNT_ADAPTER`` at
``django_flashcall.contrib.allauth.FlashCallAccountAdapter``.
"""

from allauth.account.adapter import DefaultAccountAdapter

from django_flashcall.contrib.allauth import FlashCallAdapterMixin


class AccountAdapter(FlashCallAdapterMixin, DefaultAccountAdapter):
    pass
