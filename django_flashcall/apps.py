from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlashCallConfig(AppConfig):
    name = "django_flashcall"
    verbose_name = _("Flash call login")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks
        from .providers.base import install_log_redaction

        install_log_redaction()
