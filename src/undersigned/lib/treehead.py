"""Signed tree heads (Ed25519) for the transparency log, and instance key rotation.

A tree head says "the log ``log_id`` held ``tree_size`` entries whose Merkle root (RFC 9162 §2.1) was
``root_hash`` at ``timestamp``". Its signed bytes are the RFC 8785 canonical JSON of::

    {"type": "undersigned/tree-head/v1", "log_id": "...", "tree_size": 1234,
     "root_hash": "<base64url of 32 bytes>", "timestamp": "2026-01-20T10:05:00Z"}

signed with the instance's Ed25519 key (RFC 8032, pure Ed25519 through ``cryptography``). The ``type``
member separates tree heads from every other statement the same key signs (key rotations below), so a
signature on one can never be replayed as the other. ``log_id`` names one letter's log on one instance
(the export format uses ``"<instance origin>/letters/<slug>"``), so a tree head of another log, even one
signed by the same key, is refused. Timestamps are UTC with whole seconds; the server rounds them down
to its publication batch (``coarse_timestamp``) so they reveal no more than the batch does.

Binary values are base64url without padding (RFC 4648 §5), as everywhere in the log and the API.
Keys: the public key is published as its raw 32 bytes in base64url; its key id is the lowercase hex
SHA-256 of those 32 bytes (``key_id``). The private key is stored as its raw 32-byte seed.

Key rotation. An instance replaces its key (compromise, schedule, a new operator) by publishing a
rotation statement, canonical JSON of::

    {"type": "undersigned/key-rotation/v1", "old_key": "<base64url>", "new_key": "<base64url>",
     "timestamp": "..."}

signed by **both** keys: the old key says "my successor is new_key" (so whoever trusted the old key can
follow), and the new key says "my predecessor is old_key" (so whoever pins the new key can still check the
tree heads the old key signed, and nobody can claim a successor without holding it). Exports carry every
rotation statement of the instance; the auditor accepts a tree head signed by any key linked by a chain of
valid statements to the key it trusts, and nothing else. Tree heads signed after a rotation use the new key
only. A compromised old key can still sign statements naming another successor: the auditor reports a
fork (two successors of one key) as a failure, and operators announce rotations on the site as well.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from undersigned.lib.blindrsa import MalformedInput, b64u_decode, b64u_encode
from undersigned.lib.canonical import canonical_json

__all__ = [
    "TREE_HEAD_TYPE",
    "KEY_ROTATION_TYPE",
    "TreeHeadError",
    "TreeHead",
    "SignedTreeHead",
    "generate_key",
    "private_key_bytes",
    "load_private_key",
    "public_key_bytes",
    "public_key_b64",
    "load_public_key",
    "key_id",
    "coarse_timestamp",
    "sign_tree_head",
    "verify_tree_head",
    "sign_key_rotation",
    "verify_key_rotation",
]

TREE_HEAD_TYPE = "undersigned/tree-head/v1"
KEY_ROTATION_TYPE = "undersigned/key-rotation/v1"
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_MAX_SIZE = 2**53 - 1


class TreeHeadError(ValueError):
    """A tree head or rotation statement that is malformed or whose signature does not verify."""


# --- Keys ----------------------------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte seed (keep it secret; store it encrypted)."""
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def load_private_key(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != 32:
        raise TreeHeadError("an Ed25519 private key is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    return b64u_encode(public_key_bytes(key))


def _b64decode(value: Any, what: str, length: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise TreeHeadError(f"{what} is not a base64url string")
    try:
        raw = b64u_decode(value)
    except MalformedInput:
        raise TreeHeadError(f"{what} is not valid base64url (RFC 4648 §5, no padding)") from None
    if length is not None and len(raw) != length:
        raise TreeHeadError(f"{what} is {len(raw)} bytes, not {length}")
    return raw


def load_public_key(key: bytes | str | Ed25519PublicKey) -> Ed25519PublicKey:
    """From raw 32 bytes, their base64url, or a key object."""
    if isinstance(key, Ed25519PublicKey):
        return key
    raw = _b64decode(key, "the public key", 32) if isinstance(key, str) else key
    if len(raw) != 32:
        raise TreeHeadError("an Ed25519 public key is 32 bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:  # pragma: no cover - every 32-byte string loads; kept for safety
        raise TreeHeadError("not an Ed25519 public key") from None


def key_id(key: bytes | str | Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Lowercase hex SHA-256 of the raw 32-byte public key."""
    if isinstance(key, (Ed25519PrivateKey, Ed25519PublicKey)):
        raw = public_key_bytes(key)
    else:
        raw = public_key_bytes(load_public_key(key))
    return hashlib.sha256(raw).hexdigest()


def coarse_timestamp(when: datetime | None = None, granularity: int = 60) -> str:
    """``when`` (default now) in UTC, rounded down to ``granularity`` seconds, as ``YYYY-MM-DDTHH:MM:SSZ``."""
    when = datetime.now(UTC) if when is None else when.astimezone(UTC)
    seconds = int(when.timestamp())
    seconds -= seconds % granularity
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_timestamp(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        raise TreeHeadError(f"{what} is not a UTC time like 2026-01-20T10:05:00Z")
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise TreeHeadError(f"{what} is not a valid date and time") from None
    return value


# --- Tree heads ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeHead:
    log_id: str
    tree_size: int
    root_hash: bytes
    timestamp: str

    def to_dict(self) -> dict:
        return {
            "type": TREE_HEAD_TYPE,
            "log_id": self.log_id,
            "tree_size": self.tree_size,
            "root_hash": b64u_encode(self.root_hash),
            "timestamp": self.timestamp,
        }

    def signing_input(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> TreeHead:
        if not isinstance(data, dict):
            raise TreeHeadError("a tree head is a JSON object")
        expected = {"type", "log_id", "tree_size", "root_hash", "timestamp"}
        if set(data) != expected:
            raise TreeHeadError(f"a tree head has exactly the members {sorted(expected)}, not {sorted(data)}")
        if data["type"] != TREE_HEAD_TYPE:
            raise TreeHeadError(f"tree head type {data['type']!r} is not {TREE_HEAD_TYPE!r}")
        if not isinstance(data["log_id"], str) or not data["log_id"]:
            raise TreeHeadError("log_id is not a non-empty string")
        size = data["tree_size"]
        if type(size) is not int or not 0 <= size <= _MAX_SIZE:
            raise TreeHeadError("tree_size is not a non-negative integer")
        root = _b64decode(data["root_hash"], "root_hash", 32)
        return cls(data["log_id"], size, root, _check_timestamp(data["timestamp"], "timestamp"))


@dataclass(frozen=True)
class SignedTreeHead:
    tree_head: TreeHead
    key_id: str
    signature: bytes

    def to_dict(self) -> dict:
        return {
            "tree_head": self.tree_head.to_dict(),
            "key_id": self.key_id,
            "signature": b64u_encode(self.signature),
        }

    @classmethod
    def from_dict(cls, data: Any) -> SignedTreeHead:
        """Parse (not verify) a signed tree head; extra members such as ``kind`` are ignored."""
        if not isinstance(data, dict):
            raise TreeHeadError("a signed tree head is a JSON object")
        for member in ("tree_head", "key_id", "signature"):
            if member not in data:
                raise TreeHeadError(f"a signed tree head has no {member}")
        if not isinstance(data["key_id"], str) or not re.fullmatch(r"[0-9a-f]{64}", data["key_id"]):
            raise TreeHeadError("key_id is not 64 lowercase hex digits")
        return cls(TreeHead.from_dict(data["tree_head"]), data["key_id"], _b64decode(data["signature"], "signature", 64))


def sign_tree_head(private_key: Ed25519PrivateKey, tree_head: TreeHead) -> SignedTreeHead:
    TreeHead.from_dict(tree_head.to_dict())  # refuse to sign what a verifier would refuse to read
    return SignedTreeHead(tree_head, key_id(private_key), private_key.sign(tree_head.signing_input()))


def verify_tree_head(public_key: bytes | str | Ed25519PublicKey, signed: SignedTreeHead) -> None:
    """Raise ``TreeHeadError`` unless ``signed`` carries a valid signature by ``public_key``."""
    key = load_public_key(public_key)
    if signed.key_id != key_id(key):
        raise TreeHeadError(f"the tree head is signed by key {signed.key_id[:16]}…, not {key_id(key)[:16]}…")
    try:
        key.verify(signed.signature, signed.tree_head.signing_input())
    except InvalidSignature:
        raise TreeHeadError("the tree head signature does not verify") from None


# --- Key rotation --------------------------------------------------------------------------------------


def _rotation_body(old: bytes, new: bytes, timestamp: str) -> dict:
    return {
        "type": KEY_ROTATION_TYPE,
        "old_key": b64u_encode(old),
        "new_key": b64u_encode(new),
        "timestamp": timestamp,
    }


def sign_key_rotation(old_key: Ed25519PrivateKey, new_key: Ed25519PrivateKey, timestamp: str | None = None) -> dict:
    """The statement announcing ``new_key`` as successor of ``old_key``, signed by both (see module doc)."""
    timestamp = _check_timestamp(timestamp or coarse_timestamp(granularity=1), "timestamp")
    old, new = public_key_bytes(old_key), public_key_bytes(new_key)
    if old == new:
        raise TreeHeadError("a key cannot succeed itself")
    body = _rotation_body(old, new, timestamp)
    message = canonical_json(body)
    return {
        "statement": body,
        "old_signature": b64u_encode(old_key.sign(message)),
        "new_signature": b64u_encode(new_key.sign(message)),
    }


def verify_key_rotation(statement: Any) -> tuple[bytes, bytes]:
    """Check both signatures of a rotation statement; return (old raw public key, new raw public key)."""
    if not isinstance(statement, dict) or set(statement) != {"statement", "old_signature", "new_signature"}:
        raise TreeHeadError("a key rotation has exactly statement, old_signature and new_signature")
    body = statement["statement"]
    if not isinstance(body, dict) or set(body) != {"type", "old_key", "new_key", "timestamp"}:
        raise TreeHeadError("a key rotation statement has exactly type, old_key, new_key and timestamp")
    if body["type"] != KEY_ROTATION_TYPE:
        raise TreeHeadError(f"statement type {body['type']!r} is not {KEY_ROTATION_TYPE!r}")
    old = _b64decode(body["old_key"], "old_key", 32)
    new = _b64decode(body["new_key"], "new_key", 32)
    if old == new:
        raise TreeHeadError("a key cannot succeed itself")
    timestamp = _check_timestamp(body["timestamp"], "timestamp")
    message = canonical_json(_rotation_body(old, new, timestamp))
    for which, raw in (("old", old), ("new", new)):
        signature = _b64decode(statement[f"{which}_signature"], f"{which}_signature", 64)
        try:
            load_public_key(raw).verify(signature, message)
        except InvalidSignature:
            raise TreeHeadError(f"the {which} key's signature on the rotation does not verify") from None
    return old, new
