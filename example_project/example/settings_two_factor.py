"""The demo with django-two-factor-auth: a password login, then a flash call
as the second factor (django-otp's ``FlashCallDevice``).

    pip install -e '.[two-factor]'
    cd example_project
    DJANGO_SETTINGS_MODULE=example.settings_two_factor python manage.py migrate
    DJANGO_SETTINGS_MODULE=example.settings_two_factor python manage.py createsuperuser
    DJANGO_SETTINGS_MODULE=example.settings_two_factor python manage.py runserver

Log in at /account/login/ with the password, set up the "Flash call" method
at /account/two_factor/setup/, log out and log in again. The environment
variables of ``example.settings`` apply.
"""

from .settings import *  # noqa: F403
from .settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "django_flashcall.contrib.otp",  # FlashCallDevice
    "django_flashcall.contrib.two_factor",  # the "flashcall" method
]
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1],
    "django_otp.middleware.OTPMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1 :],
]
ROOT_URLCONF = "example.urls_two_factor"
LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "two_factor:profile"
