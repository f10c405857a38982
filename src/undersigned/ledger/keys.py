"""The instance's Ed25519 tree-head key: created when first needed, its private seed encrypted at rest
with a key derived from ``ENCRYPTION_KEY`` (a label of its own, so no other use shares the key)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import IntegrityError, transaction

from undersigned.ledger.models import InstanceKey
from undersigned.lib import sealing, treehead


def _fernet() -> Fernet:
    return sealing._fernet(settings.ENCRYPTION_KEY, b"undersigned-log-key")  # the same derivation, a label of its own


def _store(private_key: Ed25519PrivateKey) -> InstanceKey:
    return InstanceKey.objects.create(
        public_key=treehead.public_key_bytes(private_key),
        key_id=treehead.key_id(private_key),
        sealed_private_key=_fernet().encrypt(treehead.private_key_bytes(private_key)).decode("ascii"),
    )


def current_key() -> InstanceKey:
    key = InstanceKey.objects.filter(retired=False).first()
    if key is None:
        try:
            with transaction.atomic():
                key = _store(treehead.generate_key())
        except IntegrityError:  # another process created it first
            key = InstanceKey.objects.get(retired=False)
    return key


@lru_cache(maxsize=8)
def _private(sealed: str, encryption_key: str) -> Ed25519PrivateKey:
    return treehead.load_private_key(_fernet().decrypt(sealed.encode("ascii")))


def private_key(key: InstanceKey) -> Ed25519PrivateKey:
    return _private(key.sealed_private_key, settings.ENCRYPTION_KEY)


def rotations() -> list[dict]:
    """Every rotation statement, oldest first (for exports)."""
    return [k.rotation_statement for k in InstanceKey.objects.exclude(rotation_statement=None).order_by("id")]


@transaction.atomic
def rotate() -> InstanceKey:
    """Replace the current key; the statement signed by both keys links them (lib/treehead.py)."""
    old = InstanceKey.objects.select_for_update().get(retired=False)
    new_private = treehead.generate_key()
    statement = treehead.sign_key_rotation(private_key(old), new_private)
    InstanceKey.objects.filter(pk=old.pk).update(retired=True)
    new = _store(new_private)
    InstanceKey.objects.filter(pk=new.pk).update(rotation_statement=statement)
    new.rotation_statement = statement
    return new
