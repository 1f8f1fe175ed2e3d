"""Confirms by phone alone (SPEC §10): bounded without hurting the owner.

Whoever knows a phone number can send ``{"phone": ..., "code": ...}``. If
those guesses counted like the owner's, three of them would kill the owner's
live code and ten would lock the phone for a day. The owner's confirms carry
the attempt (the API's ``attempt_id``, the pages' session); a confirm by
phone alone may come from anyone, so it gets:

* **one check per attempt**, never the attempt's last one, and decided
  before the code is compared (a confirm that may not try is not compared):
  the owner keeps ``FLASHCALL_MAX_CHECKS - 1`` tries (at least one) whatever
  strangers send;
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

from typing import Any

from django.db.models import F

from ..conf import flashcall_settings
from ..internal.prepared import PreparedUpdate
from ..models import CallAttempt, Status

# Prepared once (internal/prepared.py): the confirm path builds no ORM query.
# Both are conditional on what may be tried by phone alone, so concurrent
# confirms by phone alone get one guess between them even where
# ``SELECT ... FOR UPDATE`` is a no-op (SQLite).
_TRYABLE = {"status": Status.PENDING, "phone_only_checks": 0}
# A wrong code by phone alone: it takes the attempt's phone-alone check.
_TAKE = PreparedUpdate(
    lambda pk, most: (
        CallAttempt.objects.filter(pk=pk, checks_used__lte=most, **_TRYABLE),
        {"checks_used": F("checks_used") + 1, "phone_only_checks": F("phone_only_checks") + 1},
    ),
    CallAttempt,
    pk="pk",
    most="checks_used",
)
# A right code by phone alone: verified in one statement, under the same
# condition as the check it would have taken (nothing taken, nothing given back).
_VERIFY = PreparedUpdate(
    lambda pk, most, at, user: (
        CallAttempt.objects.filter(pk=pk, checks_used__lte=most, **_TRYABLE),
        {"status": Status.VERIFIED, "verified_at": at, "user_id": user},
    ),
    CallAttempt,
    pk="pk",
    most="checks_used",
    at="verified_at",
    user="user",
)


def may_try(attempt: CallAttempt, phone_only_failures: int) -> bool:
    """Whether a confirm by phone alone may be compared at all: the
    attempt's phone-alone check is unused, more than its last check is
    left, and the phone has not had too many wrong codes by phone alone
    today. Read from the locked row; :func:`take_check` and
    :func:`verify` repeat the row's part as the condition of their write."""
    return (
        phone_only_failures < flashcall_settings.PHONE_MAX_FAILURES
        and attempt.phone_only_checks == 0
        and attempt.checks_used <= _most()
    )


def take_check(attempt: CallAttempt) -> bool:
    """Count a wrong code by phone alone; False if a concurrent confirm
    changed the attempt since it was read (nothing counted)."""
    taken = _TAKE.run(pk=attempt.pk, most=_most())
    if taken:
        attempt.checks_used += 1
        attempt.phone_only_checks += 1
    return bool(taken)


def verify(attempt: CallAttempt, at: Any, user_pk: Any) -> bool:
    """Mark the attempt verified by a right code by phone alone; False if a
    concurrent confirm changed it since it was read (then it answers as a
    check that could not be taken: the outcome tells nothing of the code)."""
    return bool(_VERIFY.run(pk=attempt.pk, most=_most(), at=at, user=user_pk))


def _most() -> int:
    """The most checks an attempt may have used for one by phone alone:
    never its last one."""
    return flashcall_settings.MAX_CHECKS - 2
