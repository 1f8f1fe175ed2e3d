"""The OpenAPI document at ``api/flashcall/schema/`` (drf-spectacular), other
HTTP methods (405 in JSON), and DRF's browsable API on both endpoints."""

import json

import pytest
import yaml

from django_flashcall.exceptions import ERRORS
from tests.helpers import scrub

pytestmark = pytest.mark.django_db

SCHEMA = "/api/flashcall/schema/"
REQUEST = "/api/flashcall/request/"
CONFIRM = "/api/flashcall/confirm/"
PHONE = "79244501003"
# SPEC §4: code → status.
SPEC_ERRORS = {
    "invalid_phone": 400,
    "invalid_code": 400,
    "invalid_request": 400,
    "no_active_attempt": 400,
    "code_expired": 400,
    "too_many_attempts": 429,
    "rate_limited": 429,
    "phone_taken": 409,
    "provider_unavailable": 503,
    "challenge_required": 403,  # SPEC §10
}
# What each endpoint can answer (SPEC §4, §6, §10).
REQUEST_ERRORS = {
    "invalid_phone",
    "invalid_request",
    "rate_limited",
    "provider_unavailable",
    "challenge_required",
}
CONFIRM_ERRORS = {
    "invalid_phone",
    "invalid_code",
    "invalid_request",
    "no_active_attempt",
    "code_expired",
    "too_many_attempts",
    "rate_limited",
    "phone_taken",
}


@pytest.fixture
def schema(client):
    response = client.get(SCHEMA)
    assert response.status_code == 200
    assert "openapi" in response["Content-Type"]
    return json.loads(response.content)


def documented_errors(operation):
    """``{code: status}`` from an operation's responses: the codes named in the
    examples and descriptions of each error status."""
    found = {}
    for status, response in operation["responses"].items():
        if not status.startswith(("4", "5")):
            continue
        text = json.dumps(response)
        for code in SPEC_ERRORS:
            if f'"{code}"' in text or f"`{code}`" in text:
                found[code] = int(status)
    return found


def test_the_domain_errors_are_the_spec_table():
    assert {error.code: error.status for error in ERRORS} == SPEC_ERRORS


def test_schema_lists_both_paths_with_post_only(schema):
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {REQUEST, CONFIRM}
    for path in (REQUEST, CONFIRM):
        assert set(schema["paths"][path]) == {"post"}


@pytest.mark.parametrize(("path", "codes"), [(REQUEST, REQUEST_ERRORS), (CONFIRM, CONFIRM_ERRORS)])
def test_schema_documents_every_error_of_the_endpoint(schema, path, codes):
    errors = documented_errors(schema["paths"][path]["post"])
    assert set(errors) >= codes
    for code in codes:
        assert errors[code] == SPEC_ERRORS[code], code


def test_schema_documents_every_spec_error_code(schema):
    documented = {}
    for path in (REQUEST, CONFIRM):
        documented.update(documented_errors(schema["paths"][path]["post"]))
    assert set(documented) == set(SPEC_ERRORS)


def test_schema_success_shapes(schema):
    ok = schema["paths"][REQUEST]["post"]["responses"]["201"]
    ref = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][ref]["properties"]) == {
        "attempt_id",
        "phone",
        "channel",
        "code_length",
        "expires_at",
        "resend_after",
    }
    ok = schema["paths"][CONFIRM]["post"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"verified", "phone", "user_id", "token"} <= set(
        schema["components"]["schemas"][ref]["properties"]
    )


def test_schema_request_bodies(schema):
    def fields(path):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        ref = body["schema"]["$ref"].rsplit("/", 1)[1]
        return schema["components"]["schemas"][ref]

    assert set(fields(REQUEST)["properties"]) == {"phone", "sms_fallback", "challenge"}
    assert fields(REQUEST)["required"] == ["phone"]
    assert set(fields(CONFIRM)["properties"]) == {"phone", "attempt_id", "code"}


def test_schema_error_shape(schema):
    error = schema["paths"][CONFIRM]["post"]["responses"]["400"]
    ref = error["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    component = schema["components"]["schemas"][ref]
    assert {"detail", "code", "attempts_left", "retry_after"} <= set(component["properties"])
    assert set(component["required"]) == {"detail", "code"}


def test_schema_attempt_id_is_a_uuid(schema):
    body = schema["paths"][CONFIRM]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[1]
    attempt_id = schema["components"]["schemas"][ref]["properties"]["attempt_id"]
    assert (attempt_id["type"], attempt_id["format"]) == ("string", "uuid")
    assert "maxLength" not in attempt_id


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (CONFIRM, "403", "csrf_failed"),
        (REQUEST, "405", "method_not_allowed"),
        (CONFIRM, "405", "method_not_allowed"),
        (REQUEST, "401", "authentication_failed"),
        (CONFIRM, "401", "authentication_failed"),
    ],
)
def test_schema_documents_the_answers_of_the_http_edge(schema, path, status, code):
    response = schema["paths"][path]["post"]["responses"][status]
    assert f"`{code}`" in response["description"]
    examples = response["content"]["application/json"]["examples"]
    assert {"detail": "…", "code": code} in [e["value"] for e in examples.values()]


def test_request_has_no_csrf_answer(schema):
    # request/ is not CSRF-protected: its only 403 is the challenge (SPEC §10).
    forbidden = schema["paths"][REQUEST]["post"]["responses"]["403"]
    assert forbidden["description"] == "`challenge_required`"


def test_schema_as_yaml(client):
    response = client.get(SCHEMA, {"format": "yaml"})
    assert response.status_code == 200
    assert set(yaml.safe_load(response.content)["paths"]) == {REQUEST, CONFIRM}


# --------------------------------------------------------------------------- other methods


@pytest.mark.parametrize("path", [REQUEST, CONFIRM])
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405_in_json(client, path, method):
    response = getattr(client, method)(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "method_not_allowed"
    assert isinstance(body["detail"], str) and body["detail"]
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("path", [REQUEST, CONFIRM])
def test_405_is_json_without_an_accept_header(client, path):
    response = client.get(path)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", [REQUEST, CONFIRM])
@pytest.mark.parametrize("method", ["options", "put", "patch", "delete", "head"])
def test_every_other_method_is_a_json_405(client, path, method):
    # SPEC §4: OPTIONS too (a CORS preflight is answered by the CORS middleware).
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    if method != "head":
        assert response.json()["code"] == "method_not_allowed"


# --------------------------------------------------------------------------- browsable API


@pytest.fixture
def browsable(settings):
    """DRF's HTML pages: on with DEBUG by default, or FLASHCALL_BROWSABLE_API."""
    settings.FLASHCALL_BROWSABLE_API = True


@pytest.mark.parametrize("path", [REQUEST, CONFIRM])
def test_without_the_browsable_api_a_browser_gets_json(client, settings, path):
    settings.DEBUG = False  # and FLASHCALL_BROWSABLE_API unset: JSON only
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "method_not_allowed"
    response = client.post(
        path, {"phone": "garbage"}, content_type="application/json", HTTP_ACCEPT="text/html"
    )
    assert response["Content-Type"] == "application/json"


def test_debug_turns_the_browsable_api_on(client, settings):
    settings.DEBUG = True
    response = client.get(REQUEST, HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("path", "name"), [(REQUEST, "Request Code"), (CONFIRM, "Confirm Code")])
def test_browsable_api_renders_the_405_page(client, browsable, path, name):
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert name in html
    assert "<form" in html and 'method="POST"' in html
    assert "method_not_allowed" in html


def test_browsable_api_post_request(client, browsable, flashcall_outbox):
    response = client.post(
        REQUEST, {"phone": PHONE}, content_type="application/json", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 201
    assert response["Content-Type"].startswith("text/html")
    assert "Request Code" in response.content.decode()
    assert len(flashcall_outbox) == 1
    assert flashcall_outbox[0].code not in scrub(response.content.decode(), PHONE)
    assert flashcall_outbox[0].caller not in response.content.decode()


def test_browsable_api_post_confirm(client, browsable, flashcall_outbox, django_user_model):
    client.post(REQUEST, {"phone": PHONE}, content_type="application/json")
    code = flashcall_outbox[-1].code
    response = client.post(
        CONFIRM,
        {"phone": PHONE, "code": code},
        content_type="application/json",
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Confirm Code" in response.content.decode()
    assert django_user_model.objects.get().phone is None  # PhoneNumber mode


def test_browsable_api_renders_errors(client, browsable, flashcall_outbox):
    response = client.post(
        REQUEST, {"phone": "garbage"}, content_type="application/json", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 400
    assert "invalid_phone" in response.content.decode()
