"""The sentence a limit's refusal carries: the one its reason has, or the
one given, whole (SPEC §4 ``detail``)."""

from __future__ import annotations

from django_flashcall.exceptions import LIMIT_DETAILS, RateLimited
from django_flashcall.models import Reason


def test_a_refusal_says_what_its_reason_says():
    error = RateLimited(retry_after=30, reason=Reason.COOLDOWN)
    assert str(error.detail) == str(LIMIT_DETAILS["cooldown"])
    assert (error.retry_after, error.reason) == (30, "cooldown")


def test_a_given_sentence_is_kept_whatever_the_reason():
    error = RateLimited("Calls to this range are paused.", retry_after=0.2, reason=Reason.COOLDOWN)
    assert str(error.detail) == "Calls to this range are paused."
    assert error.retry_after == 1  # never "retry after 0 s"
    assert error.reason == "cooldown"
