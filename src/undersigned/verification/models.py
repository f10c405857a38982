"""The verification app: token keys, email challenges, invitation codes and issuance records.

What each table keeps, and for how long (see protocol.md beside this file):

* :class:`TokenKey` — one RSA key per letter and registry company. The public half is published and
  kept forever (auditors check every token with it); the private half is encrypted with a key derived
  from ``ENCRYPTION_KEY`` and erased when the letter closes.
* :class:`VerificationSecret` — the per-letter HMAC key of address digests and code digests, sealed
  with a key derived from ``ENCRYPTION_KEY`` (a dump of the database alone cannot test an address). Separate
  from :class:`~undersigned.letters.models.LetterSecret` on purpose: with one key for both, the
  digest of a self-reported signer's address would equal the digest in an issuance record, linking
  the two. Erased when the letter closes.
* :class:`Challenge` — a code emailed to an address, waiting to be typed: the address digest, the
  company its domain matched, a keyed digest of the code. Deleted when a token is issued, when it
  expires, when too many wrong codes were tried, and when the letter closes.
* :class:`Issuance` — "this address digest has received its token for this letter": the digest and
  the day, nothing else (no company, no time of day, no key, no id shared with anything). Deleted
  when the letter closes.
* :class:`Invitation` — a one-time code minted by an organizer for a company; only its SHA-256 is
  kept. Never a holder, and whether it was used but not when (a day of use, next to the log's batch
  times, would help the organizer who handed the code out find the holder's signature). Unused
  invitations are deleted when the letter closes.
* :class:`SecretsDestroyed` — the record, shown in the organizer area, that a letter's private keys
  and secrets were destroyed and its issuance records deleted.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from undersigned.companies.models import Company
from undersigned.letters.models import Letter
from undersigned.lib.sealing import new_sealed_secret, unseal_secret


class TokenKey(models.Model):
    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="token_keys")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="token_keys")
    key_id = models.CharField(max_length=64, unique=True, help_text=_("Hex SHA-256 of the public key (SPKI DER)."))
    public_key = models.TextField(help_text=_("base64url SubjectPublicKeyInfo DER (rsaEncryption)."))
    # Fernet token of the PKCS#8 DER private key; empty once destroyed.
    sealed_private_key = models.TextField(blank=True, editable=False)
    created_on = models.DateField(default=timezone.localdate, editable=False)
    destroyed_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["letter", "company__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "company"], condition=Q(destroyed_on__isnull=True), name="one_live_key_per_letter_and_company"
            ),
        ]
        verbose_name = _("token key")

    def __str__(self) -> str:
        return f"{self.company} ({self.key_id[:12]}…)"

    @property
    def is_live(self) -> bool:
        return self.destroyed_on is None and bool(self.sealed_private_key)


def _new_secret() -> bytes:  # the default of the unsealed field in migration 0001
    import secrets

    return secrets.token_bytes(32)


class VerificationSecret(models.Model):
    letter = models.OneToOneField(Letter, on_delete=models.CASCADE, related_name="verification_secret")
    # The 32-byte HMAC key, sealed (lib/sealing.py): useless without ENCRYPTION_KEY.
    sealed_digest_key = models.TextField(default=new_sealed_secret, editable=False)

    @property
    def digest_key(self) -> bytes:
        return unseal_secret(self.sealed_digest_key)


class Challenge(models.Model):
    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="+")
    address_digest = models.BinaryField(max_length=32, editable=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    code_digest = models.BinaryField(max_length=32, editable=False)
    expires_at = models.DateTimeField()
    wrong_attempts = models.PositiveSmallIntegerField(default=0)
    # Codes sent for this address today (a new request replaces the code and counts one more).
    sends = models.PositiveSmallIntegerField(default=1)
    sent_on = models.DateField(default=timezone.localdate)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["letter", "address_digest"], name="one_challenge_per_address"),
        ]


class Issuance(models.Model):
    # A random id: a sequential one would number issuance records in the order tokens were issued,
    # which, next to the numbering of signatures, would pair them up while the letter is open.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="+")
    address_digest = models.BinaryField(max_length=32, editable=False)
    issued_on = models.DateField(default=timezone.localdate)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["letter", "address_digest"], name="one_token_per_address")]


class Invitation(models.Model):
    class Status(models.TextChoices):
        UNUSED = "unused", _("Not used yet")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="invitations")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    code_digest = models.BinaryField(max_length=32, unique=True, editable=False)
    # The first characters of the code, so that an organizer can tell codes apart in the list.
    hint = models.CharField(max_length=40, editable=False)
    created_on = models.DateField(default=timezone.localdate, editable=False)
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("invitation code")

    def __str__(self) -> str:
        return f"{self.hint}… ({self.company})"

    @property
    def status(self) -> str:
        if self.used:
            return self.Status.USED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.UNUSED


class SecretsDestroyed(models.Model):
    """A letter closed: its private token keys and verification secrets were destroyed."""

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="+")
    destroyed_at = models.DateTimeField(default=timezone.now)
    keys_destroyed = models.PositiveIntegerField(default=0)
    issuance_records_deleted = models.PositiveIntegerField(default=0)
    challenges_deleted = models.PositiveIntegerField(default=0)
    invitations_deleted = models.PositiveIntegerField(default=0)
    # When the copies of the deleted rows left in the database's log were erased (actions.erase_remnants);
    # empty until then (the worker keeps trying).
    remnants_erased_at = models.DateTimeField(_("copies in the database log erased at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-destroyed_at"]
        verbose_name = _("destruction of a letter's secrets")
        verbose_name_plural = _("destructions of letters' secrets")

    def __str__(self) -> str:
        return f"{self.letter}: {self.destroyed_at:%Y-%m-%d %H:%M}"
