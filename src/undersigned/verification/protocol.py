"""The token message and the receipt: pure functions, no database (see protocol.md).

A token message commits to a withdrawal secret, so that the published message and signature let
nobody but the holder of the secret withdraw the signature::

    W        = base64url(32 random bytes)                          (43 ASCII characters)
    c        = base64url(SHA-256(ASCII(W)))                        (43 ASCII characters)
    msg      = ASCII("undersigned-token:v1:" + letter slug + ":" + c)
    prepared = 32 random bytes || msg                              (RFC 9474 Prepare, Randomized)

The server signs (blindly) the RFC 9474 encoding of ``prepared``; the signature is an RSASSA-PSS
signature (SHA-384, MGF1-SHA-384, 48-byte salt) on ``prepared`` under the letter-and-company key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from undersigned.lib import blindrsa

PREFIX = "undersigned-token:v1:"
RANDOM_PREFIX_LEN = 32
RECEIPT_TYPE = "undersigned-receipt"
RECEIPT_TEXT_PREFIX = "undersigned-receipt:v1:"
_MESSAGE = re.compile(r"^undersigned-token:v1:([-a-zA-Z0-9_]{1,80}):([A-Za-z0-9_-]{43})$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


class BadToken(ValueError):
    """The message is not a token message of this protocol (the text is safe to show a client)."""


def new_withdrawal_secret() -> str:
    return blindrsa.b64u_encode(secrets.token_bytes(32))


def commitment(withdrawal_secret: str) -> bytes:
    """SHA-256 of the secret's ASCII: the value in the message and in ``Signature.withdrawal_digest``."""
    if not isinstance(withdrawal_secret, str) or not _SECRET.match(withdrawal_secret):
        raise BadToken("The withdrawal secret must be 43 base64url characters.")
    return hashlib.sha256(withdrawal_secret.encode("ascii")).digest()


def token_message(letter_slug: str, withdrawal_secret: str) -> bytes:
    """``msg`` (before RFC 9474 Prepare) for a letter and a withdrawal secret."""
    return f"{PREFIX}{letter_slug}:{blindrsa.b64u_encode(commitment(withdrawal_secret))}".encode("ascii")


@dataclass(frozen=True)
class ParsedToken:
    letter_slug: str
    commitment: bytes  # 32 bytes


def parse_prepared(prepared: bytes) -> ParsedToken:
    """Read a prepared token message (32 random bytes || msg); BadToken if it is not one."""
    if len(prepared) <= RANDOM_PREFIX_LEN:
        raise BadToken("The token message is too short.")
    try:
        text = prepared[RANDOM_PREFIX_LEN:].decode("ascii")
    except UnicodeDecodeError:
        raise BadToken("The token message is not an undersigned token.") from None
    found = _MESSAGE.match(text)
    if not found:
        raise BadToken("The token message is not an undersigned token.")
    return ParsedToken(found.group(1), blindrsa.b64u_decode(found.group(2)))


# --- receipts ---------------------------------------------------------------------------------------

RECEIPT_FIELDS = ("type", "version", "site", "letter", "company", "key_id", "message", "signature", "withdrawal_secret")


def make_receipt(*, site: str, letter: str, company: str, key_id: str, message: str, signature: str,
                 withdrawal_secret: str, **extra) -> dict:
    receipt = {"type": RECEIPT_TYPE, "version": 1, "site": site, "letter": letter, "company": company,
               "key_id": key_id, "message": message, "signature": signature, "withdrawal_secret": withdrawal_secret}
    receipt.update({k: v for k, v in extra.items() if v is not None})
    return receipt


def receipt_text(receipt: dict) -> str:
    """One line to copy: the prefix and base64url of the JSON (survives any copy and paste)."""
    data = json.dumps(receipt, separators=(",", ":"), sort_keys=True).encode()
    return RECEIPT_TEXT_PREFIX + blindrsa.b64u_encode(data)


def write_receipt_file(path, receipt: dict, *, one_line: bool = False) -> None:
    """Write a receipt readable by its owner only, all at once (a temporary file renamed over the old
    one): never a half-written receipt, even when the disk fills up. ``one_line``: the copyable text form."""
    path = Path(path)
    text = receipt_text(receipt) + "\n" if one_line else json.dumps(receipt, indent=2, sort_keys=True) + "\n"
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_receipt(text: str) -> dict:
    """A receipt from its one-line text or its JSON; BadToken if it is neither."""
    if not isinstance(text, str):
        raise BadToken("A receipt is text.")
    text = "".join(text.split())  # line breaks and spaces added by mail programs or terminals
    try:
        if text.startswith(RECEIPT_TEXT_PREFIX):
            data = json.loads(blindrsa.b64u_decode(text[len(RECEIPT_TEXT_PREFIX):]))
        else:
            data = json.loads(text)
    except (ValueError, blindrsa.BlindRSAError):
        raise BadToken("This is not a receipt: paste the whole text, starting with “undersigned-receipt:v1:”.") from None
    if not isinstance(data, dict) or data.get("type") != RECEIPT_TYPE or data.get("version") != 1:
        raise BadToken("This is not a receipt: paste the whole text, starting with “undersigned-receipt:v1:”.")
    for field in ("letter", "key_id", "message", "signature"):
        if not isinstance(data.get(field), str):
            raise BadToken(f"The receipt has no {field}.")
    return data
