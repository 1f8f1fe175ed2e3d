"""providers/sandbox.py: the demo's simulated call looks like a real one."""

from __future__ import annotations

import re

from django_flashcall.providers import SandboxProvider
from django_flashcall.providers.sandbox import CALLER_PREFIXES, fake_caller

PLAUSIBLE = re.compile("7(?:" + "|".join(CALLER_PREFIXES) + r")[2-9]\d{6}")


def test_fake_callers_are_plausible_russian_numbers():
    callers = [fake_caller() for _ in range(500)]
    for caller in callers:
        assert PLAUSIBLE.fullmatch(caller), caller  # not "+7 098 ..."
    # The code (last 4 digits) stays uniformly random: every digit shows up in
    # every position (a miss has odds of about 10**-22 over 500 draws).
    for position in range(-4, 0):
        assert {c[position] for c in callers} == set("0123456789")


def test_send_gives_the_callers_last_4_digits(flashcall_outbox):
    result = SandboxProvider().send("79244501003")
    call = flashcall_outbox[-1]
    assert PLAUSIBLE.fullmatch(call.caller)
    assert result.code == call.code == call.caller[-4:]


def test_last_call_is_the_newest_to_that_phone(flashcall_outbox):
    sandbox = SandboxProvider()
    first = sandbox.send("79244501003")
    sandbox.send("79244501004")
    assert SandboxProvider.last_call("79244501003").provider_id == first.provider_id
    assert SandboxProvider.last_call().phone == "79244501004"
    assert SandboxProvider.last_call("79000000000") is None
