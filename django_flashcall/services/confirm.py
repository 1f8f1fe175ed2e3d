"""Confirming a code: one row lock, one counted check (SPEC §6)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Case, F, Value, When
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from .. import signals
from ..conf import flashcall_settings
from ..exceptions import (
    CodeExpired,
    FlashCallError,
    InvalidCode,
    NoActiveAttempt,
    PhoneTaken,
    TooManyAttempts,
)
from ..internal import abuse, limits, server_prepared, users
from ..internal.cache import quietly
from ..internal.clock import now
from ..internal.codes import hash_code, locate, parse_code
from ..internal.prepared import PreparedSelect, PreparedUpdate, every_column
from ..models import CONFIRMABLE, CallAttempt, Reason, Status
from . import phone_only
from .common import client_fields, send_signal


def confirm_code(
    phone: str | None = None,
    code: str = "",
    *,
    attempt_id: str | uuid.UUID | None = None,
    request: HttpRequest | None = None,
    create_user: bool | None = None,
) -> CallAttempt:
    """Check ``code`` against the phone's newest attempt (or ``attempt_id``).

    Returns the verified attempt. Raises ``InvalidCode`` (with
    ``attempts_left``), ``CodeExpired``, ``TooManyAttempts``,
    ``NoActiveAttempt``, ``InvalidPhone`` or ``InvalidRequest``. The check is
    counted in the same transaction, under a row lock, as the comparison.

    ``create_user``: whether an unknown phone gets a new user; by default
    ``FLASHCALL_CREATE_USERS``, but never in ``FLASHCALL_LOGIN = "none"``.
    """
    if isinstance(attempt_id, uuid.UUID):
        attempt_id = str(attempt_id)
    where = locate(phone, attempt_id)
    current = client_fields(request).get("user")
    if create_user is None:
        create_user = bool(flashcall_settings.CREATE_USERS) and flashcall_settings.LOGIN != "none"
    for again in (True, False):
        steps: list[str] = []
        try:
            with transaction.atomic():
                attempt, error = _confirm_locked(
                    where, code, current, create_user, attempt_id is None, steps
                )
            break
        except DatabaseError as failure:
            # A server-side prepared statement lost in the transaction (a
            # pooler, a schema change) rolled it all back; the second run
            # prepares again or sends plain SQL. Not once a user was looked
            # up or made: save() receivers may have heard of it already.
            if not (again and server_prepared.lost(failure) and "user" not in steps):
                raise
    if error is not None:
        # Raised after the transaction commits: a counted wrong code must stick.
        send_signal(signals.code_failed, CallAttempt, attempt=attempt, request=request, error=error)
        raise error
    assert attempt is not None
    if abuse.enabled():
        at = attempt.verified_at or now()
        quietly(lambda: abuse.record_verified(attempt.phone, attempt.ip, at))
    send_signal(
        signals.code_verified, CallAttempt, attempt=attempt, request=request, user=attempt.user
    )
    return attempt


def _confirm_locked(
    where: dict[str, Any],
    raw_code: object,
    current: Any,
    create_user: bool,
    by_phone: bool,
    steps: list[str],
) -> tuple[CallAttempt | None, FlashCallError | None]:
    max_checks = flashcall_settings.MAX_CHECKS
    attempt = _NEWEST[tuple(sorted(where))].instance(**where)
    at = now()  # after the lock: a confirm that waited must not use a stale clock
    if attempt is None:
        return None, NoActiveAttempt()
    if attempt.status == Status.VERIFIED:
        return attempt, NoActiveAttempt()  # single use
    if attempt.status == Status.EXHAUSTED or attempt.checks_used >= max_checks:
        return attempt, TooManyAttempts()
    # A statement of its own, after the row lock: under READ COMMITTED it sees
    # the wrong codes that concurrent confirms committed while this one waited.
    phone = limits.phone_state(attempt.phone, at)
    if phone.failures >= flashcall_settings.PHONE_MAX_FAILURES and phone.oldest_failure:
        locked_for = limits.seconds_until(phone.oldest_failure + limits.DAY, at)
        return attempt, TooManyAttempts(reason=Reason.PHONE_LOCKED, retry_after=locked_for)
    # Expiry before comparison: an expired code is never compared.
    if attempt.status == Status.EXPIRED or attempt.is_expired_at(at):
        if attempt.status != Status.EXPIRED:
            _EXPIRE.run(pk=attempt.pk)
        return attempt, CodeExpired()
    code = parse_code(raw_code)
    if code is None:  # cannot be a guess: costs no check
        return attempt, InvalidCode(attempts_left=max_checks - attempt.checks_used)
    # By phone alone: maybe not the owner; one check, decided before comparing.
    if by_phone and not phone_only.may_try(attempt, phone.phone_only_failures):
        return attempt, TooManyAttempts(reason=Reason.PHONE_ONLY)
    if constant_time_compare(hash_code(attempt.public_id, code), attempt.code_hash):
        steps.append("user")  # what follows may write and signal
        try:
            user = users.resolve(attempt.phone, current, create=create_user)
        except PhoneTaken as error:
            return attempt, error
        user_pk = user.pk if user is not None else None
        # Conditional writes: of N concurrent right codes exactly one wins,
        # even where SELECT ... FOR UPDATE is a no-op (SQLite).
        if by_phone:
            if not phone_only.verify(attempt, at, user_pk):
                # As a check that could not be taken: tells nothing of the code.
                return attempt, TooManyAttempts(reason=Reason.PHONE_ONLY)
        elif not _VERIFY.run(pk=attempt.pk, at=at, user=user_pk):
            return attempt, NoActiveAttempt()
        attempt.status, attempt.verified_at, attempt.user = Status.VERIFIED, at, user
        return attempt, None
    if by_phone:  # no other try by phone alone for this call
        if not phone_only.take_check(attempt):
            return attempt, TooManyAttempts(reason=Reason.PHONE_ONLY)
        left = 0
    else:
        used = attempt.checks_used + 1
        counted = _COUNT_CHECK.run(pk=attempt.pk, max_checks=max_checks, last=max_checks - 1)
        if not counted:
            return attempt, TooManyAttempts()
        attempt.checks_used = used
        # SPEC §4: the attempt's own count (the phone's lock may come sooner).
        left = max(0, max_checks - used)
    # Only a phone called more than once can have an earlier code (no query otherwise).
    if phone.calls > 1 and _replaced_code(attempt, code):
        return attempt, InvalidCode(InvalidCode.replaced_detail, attempts_left=left)
    return attempt, InvalidCode(attempts_left=left)


def _replaced_code(attempt: CallAttempt, code: str) -> bool:
    """Whether ``code`` is that of an earlier call to the same phone, one
    that ``attempt`` replaced while it could still be live.

    Typing the previous call's code after "call me again" is a slip, not a
    guess: the person should hear that a newer call replaced it, not read
    it as a typo. It still counts as a wrong code (it is one for this call).
    """
    ttl = timedelta(seconds=flashcall_settings.CODE_TTL)
    earlier = (
        CallAttempt.objects.filter(
            phone=attempt.phone,
            status=Status.EXPIRED,
            created_at__lt=attempt.created_at,
            created_at__gte=attempt.created_at - ttl,
        )
        .exclude(code_hash="")
        .order_by("-created_at")
        .values_list("public_id", "code_hash")[:3]
    )
    return any(constant_time_compare(hash_code(pid, code), digest) for pid, digest in earlier)


# The statements of every confirm, compiled once (internal/prepared.py).


def _lock_newest(**where: Any) -> Any:
    return (
        CallAttempt.objects.select_for_update()
        .filter(status__in=CONFIRMABLE, **where)
        .order_by("-created_at")
        .values_list(*every_column(CallAttempt))[:1]
    )


# The newest confirmable attempt, locked: by phone, by id, or by both.
_NEWEST: dict[tuple[str, ...], PreparedSelect] = {
    key: PreparedSelect(_lock_newest, CallAttempt, for_write=True, **{k: k for k in key})
    for key in (("phone",), ("public_id",), ("phone", "public_id"))
}
# Conditional on PENDING: of N concurrent changes exactly one wins, even
# where SELECT ... FOR UPDATE is a no-op (SQLite).
_EXPIRE = PreparedUpdate(
    lambda pk: (
        CallAttempt.objects.filter(pk=pk, status=Status.PENDING),
        {"status": Status.EXPIRED},
    ),
    CallAttempt,
    pk="pk",
)
_VERIFY = PreparedUpdate(
    lambda pk, at, user: (
        CallAttempt.objects.filter(pk=pk, status=Status.PENDING),
        {"status": Status.VERIFIED, "verified_at": at, "user_id": user},
    ),
    CallAttempt,
    pk="pk",
    at="verified_at",
    user="user",
)
# The new status is computed from the row's own count, not from the one
# read: a check counted by someone else in between still exhausts at the max.
_COUNT_CHECK = PreparedUpdate(
    lambda pk, max_checks, last: (
        CallAttempt.objects.filter(pk=pk, status=Status.PENDING, checks_used__lt=max_checks),
        {
            "checks_used": F("checks_used") + 1,
            "status": Case(
                When(checks_used__gte=last, then=Value(Status.EXHAUSTED)),
                default=Value(Status.PENDING),
            ),
        },
    ),
    CallAttempt,
    pk="pk",
    max_checks="checks_used",
    last="checks_used",
)
