"""Every change to signatures that has side effects goes through one of these functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from undersigned.companies.matching import canonical_email, match_company_id
from undersigned.ledger.publish import publish_now
from undersigned.letters.models import Letter, LetterSecret
from undersigned.lib.queries import one_or_none
from undersigned.lib.tokens import derived_token, keyed_digest, new_token, token_digest
from undersigned.messaging import emails
from undersigned.moderation import limits
from undersigned.signatures.models import Signature


class SigningClosed(Exception):
    """The letter does not take signatures (draft, closed or archived)."""


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _letter_url(letter: Letter) -> str:
    return _absolute(reverse("letters:detail", args=[letter.slug]))


def email_digest(letter: Letter, address: str) -> bytes:
    try:
        secret = letter.secret  # read with the letter when the caller asked for it
    except LetterSecret.DoesNotExist:  # the letter's first signature
        with transaction.atomic():
            if not letter.lock_while_open():
                raise SigningClosed(letter.slug)
            secret, _ = LetterSecret.objects.get_or_create(letter=letter)
    return keyed_digest(secret.email_digest_key, canonical_email(address))


@dataclass
class Submission:
    name: str
    company: str
    role: str
    comment: str
    show_name: bool
    email: str


def submit_signature(letter: Letter, submission: Submission, *, network_address: str | None) -> None:
    """Record a self-reported signature waiting for confirmation and queue the confirmation email.

    The caller's answer is the same whatever happens here (new signature, second one from the same
    address, held for review), so the page never reveals whether an address has signed.
    """
    if not letter.is_signable:
        raise SigningClosed(letter.slug)
    digest = email_digest(letter, submission.email)
    domain = submission.email.rpartition("@")[2].lower()
    held = limits.over_limit(letter, network_address=network_address, email_domain=domain)
    confirm_token = new_token()
    withdraw_token = withdrawal_token_for(confirm_token)
    fields = {
        "company_id": match_company_id(submission.company),
        "company_as_written": submission.company,
        "name": submission.name if submission.show_name else "",
        "role": submission.role,
        "comment": submission.comment,
        "show_name": submission.show_name,
        "held_for_review": held,
        "confirmation_digest": token_digest(confirm_token),
        "confirmation_expires_at": timezone.now() + timedelta(hours=settings.CONFIRMATION_HOURS),
        "withdrawal_digest": token_digest(withdraw_token),
    }
    confirmation = {
        "letter_title": letter.title_in(),
        "confirm_url": _absolute(reverse("signatures:confirm", args=[confirm_token])),
        "withdraw_url": _absolute(reverse("signatures:withdraw", args=[withdraw_token])),
        "hours": settings.CONFIRMATION_HOURS,
    }
    # The common case first, in one transaction of two INSERTs: a new address. The unique constraint on
    # (letter, address digest) over live signatures tells us otherwise.
    try:
        with transaction.atomic():
            Signature.objects.create(letter=letter, email_digest=digest, **fields)
            emails.signature_confirmation(submission.email, **confirmation)
        return
    except IntegrityError:
        pass
    with transaction.atomic():
        existing = (
            Signature.objects.select_for_update()
            .filter(letter=letter, email_digest=digest, status__in=Signature.LIVE_STATUSES)
            .first()
        )
        if existing is None:  # the other one was withdrawn or pruned in between: start again
            try:
                with transaction.atomic():
                    Signature.objects.create(letter=letter, email_digest=digest, **fields)
            except IntegrityError:  # the same address, submitted twice at the same moment
                emails.already_signed(submission.email, letter_title=letter.title_in(), letter_url=_letter_url(letter))
                return
        elif existing.status == Signature.Status.PENDING:
            # Not confirmed yet: the newest form wins and a fresh link replaces the old one.
            Signature.objects.filter(pk=existing.pk).update(**fields)
        else:
            emails.already_signed(submission.email, letter_title=letter.title_in(), letter_url=_letter_url(letter))
            return
        emails.signature_confirmation(submission.email, **confirmation)


def withdrawal_token_for(confirm_token: str) -> str:
    return derived_token(confirm_token, "withdraw")


def find_by_confirmation(token: str) -> Signature | None:
    # With its log entry, if any: the page after confirming says whether it is counted yet.
    return one_or_none(Signature.objects.select_related("letter", "publication")
                       .filter(confirmation_digest=token_digest(token)))


def confirm_signature(signature: Signature) -> bool:
    """Count a pending signature (or hold it for review). False if it can no longer be confirmed."""
    if signature.status != Signature.Status.PENDING or signature.confirmation_expired or not signature.letter.is_signable:
        return False
    target = Signature.Status.HELD if signature.held_for_review else Signature.Status.CONFIRMED
    updated = Signature.objects.filter(pk=signature.pk, status=Signature.Status.PENDING).update(
        status=target, confirmation_expires_at=None, confirmed_on=timezone.now().date()
    )
    signature.status = target
    if updated and target == Signature.Status.CONFIRMED:
        if publish_now(signature.letter):
            signature.refresh_from_db()  # published at once: read its new log entry
    return bool(updated)


def find_by_withdrawal(token: str) -> Signature | None:
    return one_or_none(Signature.objects.select_related("letter", "company").filter(withdrawal_digest=token_digest(token)))


def withdraw_signature(signature: Signature, *, withdrawal_secret: str = "") -> bool:
    """Remove a signature from the list and the counts. Its display fields are erased.

    ``withdrawal_secret``: for a verified signature, the secret its token commits to, kept to be published.
    """
    proof = {"withdrawal_secret": withdrawal_secret} if signature.kind == Signature.Kind.VERIFIED and withdrawal_secret else {}
    updated = Signature.objects.filter(pk=signature.pk, status__in=Signature.LIVE_STATUSES).update(
        status=Signature.Status.WITHDRAWN, name="", role="", comment="", show_name=False, confirmation_expires_at=None,
        **proof,
    )
    signature.status = Signature.Status.WITHDRAWN
    if updated:
        publish_now(signature.letter)
    return bool(updated)


def prune_expired_confirmations() -> int:
    """Forget signatures whose confirmation link expired unused (and with them the address digest)."""
    deleted, _ = Signature.objects.filter(
        status=Signature.Status.PENDING, confirmation_expires_at__lt=timezone.now() - timedelta(days=7)
    ).delete()
    return deleted


# Verified signatures (the token checks are in undersigned.verification.actions.redeem_token).


def record_verified_signature(letter: Letter, *, company, token_key, token_message: bytes, token_signature: bytes,
                              withdrawal_digest: bytes, name: str, role: str, comment: str,
                              show_name: bool) -> Signature | None:
    """Count a verified signature made from a checked token; None if the token was used before.

    It enters confirmed, dated by the day only, with nothing that refers to the token's issuance.
    """
    try:
        with transaction.atomic():
            created = Signature.objects.create(
                letter=letter, kind=Signature.Kind.VERIFIED, status=Signature.Status.CONFIRMED, company=company,
                company_as_written=company.name, name=name if show_name else "", role=role, comment=comment,
                show_name=show_name, confirmed_on=timezone.now().date(), token_key=token_key,
                token_message=token_message, token_signature=token_signature, withdrawal_digest=withdrawal_digest,
            )
    except IntegrityError:  # the same token (or, astronomically unlikely, the same withdrawal secret)
        return None
    publish_now(letter)
    return created


def withdraw_verified_signature(letter: Letter, withdrawal_digest: bytes, withdrawal_secret: str = "") -> Signature | None:
    """Withdraw the verified signature whose token commits to this digest; None if there is none."""
    signature = Signature.objects.filter(
        letter=letter, kind=Signature.Kind.VERIFIED, withdrawal_digest=withdrawal_digest
    ).select_related("company").first()
    if signature is not None:
        withdraw_signature(signature, withdrawal_secret=withdrawal_secret)
    return signature
