"""Symmetric encryption with the instance's ENCRYPTION_KEY (Fernet), for what must not be readable
from a database dump alone.

* :func:`seal` / :func:`unseal`: short-lived text (an address in the outbox until the worker sends it).
* :func:`seal_secret` / :func:`unseal_secret`: the keys of keyed digests kept in the database (a
  letter's verification secret and email-digest key, each day's rate-limit key). A dump of the
  database without ENCRYPTION_KEY cannot test an address, a network address or an email domain
  against the digests beside them.

Each use derives its own Fernet key from ENCRYPTION_KEY with a label of its own (the private token
keys use a third label, in verification/keys.py), so that no two uses share a key.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings

SEALING_LABEL = b"undersigned-sealing"
SECRETS_LABEL = b"undersigned-secrets"


@cache
def _fernet(key: str, label: bytes = SEALING_LABEL) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(label + b"\0" + key.encode()).digest()))


def seal(text: str) -> str:
    return _fernet(settings.ENCRYPTION_KEY).encrypt(text.encode()).decode("ascii")


def unseal(token: str) -> str:
    return _fernet(settings.ENCRYPTION_KEY).decrypt(token.encode("ascii")).decode()


def seal_secret(secret: bytes) -> str:
    return _fernet(settings.ENCRYPTION_KEY, SECRETS_LABEL).encrypt(secret).decode("ascii")


def unseal_secret(token: str) -> bytes:
    return _fernet(settings.ENCRYPTION_KEY, SECRETS_LABEL).decrypt(token.encode("ascii"))


def new_sealed_secret() -> str:
    """A new random 32-byte key, sealed (the default of the models' ``sealed_…`` fields)."""
    return seal_secret(secrets.token_bytes(32))
