"""The transparency log's tables.

``LogEntry``, ``SubtreeHash`` and ``TreeHeadRecord`` rows are append-only: the models refuse ``save()`` on
an existing row and ``delete()``, their querysets refuse ``update()`` and ``delete()``, and database
triggers (migrations 0002 and 0003) refuse UPDATE and DELETE on these tables, whatever the code path.

The other tables record which rows of other apps have been published (the signatures app knows nothing
of the log) and hold the per-letter publisher state.
"""

from __future__ import annotations

from django.db import models


class AppendOnlyError(RuntimeError):
    """Something tried to change or remove a published log row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: no update")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: no delete")

    # bulk_update goes through update(); _raw_delete is what cascades use.
    def _raw_delete(self, using):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: no delete")


class AppendOnly(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only: no update")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only: no delete")


class InstanceKey(models.Model):
    """The instance's Ed25519 tree-head key. The private seed is Fernet-encrypted with ENCRYPTION_KEY."""

    public_key = models.BinaryField(max_length=32)
    key_id = models.CharField(max_length=64, unique=True)
    sealed_private_key = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # A rotated-out key: kept (public half) so old tree heads stay checkable; its statement links it.
    retired = models.BooleanField(default=False)
    rotation_statement = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["retired"], condition=models.Q(retired=False), name="one_current_instance_key")
        ]


class LetterLog(models.Model):
    """Per-letter publisher state: the row publishers lock, and the Merkle compact range."""

    letter = models.OneToOneField("letters.Letter", on_delete=models.PROTECT, related_name="log")
    # The log's name in its signed tree heads ("log_id"), fixed when the log is made: rebuilt from the
    # current SITE_URL it would change with a move to another domain (or a process started with another
    # SITE_URL), and every tree head signed before would stop verifying.
    identifier = models.CharField(max_length=500)
    size = models.PositiveBigIntegerField(default=0)
    compact_range = models.JSONField(default=dict)  # merkle.CompactRange.to_dict()
    last_batch = models.CharField(max_length=20, blank=True)


class LogEntry(AppendOnly):
    class Kind(models.TextChoices):
        KEY = "key"
        SIGNATURE = "signature"
        WITHDRAWAL = "withdrawal"
        INVALIDATION = "invalidation"

    log = models.ForeignKey(LetterLog, on_delete=models.PROTECT, related_name="entries")
    index = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    data = models.BinaryField()  # the canonical JSON bytes: the leaf
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        ordering = ["log", "index"]
        constraints = [models.UniqueConstraint(fields=["log", "index"], name="one_entry_per_index")]
        indexes = [models.Index(fields=["leaf_hash"], name="ledger_entry_leaf_hash")]


class SubtreeHash(AppendOnly):
    """MTH of the complete perfect subtree of 2**height leaves [index * 2**height, (index + 1) * 2**height).

    Written by the publisher with the entries that complete it, for every height >= subtrees.MIN_HEIGHT;
    what proofs are built from (ledger/subtrees.py says why this shape). A complete subtree never changes.
    """

    log = models.ForeignKey(LetterLog, on_delete=models.PROTECT, related_name="subtrees")
    height = models.PositiveSmallIntegerField()
    index = models.PositiveBigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["log", "height", "index"], name="one_subtree_per_position")]


class TreeHeadRecord(AppendOnly):
    log = models.ForeignKey(LetterLog, on_delete=models.PROTECT, related_name="tree_heads")
    tree_size = models.PositiveBigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    timestamp = models.CharField(max_length=20)
    key_id = models.CharField(max_length=64)
    signature = models.BinaryField(max_length=64)

    class Meta:
        ordering = ["log", "tree_size"]
        constraints = [models.UniqueConstraint(fields=["log", "tree_size"], name="one_tree_head_per_size")]


class PublishedSignature(models.Model):
    """A signature that has a signature entry; ``removed`` once its withdrawal or invalidation is published."""

    signature = models.OneToOneField("signatures.Signature", on_delete=models.PROTECT, related_name="publication")
    letter = models.ForeignKey("letters.Letter", on_delete=models.PROTECT, related_name="+")
    leaf_index = models.PositiveBigIntegerField()
    removed = models.BooleanField(default=False)
    removed_by_leaf = models.PositiveBigIntegerField(null=True)

    class Meta:
        # The public list: a letter's counted signatures in the log's order.
        indexes = [models.Index(fields=["letter", "removed", "leaf_index"], name="ledger_pubsig_public_list")]


class PublishedKey(models.Model):
    token_key = models.OneToOneField("verification.TokenKey", on_delete=models.PROTECT, related_name="publication")
    leaf_index = models.PositiveBigIntegerField()


class InvalidationTarget(models.Model):
    """Which signatures an invalidation stopped counting (recorded by moderation.actions.invalidate)."""

    invalidation = models.ForeignKey("moderation.Invalidation", on_delete=models.PROTECT, related_name="+")
    signature = models.ForeignKey("signatures.Signature", on_delete=models.PROTECT, related_name="+")


class PublishedInvalidation(models.Model):
    invalidation = models.OneToOneField("moderation.Invalidation", on_delete=models.PROTECT, related_name="+")
    leaf_index = models.PositiveBigIntegerField(null=True)  # null: none of its targets had been published
