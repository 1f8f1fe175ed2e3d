"""Race-freedom (SPEC §6), with real threads against PostgreSQL row locks.

Each thread has its own database connection (closed at its end); a barrier
releases them together. SQLite serialises writers, so these run on
PostgreSQL only (``FLASHCALL_TEST_DB=postgres``, see scripts/runtests.py).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test import Client

from django_flashcall.exceptions import (
    InvalidCode,
    NoActiveAttempt,
    RateLimited,
    TooManyAttempts,
)
from django_flashcall.models import CallAttempt, PhoneNumber
from django_flashcall.services import confirm_code, request_code
from tests.helpers import use_scripted, wrong

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "79244501003"
API_REQUEST = "/api/flashcall/request/"
PAGE_LOGIN = "/accounts/phone/"
User = get_user_model()


def post_phone(client: Client, path: str) -> Any:
    if path == API_REQUEST:
        return client.post(path, {"phone": PHONE}, content_type="application/json")
    return client.post(path, {"phone": PHONE})


def together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released at once; results or exceptions."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def kinds(results: list[Any]) -> Counter:
    return Counter(type(r).__name__ for r in results)


def test_database_is_postgresql():
    assert connection.vendor == "postgresql"


@pytest.mark.parametrize("threads", [8, 16])
def test_concurrent_right_codes_verify_exactly_once(flashcall_outbox, threads):
    attempt = request_code(PHONE)
    held = str(attempt.public_id)
    code = flashcall_outbox[-1].code

    results = together(threads, lambda i: confirm_code(PHONE, code, attempt_id=held))

    assert kinds(results) == {"CallAttempt": 1, "NoActiveAttempt": threads - 1}
    (winner,) = [r for r in results if isinstance(r, CallAttempt)]
    assert winner.pk == attempt.pk
    stored = CallAttempt.objects.get(pk=attempt.pk)
    assert stored.status == "verified" and stored.checks_used == 0
    assert User.objects.count() == 1  # one account, not one per thread
    assert PhoneNumber.objects.get(phone=PHONE).user == winner.user


def test_concurrent_right_codes_by_attempt_id_verify_exactly_once(flashcall_outbox):
    attempt = request_code(PHONE)
    code = flashcall_outbox[-1].code
    results = together(10, lambda i: confirm_code(attempt_id=str(attempt.public_id), code=code))
    assert kinds(results) == {"CallAttempt": 1, "NoActiveAttempt": 9}


@pytest.mark.parametrize("max_checks", [3, 5])
def test_concurrent_wrong_guesses_never_exceed_max_checks(flashcall_outbox, settings, max_checks):
    settings.FLASHCALL_MAX_CHECKS = max_checks
    attempt = request_code(PHONE)
    held = str(attempt.public_id)
    code = flashcall_outbox[-1].code

    results = together(20, lambda i: confirm_code(PHONE, wrong(code), attempt_id=held))

    assert kinds(results) == {"InvalidCode": max_checks, "TooManyAttempts": 20 - max_checks}
    left = sorted(r.extra["attempts_left"] for r in results if isinstance(r, InvalidCode))
    assert left == list(range(max_checks))  # each count handed out once
    stored = CallAttempt.objects.get(pk=attempt.pk)
    assert stored.checks_used == max_checks
    assert stored.status == "exhausted"
    with pytest.raises(TooManyAttempts):
        confirm_code(PHONE, code, attempt_id=held)


def test_concurrent_right_and_wrong_codes_keep_the_invariants(flashcall_outbox):
    attempt = request_code(PHONE)
    held = str(attempt.public_id)
    code = flashcall_outbox[-1].code

    results = together(
        12, lambda i: confirm_code(PHONE, code if i % 2 else wrong(code), attempt_id=held)
    )

    counts = kinds(results)
    assert counts["CallAttempt"] <= 1
    assert counts["InvalidCode"] <= 3
    assert set(counts) <= {"CallAttempt", "InvalidCode", "NoActiveAttempt", "TooManyAttempts"}
    stored = CallAttempt.objects.get(pk=attempt.pk)
    assert stored.checks_used <= 3
    assert (stored.status == "verified") == (counts["CallAttempt"] == 1)


def test_concurrent_requests_for_one_phone_place_one_call(flashcall_outbox):
    spellings = ["+7 (924) 450-10-03", "89244501003", "9244501003", "79244501003"]

    results = together(8, lambda i: request_code(spellings[i % 4]))

    assert len(flashcall_outbox) == 1
    assert kinds(results) == {"CallAttempt": 1, "RateLimited": 7}
    assert CallAttempt.objects.filter(status="pending").count() == 1
    assert CallAttempt.objects.filter(status="refused").count() == 7
    assert all(r.retry_after >= 1 for r in results if isinstance(r, RateLimited))


def test_concurrent_requests_never_pass_the_site_budget(flashcall_outbox, settings):
    settings.FLASHCALL_DAILY_BUDGET = 3

    results = together(10, lambda i: request_code(f"7916{i:07d}"))

    calls = len(flashcall_outbox)
    assert 1 <= calls <= 3
    assert kinds(results) == {"CallAttempt": calls, "RateLimited": 10 - calls}
    assert {r.reason for r in results if isinstance(r, RateLimited)} == {"daily_budget"}
    assert CallAttempt.objects.filter(status="pending").count() == calls
    assert CallAttempt.objects.filter(status="refused", reason="daily_budget").count() == 10 - calls


def test_concurrent_requests_never_pass_the_budget(flashcall_outbox, settings):
    # Waves of requests: however they interleave, the total never passes the budget.
    settings.FLASHCALL_DAILY_BUDGET = 5
    for wave in range(3):
        together(8, lambda i, wave=wave: _try_request(f"791{wave}{i:07d}"))
        assert len(flashcall_outbox) <= 5
    assert CallAttempt.objects.filter(status="pending").count() == len(flashcall_outbox)


def _try_request(number: str) -> Any:
    try:
        return request_code(number)
    except RateLimited as error:
        return error


def test_phone_lock_holds_under_concurrent_wrong_guesses(flashcall_outbox, settings):
    settings.FLASHCALL_PHONE_MAX_FAILURES = 4
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    held = str(request_code(PHONE).public_id)
    for _ in range(3):  # 3 of the phone's 4 wrong codes, on a first attempt
        with pytest.raises(InvalidCode):
            confirm_code(PHONE, wrong(flashcall_outbox[-1].code), attempt_id=held)
    attempt = request_code(PHONE)  # a new call does not reset the phone's count
    held = str(attempt.public_id)
    code = flashcall_outbox[-1].code

    results = together(12, lambda i: confirm_code(PHONE, wrong(code), attempt_id=held))

    # One wrong code was left to the phone: exactly one may be counted.
    assert kinds(results) == {"InvalidCode": 1, "TooManyAttempts": 11}
    assert CallAttempt.objects.get(pk=attempt.pk).checks_used == 1
    with pytest.raises(TooManyAttempts):
        confirm_code(PHONE, code, attempt_id=held)


def test_no_active_attempt_is_what_losers_see(flashcall_outbox):
    held = str(request_code(PHONE).public_id)
    code = flashcall_outbox[-1].code
    confirm_code(PHONE, code, attempt_id=held)
    results = together(8, lambda i: confirm_code(PHONE, code, attempt_id=held))
    assert all(isinstance(r, NoActiveAttempt) for r in results)


def test_concurrent_guesses_by_phone_alone_get_one_check(flashcall_outbox):
    # Confirms by phone alone may be anyone's: one check per call between
    # them, never more, and the owner's code stays live (SPEC §10).
    attempt = request_code(PHONE)
    code = flashcall_outbox[-1].code

    results = together(16, lambda i: confirm_code(PHONE, wrong(code)))

    assert kinds(results) == {"InvalidCode": 1, "TooManyAttempts": 15}
    stored = CallAttempt.objects.get(pk=attempt.pk)
    assert (stored.status, stored.checks_used, stored.phone_only_checks) == ("pending", 1, 1)
    assert confirm_code(PHONE, code, attempt_id=str(attempt.public_id)).pk == attempt.pk


# --------------------------------------------------------------------------- ATOMIC_REQUESTS


@pytest.fixture
def atomic_requests():
    """A site with ``ATOMIC_REQUESTS``: every view runs in a transaction,
    unless it is ``non_atomic_requests`` (as ours are)."""
    settings_dict = connection.settings_dict
    saved = settings_dict.get("ATOMIC_REQUESTS", False)
    settings_dict["ATOMIC_REQUESTS"] = True
    yield
    settings_dict["ATOMIC_REQUESTS"] = saved


@pytest.mark.parametrize("path", [API_REQUEST, PAGE_LOGIN])
def test_atomic_requests_cannot_hide_a_call_in_flight(atomic_requests, settings, path):
    """While one call is in flight, a second request for the phone from
    another connection must see its row and be refused by the cooldown."""
    scripted = use_scripted(settings)
    second: list[int] = []

    def another_worker() -> None:
        def run() -> None:
            try:
                second.append(post_phone(Client(REMOTE_ADDR="10.0.0.2"), path).status_code)
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=60)

    scripted.during_call = another_worker
    first = post_phone(Client(REMOTE_ADDR="10.0.0.1"), path)

    assert first.status_code in (201, 302)
    assert scripted.calls == [PHONE]  # one paid call, not two
    assert CallAttempt.objects.filter(status="refused", reason="cooldown").count() == 1
    assert second and second[0] in (429, 200)  # the API's 429; the page shows the error


def test_request_code_inside_a_transaction_is_refused(settings):
    scripted = use_scripted(settings)
    with pytest.raises(TransactionManagementError), transaction.atomic():
        request_code(PHONE)
    assert scripted.calls == [] and not CallAttempt.objects.exists()
