from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A custom user with its own phone field, for FLASHCALL_USER_PHONE_FIELD."""

    phone = models.CharField(max_length=11, unique=True, null=True, blank=True)


class Note(models.Model):
    """A parent and a child in multi-table inheritance, for the prepared INSERT."""

    text = models.CharField(max_length=20)

    def __str__(self) -> str:
        return self.text


class LongNote(Note):
    more = models.CharField(max_length=20)
