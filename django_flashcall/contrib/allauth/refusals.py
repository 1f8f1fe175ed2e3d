"""A ``FlashCallError`` met inside allauth's flows, turned into allauth's answers.

allauth places its "send the code" step inside its own views and flows,
where an exception of ours would be a 500. :class:`CallRefused` is both of
the exceptions allauth knows how to stop a flow with:

* its ``RateLimited``, which allauth's "send a new code" views (pages and
  headless) catch and show as their own "too many attempts" answer;
* an ``ImmediateHttpResponse``, which ``allauth.account.middleware.AccountMiddleware``
  (required by allauth) returns everywhere else: a JSON error in allauth's
  headless shape, or, for the pages, a redirect back with the message.
"""

from __future__ import annotations

from allauth.core.exceptions import ImmediateHttpResponse, RateLimited
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from ...exceptions import FlashCallError


def is_headless(request: HttpRequest) -> bool:
    return hasattr(getattr(request, "allauth", None), "headless")


def refusal_response(request: HttpRequest, error: FlashCallError) -> HttpResponse:
    response: HttpResponse
    if is_headless(request):
        # allauth's headless error shape (ErrorResponse), with our stable code.
        body = {
            "status": error.status,
            "errors": [{"message": str(error.detail), "code": error.code, "param": "phone"}],
        }
        response = JsonResponse(body, status=error.status)
    else:
        messages.error(request, str(error.detail))
        # A GET of the page that was posted shows its form again, with the message.
        response = HttpResponseRedirect(request.get_full_path())
    retry_after = error.extra.get("retry_after")
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


class CallRefused(RateLimited, ImmediateHttpResponse):
    """No call was placed (a limit, the breaker, the provider): see the module."""

    def __init__(self, request: HttpRequest, error: FlashCallError) -> None:
        Exception.__init__(self, error.code)
        self.request = request
        self.error = error

    @property
    def response(self) -> HttpResponse:
        # Built only when the middleware answers with it: a resend view that
        # catches the RateLimited side shows allauth's message, not two.
        return refusal_response(self.request, self.error)
