"""django-otp: ``FlashCallDevice``, a second factor answered by flash call.

Add ``"django_otp"`` and ``"django_flashcall.contrib.otp"`` to
``INSTALLED_APPS`` and migrate. See :mod:`.models`.
"""
