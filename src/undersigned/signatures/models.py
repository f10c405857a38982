"""Signatures: who signed a letter, as what they chose to show, and whether it counts."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from undersigned.companies.models import Company
from undersigned.letters.models import Letter


class HourDateTimeField(models.DateTimeField):
    """A date and time stored rounded up to the next full hour (a value on the hour stays as it is).

    For the confirmation deadline of a pending signature: set to "now + CONFIRMATION_HOURS" when the
    form is submitted, it would otherwise keep the submission time to the microsecond, which next to
    the log's batch times and a server's access logs helps tell which signature was whose. Rounded
    up, a link is valid for between CONFIRMATION_HOURS and one hour more, never less than the email
    says. Only written values are rounded (``create``, ``save``, ``update``), not values compared
    against in queries.
    """

    def get_db_prep_save(self, value, connection):
        if value is not None:
            rounded = value.replace(minute=0, second=0, microsecond=0)
            if rounded != value:
                value = rounded + timedelta(hours=1)
        return super().get_db_prep_save(value, connection)


class Signature(models.Model):
    class Kind(models.TextChoices):
        VERIFIED = "verified", _("Verified")
        SELF_REPORTED = "self_reported", _("Self-reported")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for email confirmation")
        HELD = "held", _("Held for review")
        CONFIRMED = "confirmed", _("Confirmed")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        INVALIDATED = "invalidated", _("Invalidated")

    class Review(models.TextChoices):
        PENDING = "pending", _("Not yet reviewed")
        APPROVED = "approved", _("Approved")
        HIDDEN = "hidden", _("Hidden")

    # Named groups of states.
    COUNTED_STATUSES = (Status.CONFIRMED,)
    # One live signature per address and letter; a withdrawn signer may sign again.
    LIVE_STATUSES = (Status.PENDING, Status.HELD, Status.CONFIRMED)

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="signatures")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SELF_REPORTED)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # The registry company the signer's words matched (may be a subsidiary; counts roll up to its root).
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.PROTECT, related_name="signatures")
    # What the signer wrote, kept as written.
    company_as_written = models.CharField(max_length=120)
    name = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=120, blank=True)
    comment = models.TextField(max_length=500, blank=True)
    show_name = models.BooleanField(default=False)
    # Names, roles, comments and unknown company names are shown only once an organizer approves them;
    # a hidden signature still counts, shown as "Anonymous".
    review = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING)
    # Over a rate limit when submitted: after confirmation it waits for an organizer instead of counting.
    held_for_review = models.BooleanField(default=False)

    # HMAC of the canonical email address with the letter's secret key: recognises a second signature
    # from the same address without storing the address. Null for verified signatures.
    email_digest = models.BinaryField(max_length=32, null=True, editable=False)
    confirmation_digest = models.BinaryField(max_length=32, null=True, editable=False)
    # Rounded up to the hour: no submission time to the microsecond (see HourDateTimeField).
    confirmation_expires_at = HourDateTimeField(null=True, editable=False)
    withdrawal_digest = models.BinaryField(max_length=32, null=True, editable=False)
    # A verified signer withdraws by revealing the secret their token commits to; once revealed it is
    # public proof, published in the log so that anyone can check the withdrawal was the signer's.
    withdrawal_secret = models.CharField(max_length=43, blank=True, default="", db_default="", editable=False)
    # Day granularity only: finer times would help correlate a signature with a visit.
    confirmed_on = models.DateField(null=True, editable=False)

    # Verified signatures: the token that proves "a distinct verified employee" (verification/protocol.md):
    # the prepared token message, its RSA blind signature (finalised) and the letter-and-company key.
    # Nothing refers to how the token was issued.
    token_message = models.BinaryField(max_length=512, null=True, editable=False)
    token_signature = models.BinaryField(max_length=1024, null=True, editable=False)
    token_key = models.ForeignKey(
        "verification.TokenKey", null=True, blank=True, on_delete=models.PROTECT, related_name="signatures", editable=False
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["letter", "status"], name="signature_letter_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "email_digest"],
                condition=Q(status__in=["pending", "held", "confirmed"]) & Q(email_digest__isnull=False),
                name="one_live_signature_per_address",
            ),
            models.UniqueConstraint(
                fields=["withdrawal_digest"], condition=Q(withdrawal_digest__isnull=False), name="unique_withdrawal"
            ),
            models.UniqueConstraint(
                fields=["confirmation_digest"], condition=Q(confirmation_digest__isnull=False), name="unique_confirmation"
            ),
            models.UniqueConstraint(
                fields=["letter", "token_message"], condition=Q(token_message__isnull=False), name="one_signature_per_token"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name}, {self.display_company}"

    @property
    def is_counted(self) -> bool:
        return self.status in self.COUNTED_STATUSES

    @property
    def confirmation_expired(self) -> bool:
        return self.confirmation_expires_at is not None and self.confirmation_expires_at < timezone.now()

    # What the public sees.

    @property
    def shows_details(self) -> bool:
        return self.review == self.Review.APPROVED

    @property
    def display_name(self) -> str:
        if self.show_name and self.name and self.shows_details:
            return self.name
        return str(_("Anonymous"))

    @property
    def display_role(self) -> str:
        return self.role if self.show_name and self.shows_details else ""

    @property
    def display_comment(self) -> str:
        return self.comment if self.shows_details else ""

    @property
    def display_company(self) -> str:
        if self.company_id:
            return self.company.name
        if self.shows_details:
            return self.company_as_written
        return str(_("another company"))
