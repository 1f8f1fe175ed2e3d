"""Bad input on both endpoints (SPEC §4: "never a 500, never an HTML error
page from the API, whatever the body"). Every body below answers the error
JSON with a 4xx and places no paid call (the fake telefon-ip server sees no
request); on confirm it also costs the pending attempt no check. Then a
hypothesis fuzz over both endpoints."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_flashcall.models import CallAttempt, Status

pytestmark = pytest.mark.django_db

REQUEST = "/api/flashcall/request/"
CONFIRM = "/api/flashcall/confirm/"
PHONE = "79244501003"
JSON = "application/json"
ERROR_KEYS = {"detail", "code", "attempts_left", "retry_after"}
ALLOWED_CODES = {
    "invalid_phone",
    "invalid_code",
    "invalid_request",
    "no_active_attempt",
    "code_expired",
    "too_many_attempts",
    "rate_limited",
    "phone_taken",
    "provider_unavailable",
    "method_not_allowed",
    "csrf_failed",
}
BAD_FRAMING = {"invalid_request"}
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def assert_error_answer(response, codes=None):
    """A 4xx with the SPEC §4 error JSON; ``codes``: the acceptable ``code``s."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert set(body) <= ERROR_KEYS, body
    assert isinstance(body["detail"], str) and body["detail"].strip()
    assert isinstance(body["code"], str) and body["code"] in ALLOWED_CODES, body
    if codes is not None:
        assert body["code"] in codes, body
    if "retry_after" in body or response.has_header("Retry-After"):
        assert response["Retry-After"] == str(body["retry_after"])
    return body


def dumps(value):
    return json.dumps(value).encode()


def nested(depth, leaf='"x"'):
    return "[" * depth + leaf + "]" * depth


# Each case builds ``(body bytes, content type, acceptable codes)`` from the
# endpoint's valid body and the name of its main field ("phone" on request,
# "code" on confirm): wrapped around a valid body, a bad framing that were
# accepted by mistake would place a call (request) or verify (confirm).
CASES = {
    # not JSON
    "not-json": lambda v, f: (b"phone=89244501003&code=1234", JSON, BAD_FRAMING),
    "python-repr": lambda v, f: (repr(v).encode(), JSON, BAD_FRAMING),
    "truncated": lambda v, f: (dumps(v)[:-3], JSON, BAD_FRAMING),
    "trailing-comma": lambda v, f: (dumps(v)[:-1] + b",}", JSON, BAD_FRAMING),
    "whitespace-only": lambda v, f: (b"  \n\t ", JSON, BAD_FRAMING),
    "nan": lambda v, f: (dumps(v).replace(b"}", b', "x": NaN}'), JSON, BAD_FRAMING),
    "field-nan": lambda v, f: (
        dumps({**v, f: 0}).replace(b"0}", b"NaN}"),
        JSON,
        BAD_FRAMING,
    ),
    "field-infinity": lambda v, f: (
        dumps({**v, f: 0}).replace(b"0}", b"-Infinity}"),
        JSON,
        BAD_FRAMING,
    ),
    "field-1e999": lambda v, f: (dumps({**v, f: 0}).replace(b"0}", b"1e999}"), JSON, BAD_FRAMING),
    "field-huge-int": lambda v, f: (
        dumps({**v, f: 0}).replace(b"0}", b"1" + b"0" * 5000 + b"}"),
        JSON,
        BAD_FRAMING,
    ),
    # wrong content types
    "form-encoded": lambda v, f: (
        urlencode(v).encode(),
        "application/x-www-form-urlencoded",
        BAD_FRAMING,
    ),
    "text-plain": lambda v, f: (dumps(v), "text/plain", BAD_FRAMING),
    "multipart": lambda v, f: (encode_multipart(BOUNDARY, v), MULTIPART_CONTENT, BAD_FRAMING),
    "xml": lambda v, f: (b"<phone>89244501003</phone>", "application/xml", BAD_FRAMING),
    "no-content-type": lambda v, f: (dumps(v), "", BAD_FRAMING),
    "json-suffix-type": lambda v, f: (dumps(v), "application/vnd.api+json", BAD_FRAMING),
    "utf16-declared-utf8-sent": lambda v, f: (
        dumps(v) + b" ",
        "application/json; charset=utf-16",
        BAD_FRAMING,
    ),
    # empty
    "empty-body": lambda v, f: (b"", JSON, BAD_FRAMING),
    "empty-object": lambda v, f: (b"{}", JSON, BAD_FRAMING),
    # top level not an object
    "top-null": lambda v, f: (b"null", JSON, BAD_FRAMING),
    "top-list": lambda v, f: (dumps([v]), JSON, BAD_FRAMING),
    "top-string": lambda v, f: (dumps(v[f]), JSON, BAD_FRAMING),
    "top-number": lambda v, f: (b"89244501003", JSON, BAD_FRAMING),
    "top-true": lambda v, f: (b"true", JSON, BAD_FRAMING),
    # wrong JSON types in the fields
    "field-int": lambda v, f: (dumps({**v, f: int(v[f])}), JSON, BAD_FRAMING),
    "field-float": lambda v, f: (dumps({**v, f: float(v[f])}), JSON, BAD_FRAMING),
    "field-list": lambda v, f: (dumps({**v, f: [v[f]]}), JSON, BAD_FRAMING),
    "field-object": lambda v, f: (dumps({**v, f: {"value": v[f]}}), JSON, BAD_FRAMING),
    "field-null": lambda v, f: (dumps({**v, f: None}), JSON, BAD_FRAMING),
    "field-true": lambda v, f: (dumps({**v, f: True}), JSON, BAD_FRAMING),
    "field-false": lambda v, f: (dumps({**v, f: False}), JSON, BAD_FRAMING),
    "phone-int": lambda v, f: (dumps({**v, "phone": 89244501003}), JSON, BAD_FRAMING),
    "phone-list": lambda v, f: (dumps({**v, "phone": ["89244501003"]}), JSON, BAD_FRAMING),
    "phone-object": lambda v, f: (
        dumps({**v, "phone": {"phone": "89244501003"}}),
        JSON,
        BAD_FRAMING,
    ),
    "phone-null": lambda v, f: (dumps({**v, "phone": None}), JSON, BAD_FRAMING),
    "phone-bool": lambda v, f: (dumps({**v, "phone": True}), JSON, BAD_FRAMING),
    # size
    "1mb-body": lambda v, f: (dumps({**v, "pad": "x" * 1_000_000}), JSON, BAD_FRAMING),
    "3mb-body": lambda v, f: (dumps({**v, "pad": "x" * 3_000_000}), JSON, BAD_FRAMING),
    "1mb-of-whitespace-around-valid-json": lambda v, f: (
        b" " * 1_000_000 + dumps(v),
        JSON,
        BAD_FRAMING,
    ),
    "1mb-field": lambda v, f: (dumps({**v, f: "8" * 1_000_000}), JSON, BAD_FRAMING),
    "10kb-field": lambda v, f: (dumps({**v, f: "9" * 10_000}), JSON, None),
    "10kb-field-with-valid-prefix": lambda v, f: (dumps({**v, f: v[f] + " " * 10_000}), JSON, None),
    "300-char-field": lambda v, f: (dumps({**v, f: "1" * 300}), JSON, None),
    # encodings
    "non-utf8-bytes": lambda v, f: (b'{"' + f.encode() + b'": "\xff\xfe\xfd"}', JSON, BAD_FRAMING),
    "latin1-bytes": lambda v, f: (
        dumps({**v, f: "MARK"}).replace(b"MARK", "89244501003é".encode("latin-1")),
        JSON,
        BAD_FRAMING,
    ),
    "utf16-body": lambda v, f: (json.dumps(v).encode("utf-16"), JSON, BAD_FRAMING),
    "bom-prefixed": lambda v, f: (b"\xef\xbb\xbf" + dumps(v), JSON, BAD_FRAMING),
    "lone-surrogate": lambda v, f: (
        dumps({**v, f: "x"}).replace(b'"x"', b'"\\ud800"'),
        JSON,
        None,
    ),
    "nul-in-field": lambda v, f: (dumps({**v, f: v[f] + "\x00"}), JSON, None),
    "rtl-override-in-field": lambda v, f: (dumps({**v, f: "\u202e" + v[f]}), JSON, None),
    # unicode digits
    "arabic-indic-digits": lambda v, f: (dumps({**v, f: v[f].translate(ARABIC_INDIC)}), JSON, None),
    # path and query tricks (the phone goes into the provider's URL path)
    "dot-dot-slash": lambda v, f: (dumps({**v, f: v[f] + "/../get_balance"}), JSON, None),
    "leading-dot-dot": lambda v, f: (dumps({**v, f: "../../get_balance/" + v[f]}), JSON, None),
    "question-mark": lambda v, f: (dumps({**v, f: v[f] + "?sms=true"}), JSON, None),
    "percent-2f": lambda v, f: (dumps({**v, f: v[f] + "%2F..%2Fget_balance"}), JSON, None),
    "hash": lambda v, f: (dumps({**v, f: v[f] + "#x"}), JSON, None),
    "encoded-dots": lambda v, f: (dumps({**v, f: "%2e%2e%2f" + v[f]}), JSON, None),
    "backslash": lambda v, f: (dumps({**v, f: v[f][:2] + "\\" + v[f][2:]}), JSON, None),
    # unknown fields
    "extra-field": lambda v, f: (dumps({**v, "extra": 1}), JSON, BAD_FRAMING),
    "extra-is-staff": lambda v, f: (dumps({**v, "is_staff": True}), JSON, BAD_FRAMING),
    "extra-user-id": lambda v, f: (dumps({**v, "user_id": 1}), JSON, BAD_FRAMING),
    "wrong-case-key": lambda v, f: (dumps({k.upper(): x for k, x in v.items()}), JSON, BAD_FRAMING),
    "many-keys": lambda v, f: (
        dumps({**v, **{f"k{i}": i for i in range(1000)}}),
        JSON,
        BAD_FRAMING,
    ),
    # nesting
    "deep-list-in-field": lambda v, f: (
        dumps(v).replace(b"{", b'{"deep": ' + nested(5000).encode() + b", ", 1),
        JSON,
        BAD_FRAMING,
    ),
    "deep-top-level-list": lambda v, f: (nested(8000).encode(), JSON, BAD_FRAMING),
    "deep-objects": lambda v, f: (
        ('{"a": ' * 2000 + "1" + "}" * 2000).encode(),
        JSON,
        BAD_FRAMING,
    ),
    "moderately-nested-field": lambda v, f: (
        dumps({**v, f: json.loads(nested(50))}),
        JSON,
        BAD_FRAMING,
    ),
    # duplicate keys, the bad value last (the valid-value-last order is below)
    "duplicate-keys-bad-last": lambda v, f: (
        dumps(v)[:-1] + b', "' + f.encode() + b'": "x"}',
        JSON,
        None,
    ),
}


# Bodies over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) included: DRF (>= 3.15)
# reads ``request.body`` early, and Django raises RequestDataTooBig.
CASE_PARAMS = [pytest.param(case, id=case) for case in CASES]


def raw(client, url, body, content_type, **extra):
    return client.generic("POST", url, body, content_type=content_type, **extra)


@pytest.fixture
def pending(client, fake_telefonip):
    """A pending attempt placed through the fake; ``(attempt, code)``. The fake's
    request log is then emptied: the bad confirm must add nothing to it."""
    response = raw(client, REQUEST, dumps({"phone": PHONE}), JSON)
    assert response.status_code == 201, response.content
    code = fake_telefonip.last_code(PHONE)
    fake_telefonip.requests.clear()
    return CallAttempt.objects.get(public_id=response.json()["attempt_id"]), code


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_bad_request_body(client, fake_telefonip, case):
    body, content_type, codes = CASES[case]({"phone": PHONE}, "phone")
    response = raw(client, REQUEST, body, content_type)
    assert_error_answer(response, codes or {"invalid_phone", "invalid_request"})
    assert fake_telefonip.requests == []  # no paid call
    assert not CallAttempt.objects.exists()


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_bad_confirm_body(client, fake_telefonip, pending, case):
    attempt, code = pending
    body, content_type, codes = CASES[case]({"phone": PHONE, "code": code}, "code")
    response = raw(client, CONFIRM, body, content_type)
    assert_error_answer(response, codes or {"invalid_code", "invalid_request"})
    assert fake_telefonip.requests == []
    attempt.refresh_from_db()
    assert (attempt.status, attempt.checks_used) == (Status.PENDING, 0)


# --------------------------------------------------------------------------- by hand


@pytest.mark.parametrize(
    ("meta", "body"),
    [
        ({"CONTENT_LENGTH": "abc"}, dumps({"phone": PHONE})),
        ({"CONTENT_LENGTH": "-1"}, dumps({"phone": PHONE})),
        ({"CONTENT_LENGTH": "99999999"}, dumps({"phone": PHONE})),
        ({"CONTENT_LENGTH": "0"}, dumps({"phone": PHONE})),
        ({"CONTENT_LENGTH": "5"}, dumps({"phone": PHONE})),
    ],
    ids=["not-a-number", "negative", "huge", "zero", "short"],
)
def test_lying_content_length(client, fake_telefonip, meta, body):
    response = raw(client, REQUEST, body, JSON, **meta)
    assert_error_answer(response, BAD_FRAMING)
    assert fake_telefonip.requests == []


def test_duplicate_keys_valid_value_last_on_request(client, fake_telefonip):
    body = b'{"phone": "x", "phone": "' + PHONE.encode() + b'"}'
    assert_error_answer(raw(client, REQUEST, body, JSON), BAD_FRAMING)
    assert fake_telefonip.requests == []


def test_duplicate_keys_valid_value_last_on_confirm(client, fake_telefonip, pending):
    attempt, code = pending
    body = b'{"phone": "' + PHONE.encode() + b'", "code": "x", "code": "' + code.encode() + b'"}'
    assert_error_answer(raw(client, CONFIRM, body, JSON), BAD_FRAMING)
    attempt.refresh_from_db()
    assert attempt.status == Status.PENDING


def test_fullwidth_digits_in_the_phone_are_a_valid_phone(client, fake_telefonip):
    response = raw(client, REQUEST, dumps({"phone": PHONE.translate(FULLWIDTH)}), JSON)
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == PHONE
    assert fake_telefonip.requests_for("get_code")[0].phone == "89244501003"


@pytest.mark.parametrize("length", [5, 300, 10_000])
def test_a_long_code_is_invalid_code_and_costs_no_check(client, fake_telefonip, pending, length):
    attempt, code = pending
    body = dumps({"phone": PHONE, "code": code + "0" * (length - 4)})
    body = assert_error_answer(raw(client, CONFIRM, body, JSON), {"invalid_code"})
    assert body["attempts_left"] == 3
    attempt.refresh_from_db()
    assert (attempt.status, attempt.checks_used) == (Status.PENDING, 0)


@pytest.mark.parametrize("length", [300, 10_000])
def test_a_long_phone_is_invalid_phone(client, fake_telefonip, length):
    body = dumps({"phone": PHONE + "1" * (length - len(PHONE))})
    assert_error_answer(raw(client, REQUEST, body, JSON), {"invalid_phone"})
    assert fake_telefonip.requests == []


def test_fullwidth_digits_in_the_code_are_invalid_code(client, fake_telefonip, pending):
    attempt, code = pending
    body = dumps({"phone": PHONE, "code": code.translate(FULLWIDTH)})
    body = assert_error_answer(raw(client, CONFIRM, body, JSON), {"invalid_code"})
    assert body["attempts_left"] == 3
    attempt.refresh_from_db()
    assert (attempt.status, attempt.checks_used) == (Status.PENDING, 0)


@pytest.mark.parametrize(
    "attempt_id",
    [12, None, True, [], {}, "not-a-uuid", "../", "%2F", "x" * 10_000, "٠" * 32, "{" + "0" * 32],
    ids=[
        "int",
        "null",
        "bool",
        "list",
        "object",
        "not-a-uuid",
        "dot-dot",
        "percent-2f",
        "10kb",
        "arabic-indic-zeros",
        "brace-prefix",
    ],
)
def test_bad_attempt_id(client, fake_telefonip, pending, attempt_id):
    attempt, code = pending
    body = dumps({"attempt_id": attempt_id, "code": code})
    # uuid.UUID() reads any Unicode digit ("٠" * 32 is the nil UUID): a
    # well-formed miss is no_active_attempt.
    assert_error_answer(raw(client, CONFIRM, body, JSON), {"invalid_request", "no_active_attempt"})
    attempt.refresh_from_db()
    assert attempt.status == Status.PENDING


@pytest.mark.parametrize("accept", ["*/*", "application/json; q=0.5", "application/*"])
def test_accept_headers_that_json_satisfies(client, flashcall_outbox, accept):
    response = raw(client, REQUEST, dumps({"phone": "garbage"}), JSON, HTTP_ACCEPT=accept)
    assert_error_answer(response, {"invalid_phone"})


@pytest.mark.parametrize("url", [REQUEST, CONFIRM])
def test_unsatisfiable_accept_header_still_answers_a_spec_code(client, flashcall_outbox, url):
    response = raw(client, url, dumps({"phone": "garbage"}), JSON, HTTP_ACCEPT="application/xml")
    assert_error_answer(response)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("url", [REQUEST, CONFIRM])
def test_other_methods_with_bodies(client, fake_telefonip, url, method):
    response = client.generic(method, url, dumps({"phone": PHONE}), content_type=JSON)
    assert_error_answer(response, {"method_not_allowed"})
    assert response.status_code == 405
    assert fake_telefonip.requests == []


# --------------------------------------------------------------------------- fuzz

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
PHONE_LIKE = st.sampled_from(
    [
        PHONE,
        "+7 (924) 450-10-03",
        "89244501004",
        "９２４４５０１００５",
        "٨٩٢٤٤٥٠١٠٠٣",
        "+7 495 1234567",
    ]
) | st.text(alphabet="0123456789+()-. ٠١٢٣٤٥٦٧٨٩０１２３４５６７８９/?#%", max_size=20)
CODE_LIKE = st.from_regex(r"\A[0-9]{4}\Z") | st.text(alphabet="0123456789 ٠١２３x", max_size=6)
ANY_FIELD = PHONE_LIKE | CODE_LIKE | JSON_VALUES
FIELD_DICTS = st.fixed_dictionaries(
    {},
    optional={
        "phone": ANY_FIELD,
        "code": ANY_FIELD,
        "attempt_id": st.uuids().map(str) | ANY_FIELD,
        "sms_fallback": st.booleans() | JSON_VALUES,
    },
) | st.dictionaries(
    st.sampled_from(["phone", "code", "attempt_id", "sms_fallback", "x", ""]) | st.text(max_size=5),
    ANY_FIELD,
    max_size=5,
)
CONTENT_TYPES = st.sampled_from(
    [
        JSON,
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "application/json; charset=bogus",
        "text/plain",
        "text/html",
        "application/x-www-form-urlencoded",
        MULTIPART_CONTENT,
        "multipart/form-data",
        "application/xml",
        "",
        "*/*",
    ]
) | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
ENDPOINTS = st.sampled_from([REQUEST, CONFIRM])
FUZZ = hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def fuzz_settings(settings, flashcall_outbox):
    settings.FLASHCALL_RATELIMIT_REQUEST = "100000/h"
    settings.FLASHCALL_RATELIMIT_CONFIRM = "100000/h"
    return flashcall_outbox


def assert_spec_answer(url, response):
    """2xx or 4xx, JSON always; errors in the SPEC §4 shape."""
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    if response.status_code >= 400:
        error = assert_error_answer(response)
        if response.status_code == 429 and error["code"] == "rate_limited":
            assert response["Retry-After"] == str(error["retry_after"])
    elif url == REQUEST:
        assert response.status_code == 201 and body["code_length"] == 4
    else:
        assert response.status_code == 200 and body["verified"] is True


@FUZZ
@given(url=ENDPOINTS, value=JSON_VALUES)
def test_fuzz_json_values(fuzz_settings, url, value):
    response = raw(Client(), url, dumps(value), JSON)
    assert_spec_answer(url, response)


@FUZZ
@given(url=ENDPOINTS, fields=FIELD_DICTS)
def test_fuzz_field_dicts(fuzz_settings, url, fields):
    response = raw(Client(), url, dumps(fields), JSON)
    assert_spec_answer(url, response)


@FUZZ
@given(url=ENDPOINTS, body=st.binary(max_size=2000), content_type=CONTENT_TYPES)
def test_fuzz_bytes(fuzz_settings, url, body, content_type):
    response = raw(Client(), url, body, content_type)
    assert_spec_answer(url, response)


@pytest.mark.parametrize("url", [REQUEST, CONFIRM])
def test_a_lone_surrogate_in_a_field_name_is_json_not_a_500(client, flashcall_outbox, url):
    # Echoing the unknown name back must not break the UTF-8 encoding of the answer.
    body = b'{"phone": "' + PHONE.encode() + b'", "code": "1234", "\\ud800": 1}'
    response = raw(client, url, body, JSON)
    assert_error_answer(response, {"invalid_request"})
    assert "\\ud800" in response.json()["detail"]
    assert flashcall_outbox == []
