"""``StrictJSONParser`` used on its own: a site may list it in its own DRF
views, and a stream can reach it with no request (no Content-Length to
check first). The body is still read with its bound, and judged the same."""

from __future__ import annotations

import io

import pytest

from django_flashcall.api.parsers import MAX_BODY, StrictJSONParser
from django_flashcall.exceptions import InvalidRequest


def parse(body: bytes, media_type: str = "application/json"):
    return StrictJSONParser().parse(io.BytesIO(body), media_type, parser_context={})


def test_a_body_without_a_request_is_parsed_strictly():
    assert parse(b'{"phone": "+79244501003"}') == {"phone": "+79244501003"}
    with pytest.raises(InvalidRequest, match="repeats a field"):
        parse(b'{"code": "0000", "code": "1234"}')


def test_a_body_past_the_bound_is_refused_even_without_a_declared_length():
    padded = b'{"phone": "' + b" " * MAX_BODY + b'"}'
    with pytest.raises(InvalidRequest, match="too large"):
        parse(padded)
    # One byte under the bound is read and parsed in full.
    exact = b'{"p": "' + b"x" * (MAX_BODY - 10) + b'"}'
    assert len(exact) == MAX_BODY - 1
    assert parse(exact) == {"p": "x" * (MAX_BODY - 10)}
