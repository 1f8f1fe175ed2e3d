"""django-allauth (≥ 65.13): phone login and signup verified by flash call.

Mix :class:`FlashCallAdapterMixin` into the site's ``ACCOUNT_ADAPTER``::

    from allauth.account.adapter import DefaultAccountAdapter
    from django_flashcall.contrib.allauth import FlashCallAdapterMixin

    class AccountAdapter(FlashCallAdapterMixin, DefaultAccountAdapter):
        pass
"""

from .adapter import FlashCallAccountAdapter, FlashCallAdapterMixin
from .fields import FlashCallPhoneField

__all__ = ["FlashCallAccountAdapter", "FlashCallAdapterMixin", "FlashCallPhoneField"]
