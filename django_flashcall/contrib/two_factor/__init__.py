"""django-two-factor-auth: a ``flashcall`` method in two-factor's registry.

Needs ``django_flashcall.contrib.otp`` (its device is ``FlashCallDevice``).
Add both apps to ``INSTALLED_APPS`` and include
``django_flashcall.contrib.two_factor.urls`` in place of two-factor's own
URLs (same names, same ``two_factor`` namespace; only the setup view
differs, see :mod:`.views`).
"""
