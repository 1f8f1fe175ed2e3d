"""The demo with django-allauth: allauth's own login and signup pages (and its
headless API) with phone login and signup verified by flash call.

    pip install -e '.[allauth]'
    cd example_project
    DJANGO_SETTINGS_MODULE=example.settings_allauth python manage.py migrate
    DJANGO_SETTINGS_MODULE=example.settings_allauth python manage.py runserver

Then open /accounts/signup/ (or /accounts/login/). The sandbox's simulated
call shows on allauth's pages. The environment variables of
``example.settings`` apply.
"""

from .settings import *  # noqa: F403
from .settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "allauth", "allauth.account", "allauth.headless"]
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]
ROOT_URLCONF = "example.urls_allauth"
AUTHENTICATION_BACKENDS = [
    "django_flashcall.auth_backends.FlashCallBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"

# The part a site adds to its allauth settings (docs: howto/integrations).
ACCOUNT_ADAPTER = "example.allauth_adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"phone"}
ACCOUNT_SIGNUP_FIELDS = ["phone*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
HEADLESS_SERVE_SPECIFICATION = False
# allauth's code steps must not outlive the call's code (check W030).
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = 300
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 300
