"""Organizer decisions about signatures. Each is recorded; none deletes a signature."""

from __future__ import annotations

from django.db import transaction

from undersigned.ledger.publish import publish_now, record_invalidation
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
    held = signatures.filter(status=Signature.Status.HELD)
    letters = {s.letter for s in held.select_related("letter")}
    released = held.update(status=Signature.Status.CONFIRMED, held_for_review=False)
    for letter in letters:
        publish_now(letter)
    return released


@transaction.atomic
def invalidate(letter, signatures, *, reason: str, user) -> Invalidation:
    """Stop counting these signatures of ``letter``, recording who did it and why."""
    reason = reason.strip()
    if not reason:
        raise ValueError("An invalidation needs a reason.")
    chosen = signatures.filter(letter=letter, status__in=[Signature.Status.CONFIRMED, Signature.Status.HELD])
    ids = list(chosen.select_for_update().values_list("pk", flat=True))
    # By the same filter, not by the list of ids: a flood of thousands must not exceed a statement's
    # parameter limit (65,535 on PostgreSQL). The rows are locked, so the set is the same.
    count = chosen.update(status=Signature.Status.INVALIDATED)
    invalidation = Invalidation.objects.create(letter=letter, reason=reason, signature_count=count, created_by=user)
    record_invalidation(invalidation, ids)  # the log entry lists the published ones among them
    publish_now(letter)
    return invalidation
