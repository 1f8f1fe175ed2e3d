"""A strict JSON parser for the two endpoints.

DRF's own parser would let three kinds of body through to a 500 or to a
surprising meaning: a body bigger than Django's upload limit, nesting deep
enough to make ``json`` raise RecursionError, and duplicate keys (where the
last one silently wins, so ``{"code": "x", "code": "1234"}`` is a guess that
the first value hides). Each is ``invalid_request`` here.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.utils.mediatypes import _MediaType

from ..exceptions import InvalidRequest

MAX_BODY = 16 * 1024  # a real body is under 200 bytes


def declared_length(meta: dict[str, Any]) -> int:
    try:
        return max(0, int(meta.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def check_length(meta: dict[str, Any]) -> None:
    if declared_length(meta) > MAX_BODY:
        raise InvalidRequest(_("The request body is too large."))


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Duplicate(key)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity: not JSON


class StrictJSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        if request is not None:
            check_length(request.META)
        charset = _MediaType(media_type or "").params.get("charset", "utf-8").strip('"')
        if charset.lower().replace("_", "-") not in {"utf-8", "utf8"}:
            # RFC 8259: JSON between systems is UTF-8.
            raise InvalidRequest(_("The request body must be UTF-8 JSON."))
        raw = stream.read(MAX_BODY + 1) if stream is not None else b""
        if len(raw) > MAX_BODY:
            raise InvalidRequest(_("The request body is too large."))
        try:
            text = raw.decode("utf-8")
            return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        except _Duplicate:
            raise InvalidRequest(_("The request body repeats a field.")) from None
        except RecursionError:
            raise InvalidRequest(_("The request body is nested too deeply.")) from None
        except ValueError:  # UnicodeDecodeError and JSONDecodeError included
            raise InvalidRequest(_("The request body must be a JSON object.")) from None
