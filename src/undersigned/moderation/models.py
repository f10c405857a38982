"""Rate limits organizers can edit, the keyed counters behind them, and recorded invalidations."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from undersigned.lib.sealing import new_sealed_secret, unseal_secret


class RateLimit(models.Model):
    """At most ``max_per_day`` signatures a day from one network address (or one email domain).

    Signatures over the limit are not dropped: they are held for an organizer to review.
    """

    class Scope(models.TextChoices):
        NETWORK = "network", _("Network address")
        EMAIL_DOMAIN = "email_domain", _("Email domain")

    scope = models.CharField(max_length=16, choices=Scope.choices)
    letter = models.ForeignKey(
        "letters.Letter", null=True, blank=True, on_delete=models.CASCADE, help_text=_("Empty: every letter.")
    )
    max_per_day = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "letter"], name="one_limit_per_scope_and_letter")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()}: {self.max_per_day}/day"


def _new_secret() -> bytes:  # the default of the unsealed field in migration 0001
    return secrets.token_bytes(32)


class DailySecret(models.Model):
    """The key of one day's rate-limit digests. Deleted after the day, with that day's counters.

    A random key, sealed with a key derived from ENCRYPTION_KEY (lib/sealing.py): a dump of the database
    alone cannot test network addresses against the counters. (A key derived from ENCRYPTION_KEY and the
    date would need no row, but could never be forgotten: whoever learnt ENCRYPTION_KEY later could
    recompute any day's key and test old counters found in a backup. A random one is gone once deleted.)
    """

    day = models.DateField(unique=True)
    sealed_secret = models.TextField(default=new_sealed_secret)

    @property
    def secret(self) -> bytes:
        return unseal_secret(self.sealed_secret)


class RateCounter(models.Model):
    """How many signatures one keyed digest of a network address or email domain made on one day.

    There is no link from a counter to a signature, and the digest cannot be reversed once the day's
    secret is deleted.
    """

    scope = models.CharField(max_length=16, choices=RateLimit.Scope.choices)
    day = models.DateField()
    digest = models.BinaryField(max_length=32)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "day", "digest"], name="one_counter_per_key_and_day")]


class Invalidation(models.Model):
    """A recorded decision to stop counting signatures, with its reason (never a silent deletion)."""

    letter = models.ForeignKey("letters.Letter", on_delete=models.PROTECT, related_name="invalidations")
    reason = models.TextField()
    signature_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.signature_count} signature(s): {self.reason[:60]}"
