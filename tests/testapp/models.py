from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A custom user with its own phone field, for FLASHCALL_USER_PHONE_FIELD."""

    phone = models.CharField(max_length=11, unique=True, null=True, blank=True)
