from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    schema,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_flashcall.phone import pretty
from django_flashcall.services import phone_of


def home(request: HttpRequest) -> HttpResponse:
    # The API examples on the page use this server's own address.
    base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "example/home.html", {"base_url": base})


@api_view(["GET"])
@authentication_classes([TokenAuthentication, SessionAuthentication])
@permission_classes([IsAuthenticated])
@schema(None)  # a demo helper, not part of any published schema
def me(request: Request) -> Response:
    """``GET api/me/``: who the API client is, by the session or the token
    that ``api/flashcall/confirm/`` gave it (README, "API by example")."""
    phone = phone_of(request.user)
    return Response(
        {"user_id": request.user.pk, "username": request.user.get_username(), "phone": phone}
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    phone = phone_of(request.user)
    return render(request, "example/profile.html", {"phone": pretty(phone) if phone else ""})


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#2457c5"/>'
    '<text x="8" y="12" font-size="10" text-anchor="middle" fill="#fff">☎</text></svg>'
)


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Pages without an icon link (the admin) ask for /favicon.ico: no 404 in the console."""
    return HttpResponse(FAVICON, content_type="image/svg+xml")
