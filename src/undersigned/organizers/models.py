"""One-time sign-in links for organizers (no default passwords, no password sent by email)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LoginToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    digest = models.BinaryField(max_length=32, unique=True)
    expires_at = models.DateTimeField()
