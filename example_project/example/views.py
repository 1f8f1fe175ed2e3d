from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control

from django_flashcall.phone import pretty
from django_flashcall.services import phone_of


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "example/home.html")


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
