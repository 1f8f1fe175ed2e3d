"""internal/budget.py: the site budget's running count is the rows' count.

Each test checks the ledger against a plain count of the rows
(``created_at >= at - 24 h``, ``called_q``): at the window's edge to the
microsecond, across a failure that gives its reservation back, across the
cleanup's deletions, and for rows written without the ledger.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from django_flashcall.exceptions import ProviderUnavailable, RateLimited
from django_flashcall.internal import budget
from django_flashcall.models import BudgetLedger, CallAttempt, Status, called_q
from django_flashcall.providers import ProviderError
from django_flashcall.services import delete_before, request_code
from tests.conftest import on_postgres
from tests.helpers import phone, use_failing

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def rows_count(at) -> int:
    return CallAttempt.objects.filter(called_q(), created_at__gte=at - DAY).count()


def assert_ledger_exact(at) -> None:
    assert budget.window_calls(at) == rows_count(at)


def test_the_window_is_24_hours_to_the_microsecond(outbox, clock, settings):
    settings.FLASHCALL_DAILY_BUDGET = 2
    start = clock.current
    request_code(phone(1))
    clock.advance(10)
    request_code(phone(2))

    clock.current = start + DAY  # the first call is exactly 24 h old: still in
    with pytest.raises(RateLimited) as info:
        request_code(phone(3))
    assert (info.value.reason, info.value.retry_after) == ("daily_budget", 1)
    clock.advance(microseconds=1)  # now it is out
    request_code(phone(3))
    with pytest.raises(RateLimited) as info:
        request_code(phone(4))
    assert info.value.retry_after == 10  # phone(2)'s call leaves 10 s later
    assert len(outbox) == 3
    assert_ledger_exact(clock.current)


def test_a_failure_that_placed_no_call_gives_the_reservation_back(scripted, clock, settings):
    settings.FLASHCALL_DAILY_BUDGET = 2
    seen = {}

    def meanwhile():
        # Another request while phone(1)'s call is in flight: it counts the
        # reservation (the ledger now holds it), and takes the second place.
        request_code(phone(2))
        seen["calls"] = budget.window_calls(clock.current)
        # Then phone(1)'s provider refuses the connection.
        scripted.failure = ProviderError("connection", "connection refused")

    scripted.during_call = meanwhile
    with pytest.raises(ProviderUnavailable):
        request_code(phone(1))
    assert seen == {"calls": 2}
    assert CallAttempt.objects.get(phone=phone(1)).status == Status.FAILED
    # The refused connection surely placed no call: its place is free again.
    assert budget.window_calls(clock.current) == 1
    scripted.failure = None
    request_code(phone(3))
    with pytest.raises(RateLimited):
        request_code(phone(4))
    assert_ledger_exact(clock.current)


def test_a_failure_that_may_have_placed_a_call_keeps_it(settings, clock):
    settings.FLASHCALL_DAILY_BUDGET = 1
    use_failing(settings, "timeout")
    with pytest.raises(ProviderUnavailable):
        request_code(phone(1))
    with pytest.raises(RateLimited) as info:
        request_code(phone(2))
    assert info.value.reason == "daily_budget"
    assert_ledger_exact(clock.current)


def test_not_placed_failures_never_spend_the_budget(settings, clock):
    settings.FLASHCALL_DAILY_BUDGET = 1
    use_failing(settings, "connection")
    for i in range(3):
        with pytest.raises(ProviderUnavailable):
            request_code(phone(i))
    assert budget.window_calls(clock.current) == 0
    assert_ledger_exact(clock.current)


def test_cleanup_deletes_without_changing_the_count(outbox, clock, settings):
    settings.FLASHCALL_DAILY_BUDGET = 100
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    for i in range(6):  # calls every 12 h; the clock ends 72 h after the first
        request_code(phone(i))
        clock.advance(hours=12)
    assert_ledger_exact(clock.current)
    deleted, _ = delete_before(clock.current - DAY - timedelta(hours=1))
    assert deleted == 4  # the calls of 0, 12, 24 and 36 h ago
    assert_ledger_exact(clock.current)
    clock.advance(hours=13)
    request_code(phone(10))
    assert_ledger_exact(clock.current)


def test_deleting_calls_of_the_last_24_hours_recounts(outbox, clock, settings):
    settings.FLASHCALL_DAILY_BUDGET = 3
    for i in range(3):
        request_code(phone(i))
        clock.advance(60)
    delete_before(clock.current - timedelta(seconds=90))  # two calls of the window
    assert_ledger_exact(clock.current)
    request_code(phone(5))
    request_code(phone(6))
    with pytest.raises(RateLimited):
        request_code(phone(7))


def test_rows_written_without_the_ledger_are_counted(outbox, clock, settings):
    # A process without the budget, an import, a test: rows the ledger did
    # not write still count, found by id.
    settings.FLASHCALL_DAILY_BUDGET = 3
    request_code(phone(1))
    CallAttempt.objects.bulk_create(
        [
            CallAttempt(phone=phone(2), status=Status.VERIFIED, created_at=clock.current),
            CallAttempt(phone=phone(3), status=Status.REFUSED, created_at=clock.current),
            CallAttempt(
                phone=phone(4), status=Status.FAILED, reason="connection", created_at=clock.current
            ),
        ]
    )
    request_code(phone(5))
    with pytest.raises(RateLimited):
        request_code(phone(6))
    assert_ledger_exact(clock.current)


def test_a_request_whose_clock_lags_counts_the_gap(outbox, clock, settings):
    settings.FLASHCALL_DAILY_BUDGET = 2
    start = clock.current
    request_code(phone(1))
    clock.current = start + DAY + timedelta(seconds=5)
    budget.window_calls(clock.current)  # the ledger sweeps past phone(1)'s call
    # A request that took its time before the lock sees phone(1)'s call in its window.
    lagging = start + DAY - timedelta(seconds=1)
    assert budget.window_calls(lagging) == 1 == rows_count(lagging)


def test_recount_starts_over_from_the_rows(outbox, clock, settings):
    settings.FLASHCALL_DAILY_BUDGET = 5
    request_code(phone(1))
    BudgetLedger.objects.update(calls=40)  # a ledger gone wrong (say, rows deleted by hand)
    assert budget.recount(clock.current) == 1
    assert_ledger_exact(clock.current)


@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="PostgreSQL only")
def test_exact_among_a_million_calls(outbox, clock, settings):
    """A million calls of the last 24 h, written by one INSERT … SELECT; the
    budget still refuses at exactly its size, and frees exactly the calls
    that leave the window."""
    n = 1_000_000
    at = clock.current
    with connection.cursor() as cursor:
        # Call i at at - 24 h + 1 s + i × 80 ms: the oldest leaves the window 1 s from now.
        cursor.execute(
            f"""INSERT INTO {CallAttempt._meta.db_table}
                (public_id, phone, channel, sms_fallback, status, reason, error, code_hash,
                 provider_id, checks_used, phone_only_checks, user_agent, created_at,
                 delivery_info, provider, failed_before)
            SELECT gen_random_uuid(), '79' || lpad(g::text, 9, '0'), 'call', false,
                   'verified', '', '', '', '', 0, 0, '',
                   %s::timestamptz + (g * interval '80 milliseconds'), '', 'telefonip', ''
            FROM generate_series(0, %s) AS g""",
            [at - DAY + timedelta(seconds=1), n - 1],
        )
    settings.FLASHCALL_DAILY_BUDGET = n + 2
    request_code(phone(1))  # the first request counts the day once
    request_code(phone(2))
    with pytest.raises(RateLimited) as info:
        request_code(phone(3))
    assert info.value.retry_after == 1
    clock.advance(seconds=1, milliseconds=200)  # calls 0, 1 and 2 leave: exactly three places
    for i in range(3):
        request_code(phone(10 + i))
    with pytest.raises(RateLimited):
        request_code(phone(20))
    assert budget.window_calls(clock.current) == n + 2 == rows_count(clock.current)


def test_test_numbers_spend_nothing(outbox, clock, settings):
    settings.FLASHCALL_DAILY_BUDGET = 1
    settings.FLASHCALL_TEST_NUMBERS = {"79000000000": "1234"}
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    for _ in range(2):
        request_code("79000000000")  # no call placed: the budget is untouched
    request_code(phone(1))
    with pytest.raises(RateLimited):
        request_code(phone(2))
    assert budget.window_calls(clock.current) == 1
