"""Organizer decisions about signatures. Each is recorded; none deletes a signature."""

from __future__ import annotations

from django.db import transaction

from undersigned.moderation.models import Invalidation
from undersigned.signatures.models import Signature


def approve_details(signatures) -> int:
    """Show the names, roles, comments and unknown company names of these signatures."""
    return signatures.update(review=Signature.Review.APPROVED)


def hide_details(signatures) -> int:
    """Show these signatures as "Anonymous" (they still count)."""
    return signatures.update(review=Signature.Review.HIDDEN)


def release_held(signatures) -> int:
    """Count signatures that were held for review because they went over a rate limit."""
    return signatures.filter(status=Signature.Status.HELD).update(status=Signature.Status.CONFIRMED, held_for_review=False)


@transaction.atomic
def invalidate(letter, signatures, *, reason: str, user) -> Invalidation:
    """Stop counting these signatures of ``letter``, recording who did it and why."""
    reason = reason.strip()
    if not reason:
        raise ValueError("An invalidation needs a reason.")
    chosen = signatures.filter(letter=letter, status__in=[Signature.Status.CONFIRMED, Signature.Status.HELD])
    count = chosen.update(status=Signature.Status.INVALIDATED)
    return Invalidation.objects.create(letter=letter, reason=reason, signature_count=count, created_by=user)
