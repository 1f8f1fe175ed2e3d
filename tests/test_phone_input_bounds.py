"""The phone input's length bounds, to the character: at most 160 characters
before NFKC (a cheap guard against a huge body) and 40 after it and the
trimming of spaces; a spelling at a bound is accepted, one past it is not."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import InvalidPhone
from django_flashcall.phone import MAX_INPUT_LENGTH, normalize

SPELLING = "+7 912 345-67-89"  # 16 characters


def spaced(length: int) -> str:
    """SPELLING widened with inner spaces to ``length`` characters."""
    return "+7" + " " * (length - len("+79123456789")) + "9123456789"


def test_the_bounds():
    assert (MAX_INPUT_LENGTH, len(spaced(40))) == (40, 40)


def test_up_to_160_characters_with_the_trimmed_spaces_are_read():
    assert normalize(SPELLING + " " * (160 - len(SPELLING))) == "79123456789"
    with pytest.raises(InvalidPhone):
        normalize(SPELLING + " " * (161 - len(SPELLING)))


def test_up_to_40_characters_after_trimming_are_read():
    assert normalize(spaced(40)) == "79123456789"
    with pytest.raises(InvalidPhone):
        normalize(spaced(41))
