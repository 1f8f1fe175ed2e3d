"""The test settings plus the optional integrations (SPEC §9): django-allauth with
call (SPEC §9). Run by ``scripts/runtests.py`` as its own pytest invocation:
``pytest -p tests.allauth_only --ds=tests.settings_allauth tests/contrib/allauth``."""

from pathlib import Path

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE, TEMPLATES

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "allauth",
    "allauth.account",
    "allauth.headless",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "django_flashcall.contrib.otp",
    "django_flashcall.contrib.two_factor",
]
MIDDLEWARE = [
    *MIDDLEWARE,
    "django_otp.middleware.OTPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
ROOT_URLCONF = "tests.contrib.urls"
AUTHENTICATION_BACKENDS = [
    "django_flashcall.auth_backends.FlashCallBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

ACCOUNT_ADAPTER = "tests.contrib.allauth_adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"phone"}
ACCOUNT_SIGNUP_FIELDS = ["phone*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PREVENT_ENUMERATION = True
HEADLESS_ONLY = False
HEADLESS_SERVE_SPECIFICATION = False

TEMPLATES = [{**TEMPLATES[0], "DIRS": [Path(__file__).parent / "contrib" / "templates"]}]
OTP_LOGIN_URL = "/otp/login/"
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 300  # not past FLASHCALL_CODE_TTL (check W030)
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 300
