from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class FlashCallConfig(AppConfig):
    name = "django_flashcall"
    verbose_name = _("Flash call login")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks
        from .providers.base import install_log_redaction

        install_log_redaction()
        post_migrate.connect(_forget_counts_of_flushed_rows, sender=self)


def _forget_counts_of_flushed_rows(using: str = "default", **kwargs: Any) -> None:
    """``flush`` (a test database between tests) empties SQLite table by
    table in no set order: deleting the attempts after the counts leaves
    counts of rows that are gone. ``flush`` sends post_migrate: drop them."""
    from .models import CallAttempt, CallCount

    connection = connections[using]
    if CallCount._meta.db_table not in connection.introspection.table_names():
        return  # migrated back to zero
    if not CallAttempt.objects.using(using).exists():
        CallCount.objects.using(using).all().delete()
