"""``CallAttempt``: one row per call placed or refused. ``PhoneNumber``: user ↔ phone."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .phone import mask


class Status(models.TextChoices):
    CALLING = "calling", _("calling")  # the provider is being asked right now
    PENDING = "pending", _("pending")  # call placed, code not yet confirmed
    VERIFIED = "verified", _("verified")  # the right code was entered (single use)
    EXPIRED = "expired", _("expired")  # TTL passed, or expired by staff
    EXHAUSTED = "exhausted", _("exhausted")  # FLASHCALL_MAX_CHECKS wrong codes
    FAILED = "failed", _("failed")  # the provider failed; maybe no call
    REFUSED = "refused", _("refused")  # a limit refused it; no call placed
    # Not a call: a marker staff leave to lift a phone's failure lock. Wrong
    # codes before it stop counting, as after a success; the evidence stays.
    UNLOCKED = "unlocked", _("unlocked by staff")


class Channel(models.TextChoices):
    CALL = "call", _("call")
    NONE = "none", _("none")  # refused before any channel was tried
    TEST = "test", _("test number")  # FLASHCALL_TEST_NUMBERS: no call, no spend


class Reason(models.TextChoices):
    """Why an attempt was refused or failed (``CallAttempt.reason``)."""

    COOLDOWN = "cooldown", _("resend cooldown")
    PHONE_DAILY = "phone_daily_limit", _("phone daily limit")
    PHONE_LOCKED = "phone_locked", _("phone locked after wrong codes")
    BUDGET = "daily_budget", _("site daily budget")
    BUSY = "concurrent_request", _("another request for this phone in flight")
    BREAKER_OPEN = "breaker_open", _("circuit breaker open")
    TIMEOUT = "timeout", _("provider timeout")
    CONNECTION = "connection", _("provider unreachable")
    SERVER_ERROR = "server_error", _("provider 5xx")
    UNAUTHORIZED = "unauthorized", _("provider rejected the token")
    NO_FUNDS = "no_funds", _("provider account out of money")
    BAD_RESPONSE = "bad_response", _("malformed provider answer")
    REJECTED = "rejected", _("provider refused the call")
    CACHE_DOWN = "cache_unavailable", _("shared cache unavailable")
    CHALLENGE = "challenge", _("challenge required or failed")
    RANGE_LIMIT = "range_limit", _("number range daily limit")
    PHONE_ONLY = "phone_only", _("no check left for confirms by phone alone")


# Attempts that did, or may have, placed a paid call: what the cooldown, the
# per-phone daily limit and the site budget count. A call in flight counts; a
# failure counts unless the provider surely placed no call (the connection
# was refused, the token was rejected, the account had no money), so an
# outage of the provider does not use up a user's daily calls. A refusal by
# the provider counts: it keeps a phone the provider caps from hammering it
# through our cooldown.
NOT_PLACED = (Reason.CONNECTION, Reason.UNAUTHORIZED, Reason.NO_FUNDS)
CALLED = (
    Status.CALLING,
    Status.PENDING,
    Status.VERIFIED,
    Status.EXPIRED,
    Status.EXHAUSTED,
    Status.FAILED,
)


def called_q() -> models.Q:
    """The ``CALLED`` attempts as a filter (failures that placed no call left out)."""
    return models.Q(status__in=CALLED) & ~models.Q(status=Status.FAILED, reason__in=NOT_PLACED)


# Attempts a confirm may be aimed at.
CONFIRMABLE = (Status.PENDING, Status.VERIFIED, Status.EXPIRED, Status.EXHAUSTED)


class CallAttemptQuerySet(models.QuerySet):
    def lapsed(self, at: datetime) -> CallAttemptQuerySet:
        """Pending attempts whose code's TTL has passed."""
        return self.filter(status=Status.PENDING, expires_at__lte=at)

    def expire(self) -> int:
        """Expire the pending attempts among these; return how many."""
        return self.filter(status=Status.PENDING).update(status=Status.EXPIRED)


class CallAttempt(models.Model):
    public_id = models.UUIDField(_("attempt id"), default=uuid.uuid4, unique=True, editable=False)
    phone = models.CharField(_("phone"), max_length=11)
    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.CALL
    )
    sms_fallback = models.BooleanField(_("SMS fallback"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices, blank=True)
    error = models.CharField(_("error detail"), max_length=255, blank=True)
    # HMAC-SHA256 of the code keyed with SECRET_KEY; the code itself is never stored.
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    # The FLASHCALL_PROVIDERS name of the provider that placed the call (or
    # failed last), and of those that failed before it on the same request.
    provider = models.CharField(_("provider"), max_length=32, blank=True)
    failed_before = models.CharField(_("providers failed before"), max_length=100, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=64, blank=True)
    checks_used = models.PositiveSmallIntegerField(_("wrong codes"), default=0)
    # Those of ``checks_used`` sent by phone alone (no attempt id, no page
    # session): at most one per attempt, never its last check, and not
    # counted toward the phone's lock (services.confirm_code says why).
    phone_only_checks = models.PositiveSmallIntegerField(_("wrong codes by phone alone"), default=0)
    ip = models.GenericIPAddressField(_("client IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    # Filled later from the provider's get_status (flashcall_sync_status).
    delivery_status = models.BooleanField(_("delivered"), null=True, blank=True)
    delivery_info = models.CharField(_("delivery info"), max_length=255, blank=True)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=4, null=True, blank=True)
    status_checked_at = models.DateTimeField(_("status checked"), null=True, blank=True)

    objects = CallAttemptQuerySet.as_manager()

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        ordering = ["-created_at"]
        indexes = [
            # request: the phone's last 24 h; confirm: its newest attempt.
            models.Index(fields=["phone", "-created_at"], name="flashcall_phone_created"),
            # site budget, monitoring by day, cleanup by age.
            models.Index(fields=["created_at", "status"], name="flashcall_created_status"),
            # monitoring: the pending attempts whose code is still live at a
            # moment; cleanup: the lapsed ones. Few rows: pending is short-lived.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="pending"),
                name="flashcall_pending_expiry",
            ),
            # monitoring's top phones and IPs: only the refused and wrong-code
            # rows, with what the grouping reads (an index-only scan on
            # PostgreSQL; other databases ignore INCLUDE).
            models.Index(
                fields=["created_at"],
                include=["phone", "ip", "status", "checks_used"],
                condition=models.Q(status="refused") | models.Q(checks_used__gt=0),
                name="flashcall_noisy_created",
            ),
        ]

    def __str__(self) -> str:
        # Masked like the admin's list: the change page's title, breadcrumbs
        # and admin log show it to staff who may not see the whole phone.
        return f"{mask(self.phone)} {self.status}"

    def is_expired_at(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at


class PhoneNumber(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="flashcall_phones",
    )
    phone = models.CharField(_("phone"), max_length=11, unique=True)
    verified_at = models.DateTimeField(_("verified"), default=timezone.now)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")

    def __str__(self) -> str:
        return self.phone


class BudgetLedger(models.Model):
    """The site budget's running count (one row; see ``internal.budget``)."""

    calls = models.BigIntegerField(default=0)  # counted calls created at or after swept_to
    swept_to = models.DateTimeField()  # the window's lower edge when last brought up to date
    last_id = models.BigIntegerField(default=0)  # the highest attempt id looked at

    class Meta:
        verbose_name = "budget ledger"  # internal: not shown to staff

    def __str__(self) -> str:
        return f"{self.calls} calls since {self.swept_to:%Y-%m-%d %H:%M:%S}"


class CallCount(models.Model):
    """Attempts per 15-minute slot, status, reason, provider and the
    providers that failed before it (failover), kept equal to the attempt
    rows by database triggers (see ``monitoring.counts``)."""

    slot = models.BigIntegerField()  # floor(created_at as Unix time / 900), UTC
    status = models.CharField(max_length=10)
    reason = models.CharField(max_length=24, blank=True)
    provider = models.CharField(max_length=32, blank=True)
    failed_before = models.CharField(max_length=100, blank=True)
    n = models.BigIntegerField(default=0)
    wrong = models.BigIntegerField(default=0)  # sum of checks_used
    spend = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    priced = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    undelivered = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "call count"  # internal: not shown to staff
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "status", "reason", "provider", "failed_before"],
                name="flashcall_count_key",
            )
        ]

    def __str__(self) -> str:
        return f"slot {self.slot} {self.status} {self.reason} {self.provider}: {self.n}"


class OffenderCount(models.Model):
    """Refusals and wrong codes per phone or IP and UTC hour or day, kept
    equal to the attempt rows by PostgreSQL triggers (see
    ``monitoring.offender_counts``). Only noisy rows write here."""

    kind = models.CharField(max_length=5)  # "phone" or "ip"
    key = models.CharField(max_length=45)  # the phone, or the IP as text
    hours = models.PositiveSmallIntegerField()  # the bucket's length: 1 or 24
    start = models.BigIntegerField()  # the bucket's start, in hours since the Unix epoch
    refused = models.BigIntegerField(default=0)
    wrong = models.BigIntegerField(default=0)  # sum of checks_used
    score = models.BigIntegerField(default=0)  # refused + wrong

    class Meta:
        verbose_name = "offender count"  # internal: not shown to staff
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key", "hours", "start"], name="flashcall_offender_key"
            )
        ]
        indexes = [
            # A bucket's keys by score: its top few, or all above a threshold.
            models.Index(
                fields=["kind", "hours", "start", "-score"],
                include=["key"],
                name="flashcall_offender_top",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} {self.hours}h@{self.start}: {self.score}"
