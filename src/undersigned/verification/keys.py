"""Token keys: created when first needed, private halves encrypted at rest, destroyed at closing.

The private key is kept as the PKCS#8 DER, encrypted with Fernet under a key derived from
``ENCRYPTION_KEY`` (a label different from lib/sealing.py's, so that the two uses never share a key).
A database dump alone cannot sign tokens. Each process keeps the keys it has decrypted in memory,
keyed by the sealed text itself: once the row's sealed key is erased, no process uses its copy again.
"""

from __future__ import annotations

import threading

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import IntegrityError, transaction

from undersigned.ledger.publish import publish_now
from undersigned.lib import blindrsa, sealing
from undersigned.lib.queries import one_or_none
from undersigned.verification.models import TokenKey

KEY_BITS = 2048

_cache_lock = threading.Lock()
_decrypted: dict[str, rsa.RSAPrivateKey] = {}


def _fernet(key: str) -> Fernet:
    return sealing._fernet(key, b"undersigned-token-keys")  # the same derivation (cached), a label of its own


def seal_private_key(private_key: rsa.RSAPrivateKey) -> str:
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _fernet(settings.ENCRYPTION_KEY).encrypt(der).decode("ascii")


def private_key_of(token_key: TokenKey) -> rsa.RSAPrivateKey:
    """The decrypted private key; ValueError if it was destroyed."""
    sealed = token_key.sealed_private_key
    if not sealed or token_key.destroyed_on:
        raise ValueError("this key's private half was destroyed")
    found = _decrypted.get(sealed)
    if found is None:
        der = _fernet(settings.ENCRYPTION_KEY).decrypt(sealed.encode("ascii"))
        found = serialization.load_der_private_key(der, password=None)
        with _cache_lock:
            _decrypted[sealed] = found
    return found


def forget_decrypted(sealed_texts) -> None:
    with _cache_lock:
        for sealed in sealed_texts:
            _decrypted.pop(sealed, None)


def store_key(letter, company, private_key: rsa.RSAPrivateKey) -> TokenKey:
    public = private_key.public_key()
    return TokenKey.objects.create(
        letter=letter, company=company, key_id=blindrsa.key_id(public),
        public_key=blindrsa.encode_public_key(public), sealed_private_key=seal_private_key(private_key),
    )


# Tests and benchmarks set this to reuse keys instead of spending 0.1–0.5 s generating each one.
generate_private_key = blindrsa.generate_private_key


def live_key(letter, company) -> TokenKey:
    """The letter's key for this company, created if there is none yet."""
    found = one_or_none(TokenKey.objects.filter(letter=letter, company=company, destroyed_on__isnull=True))
    if found:
        return found
    private_key = generate_private_key(KEY_BITS)
    try:
        with transaction.atomic():
            created = store_key(letter, company, private_key)
    except IntegrityError:  # another request created it at the same moment
        return TokenKey.objects.get(letter=letter, company=company, destroyed_on__isnull=True)
    # Clients redeem a token only once its key is in the public log: with PUBLICATION_INTERVAL = 0 it is
    # there at once; otherwise the next batch publishes it, usually before the signer has typed the code.
    # (A draft's log starts when it opens: invitations minted beforehand wait for that.)
    if letter.status != letter.Status.DRAFT:
        publish_now(letter)
    return created
