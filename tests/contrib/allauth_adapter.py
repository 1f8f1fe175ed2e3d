from allauth.account.adapter import DefaultAccountAdapter

from django_flashcall.contrib.allauth import FlashCallAdapterMixin


class AccountAdapter(FlashCallAdapterMixin, DefaultAccountAdapter):
    """What a site with its own adapter writes (SPEC §9)."""
