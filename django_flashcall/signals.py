"""Signals sent by the services. Receivers get the ``attempt`` and ``request``.

- ``code_requested``: a call was placed (``attempt.status == "pending"``).
- ``code_verified``: the right code was entered; also sends ``user`` (or None).
- ``code_failed``: a request was refused or failed, or a confirm failed;
  also sends ``error`` (the :class:`~django_flashcall.exceptions.FlashCallError`).
"""

from django.dispatch import Signal

code_requested = Signal()
code_verified = Signal()
code_failed = Signal()
