"""Publication: append what happened since the last batch to each letter's log and sign a tree head.

``publish_pending(letter=None)`` appends, per letter, every token key, confirmed signature, withdrawal
and invalidation not yet in the log: keys first, in key id order (a signature's key must precede it),
everything else shuffled (``secrets.SystemRandom``) so that the order inside a batch says nothing about
who came first, all stamped with the batch time rounded down to the publication interval (at least a minute). Then it
signs a tree head over the whole log. One publisher at a time per letter: the letter's ``LetterLog`` row
is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers anyway).

In the same transaction it stores the hash of every perfect subtree of 16 leaves or more that the batch
completes (``SubtreeHash``; ledger/subtrees.py), from which proofs are built in O(log n) rows.

With ``PUBLICATION_INTERVAL = 0`` the actions that change signatures call ``publish_now`` and the log
(and the counts, which follow the log) change at once; otherwise the worker publishes every interval.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from undersigned.ledger import keys as instance_keys
from undersigned.ledger import subtrees
from undersigned.ledger.models import (
    InvalidationTarget,
    LetterLog,
    LogEntry,
    PublishedInvalidation,
    PublishedKey,
    PublishedSignature,
    SubtreeHash,
    TreeHeadRecord,
)
from undersigned.lib import merkle, treehead
from undersigned.lib.blindrsa import b64u_encode
from undersigned.lib.canonical import canonical_json

log = logging.getLogger("undersigned.ledger")

VARIANT = "RSABSSA-SHA384-PSS-Randomized"
_random = secrets.SystemRandom()


def new_log_identifier(letter) -> str:
    """The name a new log gets (and keeps: LetterLog.identifier): where the letter is published."""
    return f"{settings.SITE_URL}/letters/{letter.slug}"


def batch_time(now: datetime | None = None) -> str:
    return treehead.coarse_timestamp(now or datetime.now(UTC), granularity=max(60, settings.PUBLICATION_INTERVAL))


def letter_log(letter) -> LetterLog:
    found = LetterLog.objects.filter(letter=letter).first()
    if found is None:
        try:
            with transaction.atomic():
                found = LetterLog.objects.create(letter=letter, identifier=new_log_identifier(letter))
        except IntegrityError:
            found = LetterLog.objects.get(letter=letter)
    return found


def _pending(letter, batch: str):
    """(key items, other items); each item is (entry object, what to record once it has its index)."""
    from undersigned.moderation.models import Invalidation
    from undersigned.signatures.models import Signature
    from undersigned.verification.models import TokenKey

    key_items = []
    # Keys in key id order (their order says nothing about anyone), before the signatures using them.
    for key in TokenKey.objects.filter(letter=letter, publication__isnull=True).select_related("company").order_by("key_id"):
        entry = {"batch": batch, "company": key.company.slug, "key_id": key.key_id, "kind": "key",
                 "spki": key.public_key, "variant": VARIANT}
        key_items.append((entry, ("key", key.pk)))

    items = []
    signatures = list(
        Signature.objects.filter(letter=letter, status=Signature.Status.CONFIRMED, publication__isnull=True)
        .select_related("company", "token_key").only("id", "kind", "company_id", "company__slug", "token_key__key_id",
                                                      "token_message", "token_signature")
    )
    for signature in signatures:
        if signature.kind == Signature.Kind.VERIFIED:
            entry = {"batch": batch, "company": signature.company.slug, "display": {},
                     "key_id": signature.token_key.key_id, "kind": "signature",
                     "message": b64u_encode(bytes(signature.token_message)),
                     "signature": b64u_encode(bytes(signature.token_signature)), "type": "verified"}
        else:
            # No display fields and no identifier but a random id: the log links to no person.
            # The company it was matched to, as verified entries name theirs: counts roll up to the
            # top parent of today's registry on both sides, so a registry change cannot set them apart.
            entry = {"batch": batch, "company": signature.company.slug if signature.company_id else None, "display": {},
                     "id": secrets.token_hex(16), "kind": "signature", "type": "self_reported"}
        items.append((entry, ("signature", signature.pk)))

    for published in PublishedSignature.objects.filter(
        letter=letter, removed=False, signature__status=Signature.Status.WITHDRAWN
    ).only("id", "leaf_index", "signature__withdrawal_secret"):
        entry = {"batch": batch, "kind": "withdrawal", "target": published.leaf_index}
        # A verified signer's revealed secret proves the withdrawal was theirs; without it (self-reported
        # signatures) a withdrawal is the operator's statement.
        if published.signature.withdrawal_secret:
            entry["secret"] = published.signature.withdrawal_secret
        items.append((entry, ("withdrawal", published.pk)))

    done = PublishedInvalidation.objects.values("invalidation_id")
    for invalidation in Invalidation.objects.filter(letter=letter).exclude(pk__in=done).order_by("id"):
        targets = list(
            PublishedSignature.objects.filter(
                removed=False,
                signature_id__in=InvalidationTarget.objects.filter(invalidation=invalidation).values("signature_id"),
            ).values_list("pk", "leaf_index")
        )
        if not targets:
            items.append((None, ("invalidation", invalidation.pk, [])))
            continue
        targets.sort(key=lambda t: t[1])
        entry = {"batch": batch, "kind": "invalidation", "reason": invalidation.reason[:2000],
                 "targets": [leaf for _pk, leaf in targets]}
        items.append((entry, ("invalidation", invalidation.pk, [pk for pk, _leaf in targets])))
    return key_items, items


def _publish_letter(letter, now: datetime | None) -> int:
    with transaction.atomic():
        state = LetterLog.objects.select_for_update().get(pk=letter_log(letter).pk)
        batch = max(batch_time(now), state.last_batch or "")
        if subtrees.has_gap(state.pk, state.size):  # a batch published by code that did not store them
            log.warning("log of %s lacks subtree hashes: storing them again from its leaves", letter.slug)
            subtrees.backfill(state.pk)
        key_items, items = _pending(letter, batch)
        has_head = TreeHeadRecord.objects.filter(log=state).exists()
        if not key_items and not items and has_head:
            return 0
        _random.shuffle(items)
        tree = subtrees.SubtreeBuilder(
            merkle.CompactRange.from_dict(state.compact_range) if state.compact_range else None
        )
        entries, published_keys, published_signatures, removals, invalidations = [], [], [], [], []
        for entry, what in key_items + items:
            if entry is None:
                invalidations.append(PublishedInvalidation(invalidation_id=what[1], leaf_index=None))
                continue
            index = tree.size
            data = canonical_json(entry)
            leaf = merkle.leaf_hash(data)
            tree.append(leaf)
            entries.append(LogEntry(log=state, index=index, kind=entry["kind"], data=data, leaf_hash=leaf))
            if what[0] == "key":
                published_keys.append(PublishedKey(token_key_id=what[1], leaf_index=index))
            elif what[0] == "signature":
                published_signatures.append(PublishedSignature(signature_id=what[1], letter=letter, leaf_index=index))
            elif what[0] == "withdrawal":
                removals.append(([what[1]], index))
            else:
                removals.append((what[2], index))
                invalidations.append(PublishedInvalidation(invalidation_id=what[1], leaf_index=index))
        LogEntry.objects.bulk_create(entries, batch_size=500)
        SubtreeHash.objects.bulk_create(subtrees.rows(state.pk, tree.take()), batch_size=500)
        cr = tree.compact_range()
        PublishedKey.objects.bulk_create(published_keys)
        PublishedSignature.objects.bulk_create(published_signatures, batch_size=500)
        PublishedInvalidation.objects.bulk_create(invalidations)
        for pks, index in removals:
            for start in range(0, len(pks), 10_000):  # under a statement's parameter limit
                PublishedSignature.objects.filter(pk__in=pks[start : start + 10_000]).update(removed=True, removed_by_leaf=index)
        key = instance_keys.current_key()
        head = treehead.sign_tree_head(
            instance_keys.private_key(key), treehead.TreeHead(state.identifier, cr.size, cr.root(), batch)
        )
        if not TreeHeadRecord.objects.filter(log=state, tree_size=cr.size).exists():
            TreeHeadRecord.objects.create(log=state, tree_size=cr.size, root_hash=head.tree_head.root_hash,
                                          timestamp=batch, key_id=head.key_id, signature=head.signature)
        LetterLog.objects.filter(pk=state.pk).update(size=cr.size, compact_range=cr.to_dict(), last_batch=batch)
        return len(entries)


def publish_pending(letter=None, *, now: datetime | None = None) -> int:
    """Publish every letter's (or one letter's) pending changes as one batch each; return entries added."""
    from undersigned.letters.models import Letter

    letters = [letter] if letter is not None else list(Letter.objects.exclude(status=Letter.Status.DRAFT))
    return sum(_publish_letter(one, now) for one in letters)


def publish_now(letter) -> bool:
    """Called by actions after a change: with PUBLICATION_INTERVAL = 0, publish right away. True if it did.

    A failure here never undoes the signer's action (a savepoint keeps it apart): the worker publishes
    at its next round instead.
    """
    if settings.PUBLICATION_INTERVAL != 0:
        return False
    try:
        publish_pending(letter)
    except Exception:  # noqa: BLE001
        log.exception("publication of %s failed; the worker will retry", letter.slug)
        return False
    return True


def record_invalidation(invalidation, signature_ids) -> None:
    """Remember which signatures an invalidation covered (its log entry lists their leaves)."""
    InvalidationTarget.objects.bulk_create(
        [InvalidationTarget(invalidation=invalidation, signature_id=pk) for pk in signature_ids], batch_size=1000
    )
