from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlashCallOTPConfig(AppConfig):
    name = "django_flashcall.contrib.otp"
    # "otp_*" is django-otp's own plugins' pattern (otp_totp, otp_email...).
    label = "otp_flashcall"
    verbose_name = _("Flash-call OTP devices")
    default_auto_field = "django.db.models.BigAutoField"
