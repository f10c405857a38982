"""Symmetric encryption of short-lived values with the instance's ENCRYPTION_KEY (Fernet).

Used where a value must wait a little (an address in the outbox until the worker sends the message)
and must not be readable from a database dump alone.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings


@cache
def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"undersigned-sealing\0" + key.encode()).digest()))


def seal(text: str) -> str:
    return _fernet(settings.ENCRYPTION_KEY).encrypt(text.encode()).decode("ascii")


def unseal(token: str) -> str:
    return _fernet(settings.ENCRYPTION_KEY).decrypt(token.encode("ascii")).decode()
