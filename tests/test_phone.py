"""Phone normalisation (SPEC §6): one stored form per phone, nothing else accepted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_flashcall.exceptions import InvalidPhone
from django_flashcall.phone import is_valid, mask, normalize, pretty, to_provider

STORED = "79244501003"

ACCEPTED = [
    "+7 (924) 450-10-03",
    "+79244501003",
    "+7 924 450 10 03",
    "+7-924-450-10-03",
    "+7.924.450.10.03",
    "+7(924)4501003",
    "79244501003",
    "7 924 450 10 03",
    "7 (924) 450-10-03",
    "89244501003",
    "8 924 450 10 03",
    "8 (924) 450-10-03",
    "8-924-450-10-03",
    "8.924.450.10.03",
    "9244501003",
    "(924) 450-10-03",
    "924 450 10 03",
    "  +7 924 450 10 03  ",  # surrounding spaces
    # NFKC: full-width digits, plus, parentheses and hyphen fold to ASCII.
    "８９２４４５０１００３",
    "＋７ （９２４） ４５０－１０－０３",
    "+7\u00a0924\u00a0450\u00a010\u00a003",  # no-break spaces fold to spaces
]


@pytest.mark.parametrize("spelling", ACCEPTED)
def test_accepted_spellings_map_to_one_stored_form(spelling):
    assert normalize(spelling) == STORED
    assert is_valid(spelling)


@pytest.mark.parametrize(
    ("spelling", "stored"),
    [
        ("+7 900 000 00 00", "79000000000"),
        ("8 999 999 99 99", "79999999999"),
        ("9123456789", "79123456789"),
    ],
)
def test_other_mobile_numbers(spelling, stored):
    assert normalize(spelling) == stored


REJECTED = [
    # landlines and other non-mobile ranges
    "+7 (495) 123-45-67",
    "84951234567",
    "74951234567",
    "4951234567",
    "+7 812 123 45 67",
    "88001234567",
    # +8 is not a country code; + only before 7
    "+8 924 450 10 03",
    "+89244501003",
    "+9244501003",
    "+1 924 450 10 03",
    # foreign numbers
    "+380 50 123 45 67",
    "+44 7911 123456",
    # too short / too long
    "",
    " ",
    "9",
    "924450100",
    "+7 924 450 10 0",
    "892445010031",
    "+792445010031",
    "792445010031",
    "99244501003",
    "+7 8 924 450 10 03",
    # plus signs elsewhere
    "++79244501003",
    "7+9244501003",
    "+7 924+450 10 03",
    "9244501003+",
    # letters and other symbols
    "8924450100a",
    "+7 924 ABC-10-03",
    "phone",
    "+7 924 450 10 03 ext 5",
    "9244501003#",
    "9244501003,",
    "9244501003;",
    "+7_924_450_10_03",
    "+7/924/450/10/03",
    "1e9",
    # unicode digits that NFKC does not turn into ASCII
    "٩٢٤٤٥٠١٠٠٣",  # Arabic-Indic
    "+7 ٩24 450 10 03",
    "۹۲۴۴۵۰۱۰۰۳",  # Extended Arabic-Indic
    "९२४४५०१००३",  # Devanagari
    # unicode dashes that are not in the allow-list
    "8\u2013924\u2013450\u201310\u201303",  # en dash
    "8\u2014924\u2014450\u201410\u201403",  # em dash
    "8\u2212924\u2212450\u221210\u221203",  # minus sign
    "8\u2010924\u2010450\u201010\u201003",  # hyphen
    "8\u2012924\u2012450\u201210\u201203",  # figure dash
    # paths, URL-encoding, control characters
    "/../9244501003",
    "9244501003/../",
    "+7 924%2F450 10 03",
    "%2B79244501003",
    "../../etc/passwd",
    "9244501003\x00",
    "\x009244501003",
    "92445\u200b01003",  # zero-width space
    # huge inputs
    "9" * 10_000,
    "+7 924 450 10 03" + " " * 10_000,
    " " * 10_000 + "9244501003",
    "８" * 10_000,
    "(" * 5_000 + "9244501003",
]


@pytest.mark.parametrize("spelling", REJECTED)
def test_rejected_spellings(spelling):
    with pytest.raises(InvalidPhone):
        normalize(spelling)
    assert not is_valid(spelling)


@pytest.mark.parametrize(
    "value",
    [
        None,
        9244501003,
        79244501003,
        9.244501003e9,
        True,
        ["79244501003"],
        ("9244501003",),
        {"phone": "79244501003"},
        b"79244501003",
        bytearray(b"9244501003"),
        object(),
    ],
)
def test_non_strings_are_rejected(value):
    with pytest.raises(InvalidPhone):
        normalize(value)


def test_invalid_phone_is_the_domain_error():
    with pytest.raises(InvalidPhone) as info:
        normalize("nope")
    assert info.value.code == "invalid_phone"
    assert info.value.status == 400


def test_to_provider_spelling():
    assert to_provider(STORED) == "89244501003"
    assert to_provider("+7 (924) 450-10-03") == "89244501003"
    with pytest.raises(InvalidPhone):
        to_provider("84951234567")


def test_mask_and_pretty():
    assert pretty(STORED) == "+7 924 450-10-03"
    assert pretty("123") == "123"
    masked = mask(STORED)
    assert masked == "+7 ••• •••-••-03"
    assert "924" not in masked and "450" not in masked
    assert mask(STORED, visible=4) == "+7 ••• •••-10-03"
    assert mask(STORED, visible=0) == "+7 ••• •••-••-••"
    assert mask("123") == "***"
    assert mask("") == ""


# --------------------------------------------------------------------------- properties

TEN_DIGITS = st.text(alphabet="0123456789", min_size=9, max_size=9).map(lambda s: "9" + s)
SEPARATOR = st.text(alphabet=" ()-.", max_size=2)
FULL_WIDTH = str.maketrans("0123456789+()-.", "０１２３４５６７８９＋（）－．")


@st.composite
def spellings(draw):
    """(the ten national digits, one accepted spelling of them)."""
    national = draw(TEN_DIGITS)
    prefix = draw(st.sampled_from(["+7", "7", "8", ""]))
    chars = prefix + national
    text = chars[0] + "".join(draw(SEPARATOR) + ch for ch in chars[1:])
    text = draw(st.sampled_from(["", " ", "  "])) + text + draw(st.sampled_from(["", " "]))
    return national, text


@given(spellings())
def test_every_spelling_normalises_to_the_stored_form(case):
    national, text = case
    assert normalize(text) == "7" + national
    # Full-width spellings are the same phone after NFKC.
    assert normalize(text.translate(FULL_WIDTH)) == "7" + national


@given(spellings(), spellings())
def test_spellings_of_one_number_agree(a, b):
    (national, text_a), (_, text_b) = a, b
    # Respell b's text with a's digits: same number, different separators/prefix.
    assert normalize(text_a) == normalize("+7 " + national) == "7" + national
    assert (normalize(text_a) == normalize(text_b)) == (a[0] == b[0])


def _check_outcome(value):
    try:
        stored = normalize(value)
    except InvalidPhone:
        return
    assert isinstance(stored, str)
    assert len(stored) == 11
    assert stored.isascii() and stored.isdigit()
    assert stored.startswith("79")
    assert normalize(stored) == stored  # idempotent
    provider = to_provider(stored)
    assert provider == "8" + stored[1:]
    assert provider.startswith("89") and len(provider) == 11


@given(st.text())
def test_normalize_on_any_text_returns_stored_form_or_raises_invalid_phone(value):
    _check_outcome(value)


@given(st.text(alphabet="0123456789+()-. 78９٩x\u2013\u00a0/%", max_size=30))
def test_normalize_near_valid_text(value):
    _check_outcome(value)


ANY_OBJECT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(),
    st.lists(st.text(max_size=12), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=12), max_size=3),
    st.tuples(st.integers()),
    st.decimals(allow_nan=False),
)


@given(ANY_OBJECT)
def test_normalize_on_any_object_raises_invalid_phone(value):
    with pytest.raises(InvalidPhone):
        normalize(value)
