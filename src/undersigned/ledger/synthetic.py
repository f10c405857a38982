"""Generate valid log exports (``export_format.md``) for tests and benchmarks, without the database.

``SyntheticLog(n_verified=…, …)`` makes per-company RSA token keys and an Ed25519 instance key, then
``lines()`` yields the export's lines (uncompressed) and ``write(path)`` writes the gzip file. Verified
signatures are real RSASSA-PSS signatures (SHA-384, MGF1-SHA-384, 48-byte salt) on RFC 9474 prepared
messages (32 random bytes ‖ ``undersigned-token:v1:<letter>:`` ‖ base64url(SHA-256(secret)), as in
verification/protocol.md), identical in form to finalised blind signatures; they are
made directly with the private key (CRT with gmpy2: about 3x faster than ``cryptography`` here, which
matters for a million of them; the auditor checks every one with ``cryptography``). Randomness comes
from ``random.Random(seed)``: not for real keys or tokens, only for reproducible test data.

After ``lines()`` has run, ``expected`` holds the counts the auditor must report and ``tree_heads`` the
signed tree heads, ``leaf_hashes`` every leaf hash (for proofs in tests).
"""

from __future__ import annotations

import gzip
import hashlib
import multiprocessing
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gmpy2
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from undersigned.ledger.audit import withdrawal_commitment
from undersigned.lib import blindrsa, merkle
from undersigned.lib.blindrsa import b64u_encode
from undersigned.lib.canonical import canonical_json
from undersigned.lib.treehead import SignedTreeHead, TreeHead, public_key_b64, sign_tree_head

__all__ = ["DEFAULT_COMPANIES", "TokenSigner", "SyntheticLog", "VARIANT"]

VARIANT = "RSABSSA-SHA384-PSS-Randomized"
DEFAULT_COMPANIES = ("google", "amazon", "meta", "microsoft", "salesforce")


class TokenSigner:
    """RSASSA-PSS signing (RFC 8017 §8.1.1 / §9.1.1, SHA-384, sLen 48) with the CRT, for test data."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        numbers = private_key.private_numbers()
        self.public_key = private_key.public_key()
        self.n = numbers.public_numbers.n
        self.em_bits = self.n.bit_length() - 1
        self.k = (self.n.bit_length() + 7) // 8
        self.p, self.q = gmpy2.mpz(numbers.p), gmpy2.mpz(numbers.q)
        self.dp, self.dq, self.qinv = gmpy2.mpz(numbers.dmp1), gmpy2.mpz(numbers.dmq1), gmpy2.mpz(numbers.iqmp)

    def encode(self, message: bytes, salt: bytes) -> int:
        """EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with MGF1-SHA-384, as an integer."""
        em_len = (self.em_bits + 7) // 8
        m_hash = hashlib.sha384(message).digest()
        h = hashlib.sha384(b"\x00" * 8 + m_hash + salt).digest()
        db_len = em_len - 48 - 1
        db = b"\x00" * (db_len - len(salt) - 1) + b"\x01" + salt
        mask = b"".join(hashlib.sha384(h + i.to_bytes(4, "big")).digest() for i in range((db_len + 47) // 48))[:db_len]
        masked = int.from_bytes(db, "big") ^ int.from_bytes(mask, "big")
        masked &= (1 << (db_len * 8 - (8 * em_len - self.em_bits))) - 1  # clear the leftmost bits
        return (masked << (8 * 49)) | (int.from_bytes(h, "big") << 8) | 0xBC

    def sign(self, message: bytes, salt: bytes) -> bytes:
        m = gmpy2.mpz(self.encode(message, salt))
        s1 = gmpy2.powmod(m, self.dp, self.p)
        s2 = gmpy2.powmod(m, self.dq, self.q)
        s = s2 + self.q * ((self.qinv * (s1 - s2)) % self.p)
        return int(s).to_bytes(self.k, "big")


_WORKER_SIGNERS: dict[str, TokenSigner] = {}


def _sign_in_worker(item: tuple[str, bytes, bytes]) -> bytes:
    company, message, salt = item
    return _WORKER_SIGNERS[company].sign(message, salt)


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
    workers: int = 1  # processes that sign tokens (the output does not depend on it)
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

    def write(self, path: str | Path, compresslevel: int = 6) -> Path:
        path = Path(path)
        with gzip.open(path, "wb", compresslevel=compresslevel) as f:
            for line in self.lines():
                f.write(line)
        return path

    def entries(self, rng: random.Random) -> Iterator[tuple[dict, bytes | None]]:
        """(entry, withdrawal secret or None) in log order, batch by batch (each batch shuffled)."""
        signers = {c: TokenSigner(k) for c, k in self.rsa_keys.items()}
        companies = list(self.companies)
        pool = None
        if self.workers > 1:
            _WORKER_SIGNERS.clear()
            _WORKER_SIGNERS.update(signers)
            pool = multiprocessing.get_context("fork").Pool(self.workers)
        try:
            yield from self._entries(rng, signers, companies, pool)
        finally:
            if pool is not None:
                pool.terminate()

    def _entries(self, rng, signers, companies, pool) -> Iterator[tuple[dict, bytes | None]]:
        minute = 0
        start_time = datetime(2026, 1, 20, tzinfo=UTC)
        key_ids = {c: blindrsa.key_id(signers[c].public_key) for c in companies}

        def batch_time() -> str:
            return (start_time + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")

        yield from (
            (
                {
                    "kind": "key",
                    "key_id": key_ids[c],
                    "company": c,
                    "variant": VARIANT,
                    "spki": blindrsa.encode_public_key(signers[c].public_key),
                    "batch": batch_time(),
                },
                None,
            )
            for c in companies
        )
        kinds = ["verified"] * self.n_verified + ["self_reported"] * self.n_self_reported
        rng.shuffle(kinds)
        for start in range(0, len(kinds), self.batch_size):
            minute += 5
            batch, to_sign = [], []
            for kind in kinds[start : start + self.batch_size]:
                company = rng.choice(companies)
                display = {"name": None, "role": None}
                if rng.random() < 0.1:
                    display = {"name": f"Signer {rng.randrange(10**6)}", "role": rng.choice(["SRE", "Ingeniera", "PM"])}
                if kind == "verified":
                    secret = b64u_encode(rng.randbytes(32))
                    message = rng.randbytes(32) + f"undersigned-token:v1:{self.letter}:".encode() + withdrawal_commitment(secret)
                    to_sign.append((company, message, rng.randbytes(48)))
                    entry = {
                        "kind": "signature",
                        "type": "verified",
                        "company": company,
                        "key_id": key_ids[company],
                        "message": b64u_encode(message),
                        "signature": None,  # filled in below, all of the batch at once
                        "batch": batch_time(),
                        "display": display,
                    }
                    batch.append((entry, secret))
                else:
                    entry = {
                        "kind": "signature",
                        "type": "self_reported",
                        "company": company if rng.random() < 0.9 else None,
                        "id": rng.randbytes(16).hex(),
                        "batch": batch_time(),
                        "display": display,
                    }
                    batch.append((entry, None))
            if pool is not None:
                signatures = pool.map(_sign_in_worker, to_sign, chunksize=max(1, len(to_sign) // (4 * self.workers)))
            else:
                signatures = [signers[c].sign(m, salt) for c, m, salt in to_sign]
            it = iter(signatures)
            for entry, secret in batch:
                if secret is not None:
                    entry["signature"] = b64u_encode(next(it))
            rng.shuffle(batch)
            yield from batch

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
        signatures: list[tuple[int, dict, bytes | None]] = []
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
        since_head = 0
        for entry, secret in self.entries(rng):
            if entry["kind"] == "signature":
                signatures.append((cr.size, entry, secret))
                if secret is not None:
                    self.secrets[cr.size] = secret
            if entry["batch"] != last_time and cr.size:
                yield head()
                since_head = 0
            last_time = entry["batch"]
            yield leaf(entry)
            since_head += 1
        # Withdrawals (verified ones proven by their secret) and one invalidation, in a last batch.
        last_time = (datetime.strptime(last_time, "%Y-%m-%dT%H:%M:%SZ") + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        picked = rng.sample(signatures, min(len(signatures), self.n_withdrawals + self.n_invalidated))
        removed_withdrawn, removed_invalid = picked[: self.n_withdrawals], picked[self.n_withdrawals :]
        for index, _entry, secret in removed_withdrawn:
            w = {"kind": "withdrawal", "target": index, "batch": last_time}
            if secret is not None:
                w["secret"] = secret
            yield leaf(w)
        if removed_invalid:
            yield leaf(
                {
                    "kind": "invalidation",
                    "targets": sorted(i for i, _e, _s in removed_invalid),
                    "reason": "Test: sign-ups from one disposable domain",
                    "batch": last_time,
                }
            )
        yield head()
        # What the auditor must count.
        removed = {i for i, _e, _s in picked}
        by_company: dict[str, dict[str, int]] = {}
        verified = self_reported = no_company = 0
        for index, entry, _secret in signatures:
            if index in removed:
                continue
            if entry["type"] == "verified":
                verified += 1
            else:
                self_reported += 1
            if entry["company"] is None:
                no_company += 1
                continue
            counts = by_company.setdefault(entry["company"], {"verified": 0, "self_reported": 0})
            counts[entry["type"]] += 1
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
