"""Helpers shared by the JSON API tests: URLs, posting JSON, the SPEC §4 error shape."""

from __future__ import annotations

REQUEST = "/api/flashcall/request/"
CONFIRM = "/api/flashcall/confirm/"
PHONE = "79244501003"
ERROR_KEYS = {"detail", "code", "attempts_left", "retry_after", "challenge"}


def post(client, url, body, **extra):
    return client.post(url, body, content_type="application/json", **extra)


def assert_error(response, status, code):
    """The SPEC §4 error shape; ``Retry-After`` equals ``retry_after`` when either is there."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"].strip()
    assert set(body) <= ERROR_KEYS
    if code == "rate_limited":
        assert "retry_after" in body
    if code == "invalid_code":
        assert isinstance(body["attempts_left"], int)
    if "retry_after" in body or response.has_header("Retry-After"):
        assert isinstance(body["retry_after"], int) and body["retry_after"] >= 1
        assert response["Retry-After"] == str(body["retry_after"])
    return body
