"""Generate valid log exports (``export_format.md``) for tests and benchmarks, without the database.

``SyntheticLog(n_verified=…, …)`` makes per-company RSA token keys and an Ed25519 instance key, then
``lines()`` yields the export's lines (uncompressed). A verified signature's token is an RFC 9474
prepared message (32 random bytes ‖ ``undersigned-token:v1:<letter>:`` ‖ base64url(SHA-256(secret)), as
in verification/protocol.md) with its RSASSA-PSS signature (SHA-384, MGF1-SHA-384, 48-byte salt): that
is exactly what a finalised RSABSSA-SHA384-PSS-Randomized blind signature is, so ``cryptography`` signs
it directly with the private key, and nothing in the export differs from blind-signed tokens.

Signing is the cost (about 1 ms a token): with ``workers`` > 1, worker processes sign and serialise whole
batches while this process draws the next ones, hashes the tree and compresses. Everything is drawn from
``random.Random(seed)`` in this process (not for real keys or tokens, only for reproducible test data),
so the entries do not depend on ``workers``; only the PSS salts, which OpenSSL draws, differ between runs
(so each run of ``lines()`` has other leaf hashes and tree heads).

After ``lines()`` has run, ``expected`` holds the counts the auditor must report and ``tree_heads`` the
signed tree heads, ``leaf_hashes`` every leaf hash (for proofs in tests).
"""

from __future__ import annotations

import multiprocessing
import random
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from undersigned.lib import blindrsa, merkle
from undersigned.lib.blindrsa import b64u_encode
from undersigned.lib.canonical import canonical_json
from undersigned.lib.treehead import SignedTreeHead, TreeHead, public_key_b64, sign_tree_head
from undersigned.verification.protocol import token_message

__all__ = ["DEFAULT_COMPANIES", "SyntheticLog", "VARIANT", "sign_token"]

VARIANT = "RSABSSA-SHA384-PSS-Randomized"
DEFAULT_COMPANIES = ("google", "amazon", "meta", "microsoft", "salesforce")

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
_SHA384 = hashes.SHA384()


def sign_token(private_key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    """The signature a signer finalises for the prepared ``message`` (RFC 9474 §4.4: an RSASSA-PSS one)."""
    return private_key.sign(message, _PSS, _SHA384)


# A batch of entries, each with its token message and withdrawal secret (verified signatures) or Nones.
_Batch = list[tuple[dict, bytes | None, str | None]]


def _finish_batch(keys: dict[str, rsa.RSAPrivateKey], batch: _Batch) -> list[tuple[bytes, bytes]]:
    """Sign the batch's tokens and serialise its entries: (line, leaf hash) for each."""
    out = []
    for entry, message, _secret in batch:
        if message is not None:
            entry["signature"] = b64u_encode(sign_token(keys[entry["company"]], message))
        data = canonical_json(entry)
        out.append((data + b"\n", merkle.leaf_hash(data)))
    return out


_WORKER_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def _init_worker(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    _WORKER_KEYS.update(keys)


def _finish_in_worker(batch: _Batch) -> list[tuple[bytes, bytes]]:
    return _finish_batch(_WORKER_KEYS, batch)


@dataclass
class SyntheticLog:
    n_verified: int = 20
    n_self_reported: int = 5
    n_withdrawals: int = 2
    n_invalidated: int = 1
    companies: Sequence[str] = DEFAULT_COMPANIES
    batch_size: int = 10
    seed: int = 42
    letter: str = "cancel-the-contracts"
    origin: str = "https://undersigned.example"
    rsa_keys: dict[str, rsa.RSAPrivateKey] | None = None
    log_key: Ed25519PrivateKey | None = None
    exported_at: str = "2026-03-01T00:00:00Z"
    workers: int = 1  # processes that sign tokens (the entries do not depend on it)
    expected: dict = field(default_factory=dict)
    tree_heads: list[SignedTreeHead] = field(default_factory=list)
    leaf_hashes: list[bytes] = field(default_factory=list)
    secrets: dict[int, str] = field(default_factory=dict)  # verified leaf -> withdrawal secret

    def __post_init__(self) -> None:
        if self.rsa_keys is None:
            self.rsa_keys = {c: blindrsa.generate_private_key(2048) for c in self.companies}
        if self.log_key is None:
            self.log_key = Ed25519PrivateKey.from_private_bytes(random.Random(self.seed).randbytes(32))

    @property
    def log_id(self) -> str:
        return f"{self.origin}/letters/{self.letter}"

    def batches(self, rng: random.Random) -> Iterator[_Batch]:
        """The key entries, then the signatures batch by batch (each batch shuffled); verified signatures
        are not signed yet."""
        companies = list(self.companies)
        key_ids = {c: blindrsa.key_id(self.rsa_keys[c].public_key()) for c in companies}
        start_time = datetime(2026, 1, 20, tzinfo=UTC)

        def batch_time(minute: int) -> str:
            return (start_time + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")

        keys = [
            {
                "kind": "key",
                "key_id": key_ids[c],
                "company": c,
                "variant": VARIANT,
                "spki": blindrsa.encode_public_key(self.rsa_keys[c].public_key()),
                "batch": batch_time(0),
            }
            for c in companies
        ]
        yield [(k, None, None) for k in keys]
        kinds = ["verified"] * self.n_verified + ["self_reported"] * self.n_self_reported
        rng.shuffle(kinds)
        for number, start in enumerate(range(0, len(kinds), self.batch_size), 1):
            time = batch_time(5 * number)
            batch: _Batch = []
            for kind in kinds[start : start + self.batch_size]:
                company = rng.choice(companies)
                display = {"name": None, "role": None}
                if rng.random() < 0.1:
                    display = {"name": f"Signer {rng.randrange(10**6)}", "role": rng.choice(["SRE", "Ingeniera", "PM"])}
                if kind == "verified":
                    secret = b64u_encode(rng.randbytes(32))
                    message = rng.randbytes(32) + token_message(self.letter, secret)
                    entry = {
                        "kind": "signature",
                        "type": "verified",
                        "company": company,
                        "key_id": key_ids[company],
                        "message": b64u_encode(message),
                        "signature": None,  # signed by _finish_batch
                        "batch": time,
                        "display": display,
                    }
                    batch.append((entry, message, secret))
                else:
                    entry = {
                        "kind": "signature",
                        "type": "self_reported",
                        "company": company if rng.random() < 0.9 else None,
                        "id": rng.randbytes(16).hex(),
                        "batch": time,
                        "display": display,
                    }
                    batch.append((entry, None, None))
            rng.shuffle(batch)
            yield batch

    def finished(self, rng: random.Random) -> Iterator[tuple[dict, str | None, bytes, bytes]]:
        """(entry, secret, line, leaf hash) in log order; ``workers`` processes sign ahead of the reader."""
        if self.workers <= 1:
            for batch in self.batches(rng):
                yield from _joined(batch, _finish_batch(self.rsa_keys, batch))
            return
        context = multiprocessing.get_context("fork")
        with context.Pool(self.workers, _init_worker, (self.rsa_keys,)) as pool:
            in_flight: deque = deque()  # (batch, its AsyncResult), oldest first
            for batch in self.batches(rng):
                in_flight.append((batch, pool.apply_async(_finish_in_worker, (batch,))))
                if len(in_flight) > 2 * self.workers:
                    batch, result = in_flight.popleft()
                    yield from _joined(batch, result.get())
            while in_flight:
                batch, result = in_flight.popleft()
                yield from _joined(batch, result.get())

    def lines(self) -> Iterator[bytes]:
        rng = random.Random(self.seed)
        self.tree_heads, self.leaf_hashes, self.secrets = [], [], {}
        header = {
            "kind": "header",
            "format": "undersigned-log",
            "version": 1,
            "letter": self.letter,
            "log_id": self.log_id,
            "log_key": public_key_b64(self.log_key),
            "key_rotations": [],
            "exported_at": self.exported_at,
        }
        yield canonical_json(header) + b"\n"
        cr = merkle.CompactRange()
        signatures: list[tuple[int, str, str | None, str | None]] = []  # leaf, type, company, secret
        last_time = "2026-01-20T00:00:00Z"

        def leaf(entry: dict) -> bytes:
            data = canonical_json(entry)
            h = merkle.leaf_hash(data)
            cr.append(h)
            self.leaf_hashes.append(h)
            return data + b"\n"

        def head() -> bytes:
            sth = sign_tree_head(self.log_key, TreeHead(self.log_id, cr.size, cr.root(), last_time))
            self.tree_heads.append(sth)
            return canonical_json({"kind": "tree_head", **sth.to_dict()}) + b"\n"

        yield head()  # the empty log
        for entry, secret, line, leaf_hash in self.finished(rng):
            if entry["kind"] == "signature":
                signatures.append((cr.size, entry["type"], entry["company"], secret))
                if secret is not None:
                    self.secrets[cr.size] = secret
            if entry["batch"] != last_time and cr.size:
                yield head()
            last_time = entry["batch"]
            cr.append(leaf_hash)
            self.leaf_hashes.append(leaf_hash)
            yield line
        # Withdrawals (verified ones proven by their secret) and one invalidation, in a last batch.
        last_time = (datetime.strptime(last_time, "%Y-%m-%dT%H:%M:%SZ") + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        picked = rng.sample(signatures, min(len(signatures), self.n_withdrawals + self.n_invalidated))
        removed_withdrawn, removed_invalid = picked[: self.n_withdrawals], picked[self.n_withdrawals :]
        for index, _type, _company, secret in removed_withdrawn:
            w = {"kind": "withdrawal", "target": index, "batch": last_time}
            if secret is not None:
                w["secret"] = secret
            yield leaf(w)
        if removed_invalid:
            yield leaf(
                {
                    "kind": "invalidation",
                    "targets": sorted(s[0] for s in removed_invalid),
                    "reason": "Test: sign-ups from one disposable domain",
                    "batch": last_time,
                }
            )
        yield head()
        # What the auditor must count.
        removed = {s[0] for s in picked}
        by_company: dict[str, dict[str, int]] = {}
        verified = self_reported = no_company = 0
        for index, kind, company, _secret in signatures:
            if index in removed:
                continue
            if kind == "verified":
                verified += 1
            else:
                self_reported += 1
            if company is None:
                no_company += 1
                continue
            counts = by_company.setdefault(company, {"verified": 0, "self_reported": 0})
            counts[kind] += 1
        self.expected = {
            "verified": verified,
            "self_reported": self_reported,
            "self_reported_without_company": no_company,
            "by_company": dict(sorted(by_company.items())),
            "withdrawn": len(removed_withdrawn),
            "invalidated": len(removed_invalid),
            "entries": cr.size,
        }
        yield canonical_json({"kind": "end", "entries": cr.size, "tree_heads": len(self.tree_heads)}) + b"\n"


def _joined(batch: _Batch, finished: list[tuple[bytes, bytes]]) -> Iterator[tuple[dict, str | None, bytes, bytes]]:
    for (entry, _message, secret), (line, leaf_hash) in zip(batch, finished, strict=True):
        yield entry, secret, line, leaf_hash
