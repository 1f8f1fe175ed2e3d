"""Confirms by phone alone (SPEC §10): bounded without hurting the owner.

Whoever knows a phone number can send ``{"phone": ..., "code": ...}``. If
those guesses counted like the owner's, three of them would kill the owner's
live code and ten would lock the phone for a day. The owner's confirms carry
the attempt (the API's ``attempt_id``, the pages' session); a confirm by
phone alone may come from anyone, so it gets:

* **one check per attempt**, taken before the code is compared, and never
  the attempt's last one: the owner keeps ``FLASHCALL_MAX_CHECKS - 1`` tries
  (at least one) whatever strangers send;
* **no part in the phone's lock**: its wrong codes are counted apart
  (``phone_only_checks``) and, past ``FLASHCALL_PHONE_MAX_FAILURES`` in a
  day, only stop further confirms by phone alone.

Why not simply a separate pool of ``FLASHCALL_MAX_CHECKS`` checks for them:
whoever asked for the call holds its ``attempt_id`` and could use both pools,
so an attacker who asks for calls to a victim's phone would get twice the
guesses per call. Here the two together never exceed ``FLASHCALL_MAX_CHECKS``
(the phone-alone check is one of them), so guesses per placed call do not
grow; for someone who knows only the number they shrink from three to one.
"""

from __future__ import annotations

from django.db.models import F

from ..conf import flashcall_settings
from ..internal.prepared import PreparedUpdate
from ..models import CallAttempt, Status

# Prepared once (internal/prepared.py): the confirm path builds no ORM query.
_TAKE = PreparedUpdate(
    lambda pk, most: (
        CallAttempt.objects.filter(
            pk=pk, status=Status.PENDING, phone_only_checks=0, checks_used__lte=most
        ),
        {"checks_used": F("checks_used") + 1, "phone_only_checks": F("phone_only_checks") + 1},
    ),
    CallAttempt,
    pk="pk",
    most="checks_used",
)
# A right code by phone alone: verified, and the check taken is given back.
VERIFY_BY_PHONE = PreparedUpdate(
    lambda pk, at, user: (
        CallAttempt.objects.filter(pk=pk, status=Status.PENDING),
        {
            "status": Status.VERIFIED,
            "verified_at": at,
            "user_id": user,
            "checks_used": F("checks_used") - 1,
            "phone_only_checks": 0,
        },
    ),
    CallAttempt,
    pk="pk",
    at="verified_at",
    user="user",
)


def take_phone_only_check(attempt: CallAttempt, phone_only_failures: int) -> bool:
    """Count a confirm by phone alone as a wrong code, before comparing it.

    False (nothing counted, nothing compared) if it may not be tried: the
    attempt's phone-alone check is used, only its last check is left, or the
    phone had too many wrong codes by phone alone today. One conditional
    UPDATE, so concurrent confirms by phone alone get one guess between them
    even where ``SELECT ... FOR UPDATE`` is a no-op (SQLite). The caller
    gives the check back if the code turns out right (:data:`VERIFY_BY_PHONE`).
    """
    if phone_only_failures >= flashcall_settings.PHONE_MAX_FAILURES:
        return False
    taken = _TAKE.run(pk=attempt.pk, most=flashcall_settings.MAX_CHECKS - 2)
    if taken:
        attempt.checks_used += 1
        attempt.phone_only_checks += 1
    return bool(taken)
