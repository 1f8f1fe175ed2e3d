from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlashCallTwoFactorConfig(AppConfig):
    name = "django_flashcall.contrib.two_factor"
    label = "two_factor_flashcall"
    verbose_name = _("Two-factor authentication by flash call")

    def ready(self) -> None:
        from two_factor.plugins.registry import registry

        from .method import FlashCallMethod

        registry.register(FlashCallMethod())
