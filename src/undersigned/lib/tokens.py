"""Random tokens for links, and the digests we keep instead of them.

Links carry a random token; the database keeps only its SHA-256, so a copy of the database cannot be
used to confirm or withdraw anybody's signature. The tokens have 256 bits of entropy, so a plain hash
(not a slow password hash) is enough.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


def keyed_digest(key: bytes, value: str) -> bytes:
    """HMAC-SHA-256 of ``value``: recognises a value seen before without keeping it."""
    return hmac.new(bytes(key), value.encode("utf-8"), hashlib.sha256).digest()


def derived_token(token: str, purpose: str) -> str:
    """A second token that only the holder of ``token`` can compute.

    The withdrawal link is derived from the confirmation link, so the page shown after confirming can
    show the same withdrawal link as the email without the server keeping either token.
    """
    mac = hmac.new(token.encode("ascii", "replace"), purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
