"""The outbox: messages waiting for the worker to send them."""

from __future__ import annotations

from django.db import models


class OutgoingEmail(models.Model):
    """One message to send. The recipient is sealed (encrypted) and the row is deleted once sent,
    so the address exists on this server only for the seconds between the request and delivery.
    """

    sealed_recipient = models.TextField()
    from_email = models.CharField(max_length=254)
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["id"]
