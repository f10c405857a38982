"""The auditor's core: check a log export (``export_format.md``) without the database or the network.

``audit(lines, …)`` reads the export's lines once, in order, keeping O(log n) Merkle state plus what the
cross-references need (each token message and one byte per leaf), and returns an ``AuditReport``:
what was checked, the counts, and every failure with the line number and leaf index it concerns. It never
raises on bad input: garbage, truncated gzip, bad JSON and wrong types all become failures.
``audit_file(path_or_file, …)`` opens a gzip-compressed export and does the same.

Speed (bench/audit.py): most of the time goes to ``cryptography``'s RSA-PSS verify of each token. A
verified signature that passes every check, in the one form its canonical JSON can take, is recognised by
one regular expression and checked without building any JSON object (``_Auditor.prepare_block``), its
token verified together with the others of its block, and counted in order by one loop over the block
(``_Auditor.count_block``), which also counts self-reported signatures in their canonical form and adds
the leaves of each run of counted lines at once (``_Auditor.add_leaves``). Every other line, and any
signature that fails anything, goes through the general path (``_Auditor.line``), which parses it and
names what is wrong. The fast path changes nothing unless it accepts the line, and tests check that both
paths give the same report. Base64url is decoded by ``pybase64`` (SIMD), as strictly as by the standard
library.

Checks (each failure's ``check``):

- ``read``: the file decompresses and has lines of sane length.
- ``format``: each line is canonical JSON of a known kind, with exactly its members and types, in order.
- ``tree_head``: the head is for this log, signed by a trusted key, sizes and times never decrease,
  stands where its size says.
- ``root``: the root recomputed from the entries (RFC 9162 §2.1.1) equals each tree head's root.
- ``key``: token keys parse (RSA ≥ 2048, e = 65537), their key ids match, each is published once.
- ``token``: each verified signature verifies (RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt, RFC 9474)
  under a published key of the company it names; no token message is used twice.
- ``reference``: withdrawals and invalidations refer to earlier signatures still counted; proven
  withdrawals' secrets match their token.
- ``since``: a saved tree head is signed, for this log, and the log only grew (recomputation and, if
  given, an RFC 9162 §2.1.4 consistency proof).
"""

from __future__ import annotations

import binascii
import itertools
import re
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pybase64
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from undersigned.lib import blindrsa, merkle
from undersigned.lib.canonical import CanonicalJSONError, is_canonical, parse_json
from undersigned.lib.treehead import SignedTreeHead, TreeHeadError, load_public_key, public_key_bytes, verify_key_rotation
from undersigned.lib.treehead import key_id as ed25519_key_id
from undersigned.verification.protocol import commitment

__all__ = [
    "FORMAT",
    "VERSION",
    "VARIANT",
    "MAX_LINE_BYTES",
    "Failure",
    "AuditReport",
    "audit",
    "audit_file",
    "read_export_lines",
    "ExportReadError",
]

FORMAT = "undersigned-log"
VERSION = 1
VARIANT = "RSABSSA-SHA384-PSS-Randomized"
MAX_LINE_BYTES = 1 << 20
MAX_FAILURES_PER_CHECK = 20
_MAX_INT = 2**53 - 1

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX32 = re.compile(r"[0-9a-f]{32}\Z")
_TIME = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ\Z")
_DISPLAY_KEY = re.compile(r"[a-z_]{1,32}\Z")
_MAX_DISPLAY_VALUE = 500
_MAX_REASON = 2000

_HEADER_KEYS = frozenset({"kind", "format", "version", "letter", "log_id", "log_key", "key_rotations", "exported_at"})
_KEY_KEYS = frozenset({"kind", "key_id", "company", "variant", "spki", "batch"})
_VERIFIED_KEYS = frozenset({"kind", "type", "company", "key_id", "message", "signature", "batch", "display"})
_SELF_KEYS = frozenset({"kind", "type", "company", "id", "batch", "display"})
_WITHDRAWAL_KEYS = frozenset({"kind", "target", "batch"})
_WITHDRAWAL_SECRET_KEYS = frozenset({"kind", "target", "batch", "secret"})
_INVALIDATION_KEYS = frozenset({"kind", "targets", "reason", "batch"})
_TREE_HEAD_KEYS = frozenset({"kind", "tree_head", "key_id", "signature"})
_END_KEYS = frozenset({"kind", "entries", "tree_heads"})

# Leaf kinds, one byte per leaf.
_OTHER, _KEY, _VERIFIED, _SELF, _WITHDRAWAL, _INVALIDATION = range(6)

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
_SHA384 = hashes.SHA384()
# base64url to base64, and the characters base64 has but base64url has not to one that neither has, so
# that one pass both translates and (through strict decoding) checks the alphabet.
_FROM_URLSAFE = bytes.maketrans(b"-_+/=", b"+/***")
_B64U_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64U_PADDING = (b"", b"", b"==", b"=")  # by length % 4
_B64U_LAST = (b"", b"", b"AQgw", b"AEIMQUYcgkosw048")  # by length % 4: last characters whose unused bits are 0
# pybase64's SIMD decoder; with validate=True it refuses what the standard library's strict mode refuses
# here (a character outside the alphabet, wrong padding) at a fraction of the cost: a fifth of the
# auditor's own time per signature went to binascii's byte-at-a-time decoder.
_b64decode = pybase64.b64decode

# A verified signature entry in its canonical form, as ``_Auditor.prepare_block`` reads it: members in RFC 8785
# order, values between quotes (each checked there); ``display`` without a closing brace in its values.
_VERIFIED_LINE = re.compile(
    rb'\{"batch":"([^"]*)","company":"([^"]*)","display":\{([^}]*)\},"key_id":"([^"]*)","kind":"signature",'
    rb'"message":"([^"]*)","signature":"([^"]*)","type":"verified"\}\Z'
)
# The same for a self-reported signature (``_Auditor.count_block``).
_SELF_REPORTED_LINE = re.compile(
    rb'\{"batch":"([^"]*)","company":(null|"[^"]*"),"display":\{([^}]*)\},"id":"([0-9a-f]{32})","kind":"signature",'
    rb'"type":"self_reported"\}\Z'
)
# Display members that RFC 8785 writes as they are: no quote, backslash or control character to escape.
_PLAIN_MEMBER = rb'"[a-z_]{1,32}":(?:null|"[^"\\\x00-\x1f]*")'
_PLAIN_DISPLAY = re.compile(rb"(?:%s(?:,%s)*)?" % (_PLAIN_MEMBER, _PLAIN_MEMBER))
_DISPLAY_MEMBER = re.compile(rb'"([a-z_]{1,32})":(?:null|"([^"]*)")')
_MAX_DISPLAYS_REMEMBERED = 4096
_BLOCK_LINES = 1024  # lines checked together (``_Auditor.check_block``): the time spent outside the verify calls
# was 2 to 4 % less than with 256 (about a megabyte of lines a block; 4096 measured the same within the noise)
_READ_SIZE = 1 << 17  # compressed bytes read at a time: about what decompresses to _INFLATE_SIZE (zlib copies the
# input a call leaves over, a megabyte read at a time cost 0.3 µs a line)
_INFLATE_SIZE = 1 << 18  # decompressed bytes at a time, at most: a small file can expand a lot, and text that fits in
# the processor's L2 cache is split into lines sooner (4 MiB at a time cost 0.4 µs more a line)


class ExportReadError(Exception):
    """The export cannot be read further (not gzip, truncated, overlong line)."""


class _Bad(Exception):
    """A malformed line; the message says what is wrong."""


@dataclass(frozen=True)
class Failure:
    check: str
    message: str
    line: int | None = None
    leaf_index: int | None = None

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.leaf_index is not None:
            where.append(f"leaf {self.leaf_index}")
        return f"[{self.check}] {', '.join(where)}: {self.message}" if where else f"[{self.check}] {self.message}"

    def to_dict(self) -> dict:
        return {"check": self.check, "message": self.message, "line": self.line, "leaf_index": self.leaf_index}


@dataclass
class AuditReport:
    letter: str | None = None
    log_id: str | None = None
    log_key_id: str | None = None
    key_pinned: bool = False
    lines: int = 0
    entries: int = 0
    tree_heads: int = 0
    tree_heads_verified: int = 0
    keys: int = 0
    tokens_verified: int = 0
    latest_tree_head: SignedTreeHead | None = None
    verified: int = 0
    self_reported: int = 0
    self_reported_without_company: int = 0
    by_company: dict[str, dict[str, int]] = field(default_factory=dict)
    withdrawn: int = 0
    invalidated: int = 0
    unproven_withdrawals: list[int] = field(default_factory=list)
    since: dict | None = None
    failures: list[Failure] = field(default_factory=list)
    failures_omitted: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failure_count(self) -> int:
        return len(self.failures) + sum(self.failures_omitted.values())

    def to_dict(self) -> dict:
        latest = self.latest_tree_head
        return {
            "ok": self.ok,
            "letter": self.letter,
            "log_id": self.log_id,
            "log_key_id": self.log_key_id,
            "key_pinned": self.key_pinned,
            "lines": self.lines,
            "entries": self.entries,
            "tree_heads": self.tree_heads,
            "tree_heads_verified": self.tree_heads_verified,
            "keys": self.keys,
            "tokens_verified": self.tokens_verified,
            "latest_tree_head": latest.to_dict() if latest else None,
            "counts": {
                "verified": self.verified,
                "self_reported": self.self_reported,
                "self_reported_without_company": self.self_reported_without_company,
                "by_company": {k: dict(v) for k, v in sorted(self.by_company.items())},
                "withdrawn": self.withdrawn,
                "invalidated": self.invalidated,
            },
            "unproven_withdrawals": self.unproven_withdrawals,
            "since": self.since,
            "failures": [f.to_dict() for f in self.failures],
            "failures_omitted": self.failures_omitted,
            "warnings": self.warnings,
        }


# --- Reading ---------------------------------------------------------------------------------------------


class _Unterminated(bytes):
    """A line that did not end with ``\\n`` (the last one of a file cut short)."""


def read_export_lines(fileobj: IO[bytes], max_line: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The decompressed lines of a gzip export, without their ``\\n`` (a last line that has none is an
    ``_Unterminated``). Raises ``ExportReadError``.

    Reads a megabyte at a time and splits whole blocks, which costs a fraction of reading line by line.
    zlib checks each member's CRC-32 and length; members may follow one another (RFC 1952 §2.2).
    """
    try:
        compressed = fileobj.read(_READ_SIZE)
        if compressed[:2] != b"\x1f\x8b":
            raise ExportReadError("not a gzip file (an export is gzip-compressed JSON Lines)")
        inflater, in_member, rest = zlib.decompressobj(31), False, b""
        while True:
            if not compressed:
                compressed = fileobj.read(_READ_SIZE)
                if not compressed:
                    break
            in_member = True
            text = inflater.decompress(compressed, _INFLATE_SIZE)
            compressed = inflater.unconsumed_tail
            if inflater.eof:
                compressed = inflater.unused_data
                inflater, in_member = zlib.decompressobj(31), False
            if not text:
                continue
            text = rest + text
            lines = text.split(b"\n")
            rest = lines.pop()
            if len(text) >= max_line and max(map(len, lines), default=0) >= max_line:
                yield from itertools.takewhile(lambda line: len(line) < max_line, lines)
                raise ExportReadError(f"a line is longer than {max_line} bytes")
            yield from lines
            if len(rest) >= max_line:
                raise ExportReadError(f"a line is longer than {max_line} bytes")
        if in_member:
            raise EOFError
        if rest:
            yield _Unterminated(rest)
    except (EOFError, OSError, zlib.error) as exc:
        detail = "the compressed stream ends early" if isinstance(exc, EOFError) else str(exc) or type(exc).__name__
        raise ExportReadError(f"cannot decompress: {detail} (truncated or damaged file)") from None


def _without_newlines(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The caller's lines (each ending in ``\\n``) as the auditor reads them."""
    for line in lines:
        if type(line) is not bytes and isinstance(line, (bytes, bytearray)):
            line = bytes(line)
        if type(line) is not bytes:
            yield line  # reported as not bytes
        elif line[-1:] == b"\n":
            yield line[:-1]
        else:
            yield _Unterminated(line)


def _take(lines: Iterator[bytes], n: int) -> tuple[list[bytes], Exception | None]:
    """The next ``n`` lines (fewer at the end), and the reader's exception if it failed."""
    block: list[bytes] = []
    try:
        for data in lines:
            block.append(data)
            if len(block) == n:
                break
    except Exception as exc:  # noqa: BLE001 - reported by the caller
        return block, exc
    return block, None


def audit_file(source: str | Path | IO[bytes], **kwargs: Any) -> AuditReport:
    """Audit a gzip-compressed export given by path or binary file object; see ``audit``."""
    if isinstance(source, (str, Path)):
        try:
            with open(source, "rb") as f:
                return _Auditor(**kwargs).run(read_export_lines(f))
        except OSError as exc:
            report = AuditReport()
            report.failures.append(Failure("read", f"cannot open {source}: {exc.strerror or exc}"))
            return report
    return _Auditor(**kwargs).run(read_export_lines(source))


# --- Small strict decoders --------------------------------------------------------------------------------


def _b64u_bytes(text: bytes) -> bytes | None:
    """Decode canonical base64url without padding, or None: the text has only the alphabet's characters,
    its length is not 1 more than a multiple of 4, and the bits its last character leaves unused are 0
    (so that one text alone encodes the bytes)."""
    rest = len(text) & 3
    if rest == 1 or (rest and text[-1] not in _B64U_LAST[rest]):
        return None
    try:
        return _b64decode(text.translate(_FROM_URLSAFE) + _B64U_PADDING[rest], None, True)  # validate=True
    except binascii.Error:  # a character outside the alphabet
        return None


def _b64u(value: Any, what: str, length: int | None = None) -> bytes:
    """Strict base64url without padding (canonical: re-encodes to the same text)."""
    if type(value) is not str or not value.isascii():
        raise _Bad(f"{what} is not base64url without padding")
    text = value.encode("ascii")
    raw = _b64u_bytes(text)
    if raw is None:
        if len(text) & 3 == 1 or text.translate(None, _B64U_ALPHABET):
            raise _Bad(f"{what} is not base64url without padding")
        raise _Bad(f"{what} is not canonical base64url")
    if length is not None and len(raw) != length:
        raise _Bad(f"{what} is {len(raw)} bytes, not {length}")
    return raw


def _slug(value: Any, what: str = "company") -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise _Bad(f"{what} is not a slug (lowercase letters, digits and hyphens)")
    return value


def _time(value: Any, what: str = "batch") -> str:
    if not isinstance(value, str) or not _TIME.match(value):
        raise _Bad(f"{what} is not a UTC time like 2026-01-20T10:05:00Z")
    return value


def _index(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_INT:
        raise _Bad(f"{what} is not a leaf index (a non-negative integer)")
    return value


def _keys_problem(obj: dict, expected: frozenset) -> str:
    missing = sorted(expected - obj.keys())
    extra = sorted(obj.keys() - expected)
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(str(k)[:40] for k in extra))
    return "; ".join(parts)


# --- The auditor --------------------------------------------------------------------------------------------


@dataclass
class _TokenKey:
    company: str
    public_key: Any
    modulus_bytes: int
    line: int


def _verifies(key: _TokenKey, message: bytes, signature: bytes) -> bool:
    """RSASSA-PSS-VERIFY (RFC 8017 §8.1.2), SHA-384, MGF1-SHA-384, sLen 48: exactly ``blindrsa.verify``,
    without its per-call key checks (done once, when the key entry was read)."""
    try:
        key.public_key.verify(signature, message, _PSS, _SHA384)
    except Exception:  # noqa: BLE001 - InvalidSignature, or any other failure: it does not verify
        return False
    return True


def _verify_block(prepared: list[tuple[_TokenKey, bytes, bytes, bytes] | None]) -> list[bool]:
    """Whether each prepared token verifies (``_Auditor.check_block``; False where nothing was prepared)."""
    return [item is not None and _verifies(item[0], item[2], item[3]) for item in prepared]


class _Auditor:
    def __init__(self, *, trusted_key: bytes | str | None = None, since: Any = None, since_proof: Any = None) -> None:
        self.report = AuditReport()
        self.trusted_key = trusted_key
        self.since_raw = since
        self.since_proof_raw = since_proof
        self.since: SignedTreeHead | None = None
        self.since_root_seen: bytes | None = None
        self.cr = merkle.CompactRange()
        self.line_no = 0
        self.header: dict | None = None
        self.ended = False
        self.log_id: str | None = None
        self.accepted_keys: dict[str, Any] = {}  # Ed25519 key id -> key object
        self.token_keys: dict[str, _TokenKey] = {}
        self.key_line_by_company: dict[str, int] = {}
        # For the fast path: key id, company and batch as they appear in the line, each checked before.
        self.keys_by_raw_id: dict[bytes, tuple[_TokenKey, bytes, int]] = {}  # → key, company, signature length
        self.last_batch_raw: bytes | None = None
        self.plain_displays: set[bytes] = set()  # display members checked by plain_display
        self.tokens: dict[bytes, int] = {}  # token message -> leaf index
        self.verified_token: tuple | None = None  # (key, message, signature) check_block verified, for ``line``
        self.self_ids: set[str] = set()
        self.leaf_kind = bytearray()
        self.leaf_company = array("i")
        self.leaf_message: list[bytes | None] = []
        self.companies: list[str | None] = []
        self.company_index: dict[str | None, int] = {}
        self.company_index_raw: dict[bytes, int] = {}  # the same, by the company's JSON text (null or "slug")
        self.company_counts: list[list[int]] = []  # per company index: [verified, self_reported]
        self.valid_slugs: set[str] = set()
        self.valid_display_keys: set[str] = set()
        self.removed: dict[int, int] = {}  # signature leaf -> leaf of the withdrawal or invalidation
        self.last_batch = ""
        self.last_head: SignedTreeHead | None = None
        self.last_head_line = 0
        self.last_good_head_size = 0  # size of the last tree head whose root matched
        self.heads_by_size: dict[int, tuple[bytes, int]] = {}
        self.pending: dict[int, list[tuple[str, int, Any]]] = {}  # size -> checks due when reached
        self.next_due = -1

    # failures

    def fail(self, check: str, message: str, line: int | None = None, leaf: int | None = None) -> None:
        report = self.report
        if sum(1 for f in report.failures if f.check == check) >= MAX_FAILURES_PER_CHECK:
            report.failures_omitted[check] = report.failures_omitted.get(check, 0) + 1
            return
        report.failures.append(Failure(check, message, line, leaf))

    # sizes at which something must be compared with the recomputed root

    def due(self, size: int, what: str, line: int, payload: Any) -> None:
        if size == self.cr.size:
            self.reached(size, [(what, line, payload)])
            return
        self.pending.setdefault(size, []).append((what, line, payload))
        self.next_due = min(self.pending)

    def reached(self, size: int, items: list[tuple[str, int, Any]]) -> None:
        root = self.cr.root()
        for what, line, payload in items:
            if what == "head":
                self.compare_head_root(payload, line, root)
            elif what == "since":
                self.since_root_seen = root
                if root != payload.tree_head.root_hash:
                    self.fail(
                        "since",
                        f"the saved tree head for {size} entries has a different root from the first {size} entries "
                        "of this log: the log was rewritten (an entry before that size was changed, removed or moved)",
                    )

    def advance(self) -> None:
        size = self.cr.size
        items = self.pending.pop(size)
        self.next_due = min(self.pending) if self.pending else -1
        self.reached(size, items)

    def compare_head_root(self, sth: SignedTreeHead, line: int, root: bytes) -> None:
        size = sth.tree_head.tree_size
        if root == sth.tree_head.root_hash:
            self.last_good_head_size = max(self.last_good_head_size, size)
            return
        lo = self.last_good_head_size
        self.fail(
            "root",
            f"the root of the first {size} entries differs from the tree head's root: an entry among leaves "
            f"{lo}…{size - 1} was changed, removed, added or moved since the head was signed"
            if lo < size
            else f"the root of the first {size} entries differs from the tree head's root",
            line,
        )

    # the loop

    def run(self, lines: Iterable[bytes]) -> AuditReport:
        """Check ``lines`` (without their ``\\n``; one that had none is an ``_Unterminated``)."""
        lines = iter(lines)
        size = 1  # then 2, 4, … _BLOCK_LINES: the key entries at the head of a log are read before the
        # signatures that use them are prepared
        while True:
            block, problem = _take(lines, size)
            self.check_block(block)
            if isinstance(problem, ExportReadError):
                self.fail("read", f"{problem}; stopped after line {self.line_no}")
            elif problem is not None:  # a reader's failure is a finding, never a traceback
                self.fail("read", f"cannot read after line {self.line_no}: {type(problem).__name__}: {problem}")
            if problem is not None or len(block) < size:
                break
            size = min(2 * size, _BLOCK_LINES)
        self.finish()
        self.report.lines = self.line_no
        return self.report

    def check_block(self, block: list[bytes]) -> None:
        """Check consecutive lines: the verified signatures ``prepare_block`` can read have their tokens
        verified one after another, then ``count_block`` takes every line in order.

        Verifying a block's tokens together keeps OpenSSL's code and data in the processor's caches: a
        line costs about a fifth less than when each line is checked from start to end.
        """
        try:
            prepared = self.prepare_block(block)
        except Exception:  # noqa: BLE001 # pragma: no cover - a bug; ``line`` will say what is wrong
            prepared = [None] * len(block)
        try:
            self.count_block(block, prepared, _verify_block(prepared))
        except Exception as exc:  # noqa: BLE001 - a bug: the audit fails and says so, never a traceback
            self.fail("internal", f"unexpected {type(exc).__name__} while counting the lines after line "
                                  f"{self.line_no}: {exc}", self.line_no)

    def prepare_block(self, block: list[bytes]) -> list[tuple[_TokenKey, bytes, bytes, bytes] | None]:
        """For each line, (key, batch, token message, signature) if it is a verified signature in the form
        ``line`` accepts, as far as the lines before it do not matter; else None (``line`` will check it).

        The expression fixes the members and their order; each value between quotes must equal one checked
        before (key id and its key's company) or be checked here (base64url text, display members written
        as RFC 8785 writes them); ``count_block`` checks the rest in order.
        """
        match = _VERIFIED_LINE.match
        keys, displays = self.keys_by_raw_id, self.plain_displays
        prepared: list[tuple[_TokenKey, bytes, bytes, bytes] | None] = []
        for data in block:
            found = match(data) if type(data) is bytes else None
            if found is None:
                prepared.append(None)
                continue
            batch, company, display, kid, message_text, signature_text = found.groups()
            known = keys.get(kid)
            if (
                known is None
                or company != known[1]
                or len(signature_text) != known[2]
                or (display not in displays and not self.plain_display(display))
            ):
                prepared.append(None)
                continue
            message, signature = _b64u_bytes(message_text), _b64u_bytes(signature_text)
            prepared.append(None if message is None or signature is None else (known[0], batch, message, signature))
        return prepared

    def count_block(self, block: list[bytes], prepared: list, verified: list[bool]) -> None:
        """Take each line in order: count a signature that passes everything left to check (a verified one
        that ``prepare_block`` read and whose token verified, or a self-reported one in its one canonical
        form) and hand any other line to ``line``, which parses it and names what is wrong.

        Signatures are the bulk of a log, and counting one here costs a fraction of ``line``: the state it
        reads is held in local variables, and the leaves of a run of counted lines are hashed and added
        together (``add_leaves``) before any other line is taken. A signature this loop does not take is
        left untouched for ``line``: the first of each batch (its new time is checked there), the first of
        each company, a token seen before, anything after the end line.
        """
        self_line = _SELF_REPORTED_LINE.match
        tokens, self_ids, displays = self.tokens, self.self_ids, self.plain_displays
        company_index, company_index_raw, company_counts = self.company_index, self.company_index_raw, self.company_counts
        n, leaf, tokens_verified = self.line_no, self.cr.size, self.report.tokens_verified
        # What the general path may change: re-read after each line it takes.
        batch_now = None if self.ended or self.header is None else self.last_batch_raw
        run: list[bytes] = []
        kinds, companies, messages = bytearray(), array("i"), []
        for data, item, ok in zip(block, prepared, verified):
            n += 1
            kind = None  # _VERIFIED or _SELF once this line is counted here
            if ok and batch_now is not None:
                key, batch, message, _signature = item
                c = company_index.get(key.company)
                if batch == batch_now and c is not None and message not in tokens:
                    tokens[message] = leaf
                    tokens_verified += 1
                    company_counts[c][0] += 1
                    kind = _VERIFIED
            elif batch_now is not None and type(data) is bytes and (found := self_line(data)) is not None:
                batch, company, display, sid = found.groups()
                c = company_index_raw.get(company)
                if batch == batch_now and c is not None and (display in displays or self.plain_display(display)):
                    sid = sid.decode()
                    if sid not in self_ids:
                        self_ids.add(sid)
                        company_counts[c][1] += 1
                        kind, message = _SELF, None
            if kind is not None:
                run.append(data)
                kinds.append(kind)
                companies.append(c)
                messages.append(message)
                leaf += 1
                continue
            if run:
                self.add_leaves(run, kinds, companies, messages)
                run, kinds, companies, messages = [], bytearray(), array("i"), []
            self.line_no, self.report.tokens_verified = n, tokens_verified
            # Its token, if it verified above, is not verified again.
            self.verified_token = (item[0], item[2], item[3]) if ok else None
            try:
                self.line(data)
            except Exception as exc:  # noqa: BLE001 - last resort: report, don't crash
                self.fail("internal", f"unexpected {type(exc).__name__} while checking this line: {exc}", n)
            leaf, tokens_verified = self.cr.size, self.report.tokens_verified
            batch_now = None if self.ended or self.header is None else self.last_batch_raw
        if run:
            self.add_leaves(run, kinds, companies, messages)
        self.line_no, self.report.tokens_verified = n, tokens_verified

    def plain_display(self, members: bytes) -> bool:
        """Display members that ``display`` accepts, sorted and written as RFC 8785 writes them."""
        if not _PLAIN_DISPLAY.fullmatch(members):
            return False
        pairs = _DISPLAY_MEMBER.findall(members)
        if any(a[0] >= b[0] for a, b in zip(pairs, pairs[1:])):
            return False  # not in order, or twice
        try:
            if any(len(value) > _MAX_DISPLAY_VALUE and len(value.decode("utf-8")) > _MAX_DISPLAY_VALUE for _k, value in pairs):
                return False
            members.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if len(self.plain_displays) < _MAX_DISPLAYS_REMEMBERED:
            self.plain_displays.add(members)
        return True

    def line(self, data: bytes) -> None:
        """Check any line, in the general way."""
        n = self.line_no
        if isinstance(data, _Unterminated):
            self.fail("format", "the line does not end with a newline (the file is cut short?)", n)
            data = bytes(data)
        elif not isinstance(data, bytes):
            self.fail("read", "a line is not bytes", n)
            return
        if self.ended:
            self.fail("format", "a line after the end line", n)
            return
        try:
            obj = parse_json(data)
        except CanonicalJSONError as exc:
            obj = None
            problem = str(exc)
        if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
            if obj is not None:
                problem = "not a JSON object with a kind"
            if self.header is None:
                self.fail("format", f"the first line is not the export header: {problem}", n)
                self.header = {}
                return
            # A damaged entry still occupies a leaf, so that later roots are compared honestly.
            leaf = self.add_leaf(data, _OTHER, -1, None)
            self.fail("format", problem, n, leaf)
            return
        kind = obj["kind"]
        if kind in ("signature", "key", "withdrawal", "invalidation"):
            if self.header is None:
                self.fail("format", "the first line is not the export header", n)
                self.header = {}
            self.entry(kind, obj, data)
        elif kind == "tree_head":
            self.tree_head(obj, data)
        elif kind == "header":
            self.read_header(obj, data)
        elif kind == "end":
            self.end(obj, data)
        else:
            leaf = self.add_leaf(data, _OTHER, -1, None) if self.header is not None else None
            self.fail("format", f"unknown kind {kind[:40]!r}", n, leaf)

    def add_leaf(self, data: bytes, kind: int, company: int, message: bytes | None) -> int:
        index = self.cr.size
        self.cr.append(merkle.leaf_hash(data))
        self.leaf_kind.append(kind)
        self.leaf_company.append(company)
        self.leaf_message.append(message)
        if self.cr.size == self.next_due:
            self.advance()
        return index

    def add_leaves(self, lines: list[bytes], kinds: bytearray, companies: array, messages: list[bytes | None]) -> None:
        """``add_leaf`` for consecutive lines: their leaf hashes enter the Merkle frontier a level at a time
        (``CompactRange.extend``), stopping at each size where a root is due."""
        hashes = merkle.leaf_hashes(lines)
        self.leaf_kind += kinds
        self.leaf_company += companies
        self.leaf_message += messages
        cr, start = self.cr, 0
        while cr.size < self.next_due <= cr.size + len(hashes) - start:
            stop = start + self.next_due - cr.size
            cr.extend(hashes[start:stop])
            start = stop
            self.advance()
        cr.extend(hashes[start:] if start else hashes)

    def company(self, slug: str | None) -> int:
        index = self.company_index.get(slug)
        if index is None:
            index = self.company_index[slug] = len(self.companies)
            self.company_index_raw[b"null" if slug is None else b'"%s"' % slug.encode()] = index
            self.companies.append(slug)
            self.company_counts.append([0, 0])
        return index

    # header and end

    def read_header(self, obj: dict, data: bytes) -> None:
        n = self.line_no
        if self.header is not None:
            self.fail("format", "a second header", n)
            return
        self.header = obj
        report = self.report
        try:
            if obj.keys() != _HEADER_KEYS:
                raise _Bad(f"the header's members are wrong: {_keys_problem(obj, _HEADER_KEYS)}")
            if obj["format"] != FORMAT or obj["version"] != VERSION:
                raise _Bad(f"not an {FORMAT} export of version {VERSION}")
            report.letter = _slug(obj["letter"], "letter")
            if not isinstance(obj["log_id"], str) or not obj["log_id"] or len(obj["log_id"]) > 500:
                raise _Bad("log_id is not a non-empty string")
            self.log_id = report.log_id = obj["log_id"]
            log_key = _b64u(obj["log_key"], "log_key", 32)
            _time(obj["exported_at"], "exported_at")
            if not isinstance(obj["key_rotations"], list):
                raise _Bad("key_rotations is not a list")
            if not is_canonical(data, obj):
                raise _Bad("the header is not in canonical JSON form (RFC 8785)")
        except _Bad as exc:
            self.fail("format", str(exc), n)
            self.header = {}
            return
        report.log_key_id = ed25519_key_id(log_key)
        if self.trusted_key is not None:
            try:
                anchor = ed25519_key_id(load_public_key(self.trusted_key))
            except TreeHeadError as exc:
                self.fail("tree_head", f"the trusted key given to the audit is unusable: {exc}")
                return
            report.key_pinned = True
        else:
            anchor = report.log_key_id
            report.warnings.append(
                f"The log key was taken from the export itself (key id {report.log_key_id}). Compare it with the key "
                "id the site publishes, or pass the key you trust."
            )
        self.accepted_keys = self.rotation_closure(anchor, log_key, obj["key_rotations"], n)
        if report.key_pinned and report.log_key_id not in self.accepted_keys:
            self.fail(
                "tree_head",
                f"the export's log key {report.log_key_id[:16]}… is not the trusted key nor linked to it by a key rotation",
                n,
            )
        self.check_since()

    def rotation_closure(self, anchor: str, log_key: bytes, rotations: list, line: int) -> dict[str, Any]:
        """Keys linked to the anchor by valid rotation statements (signed by both keys of each link)."""
        keys: dict[str, bytes] = {ed25519_key_id(log_key): log_key}
        if self.trusted_key is not None:
            keys[anchor] = public_key_bytes(load_public_key(self.trusted_key))
        links: list[tuple[str, str]] = []
        successors: dict[str, str] = {}
        for i, statement in enumerate(rotations):
            try:
                old, new = verify_key_rotation(statement)
            except TreeHeadError as exc:
                self.fail("tree_head", f"key rotation {i} is invalid: {exc}", line)
                continue
            old_id, new_id = ed25519_key_id(old), ed25519_key_id(new)
            if successors.get(old_id, new_id) != new_id:
                self.fail("tree_head", f"key {old_id[:16]}… names two different successors (key rotation {i})", line)
                continue
            successors[old_id] = new_id
            keys[old_id], keys[new_id] = old, new
            links.append((old_id, new_id))
        accepted = {anchor}
        grew = True
        while grew:
            grew = False
            for a, b in links:
                if (a in accepted) != (b in accepted):
                    accepted |= {a, b}
                    grew = True
        return {kid: load_public_key(keys[kid]) for kid in accepted if kid in keys}

    def end(self, obj: dict, data: bytes) -> None:
        n = self.line_no
        self.ended = True
        try:
            if obj.keys() != _END_KEYS:
                raise _Bad(f"the end line's members are wrong: {_keys_problem(obj, _END_KEYS)}")
            if not is_canonical(data, obj):
                raise _Bad("the end line is not in canonical JSON form (RFC 8785)")
        except _Bad as exc:
            self.fail("format", str(exc), n)
            return
        if obj["entries"] != self.cr.size:
            self.fail("format", f"the end line counts {obj['entries']} entries but the file has {self.cr.size}", n)
        if obj["tree_heads"] != self.report.tree_heads:
            self.fail("format", f"the end line counts {obj['tree_heads']} tree heads but the file has {self.report.tree_heads}", n)

    # entries

    def entry(self, kind: str, obj: dict, data: bytes) -> None:
        n = self.line_no
        leaf = self.cr.size
        try:
            if kind == "signature":
                kind_code, company, message = self.signature(obj, data, leaf)
            elif kind == "key":
                kind_code, company, message = self.key(obj, data), -1, None
            elif kind == "withdrawal":
                kind_code, company, message = self.withdrawal(obj, data, leaf), -1, None
            else:
                kind_code, company, message = self.invalidation(obj, data, leaf), -1, None
        except _Bad as exc:
            self.fail("format", str(exc), n, leaf)
            self.add_leaf(data, _OTHER, -1, None)
            return
        batch = obj["batch"]
        if batch < self.last_batch:
            self.fail("format", f"batch time {batch} is earlier than the previous entry's {self.last_batch}", n, leaf)
        else:
            self.last_batch, self.last_batch_raw = batch, batch.encode()
        self.add_leaf(data, kind_code, company, message)

    def signature(self, obj: dict, data: bytes, leaf: int) -> tuple[int, int, bytes | None]:
        kind = obj.get("type")
        if kind == "verified":
            if obj.keys() != _VERIFIED_KEYS:
                raise _Bad(f"a verified signature's members are wrong: {_keys_problem(obj, _VERIFIED_KEYS)}")
            company = obj["company"]
            if company not in self.valid_slugs:
                self.valid_slugs.add(_slug(company))
            kid = obj["key_id"]
            if kid not in self.token_keys and (not isinstance(kid, str) or not _HEX64.match(kid)):
                raise _Bad("key_id is not 64 lowercase hex digits")
            message = _b64u(obj["message"], "message")
            signature = _b64u(obj["signature"], "signature")
            if obj["batch"] != self.last_batch or not self.last_batch:  # "" is what it starts as, not a time
                _time(obj["batch"])
            self.display(obj["display"])
            if not is_canonical(data, obj, ascii_keys=True):
                raise _Bad("the entry is not in canonical JSON form (RFC 8785)")
            self.check_token(leaf, company, kid, message, signature)
            c = self.company(company)
            self.company_counts[c][0] += 1
            return _VERIFIED, c, message
        if kind == "self_reported":
            if obj.keys() != _SELF_KEYS:
                raise _Bad(f"a self-reported signature's members are wrong: {_keys_problem(obj, _SELF_KEYS)}")
            company = None if obj["company"] is None else _slug(obj["company"])
            sid = obj["id"]
            if not isinstance(sid, str) or not _HEX32.match(sid):
                raise _Bad("id is not 32 lowercase hex digits")
            _time(obj["batch"])
            self.display(obj["display"])
            if not is_canonical(data, obj, ascii_keys=True):
                raise _Bad("the entry is not in canonical JSON form (RFC 8785)")
            if sid in self.self_ids:
                self.fail("token", f"self-reported signature id {sid} appears twice", self.line_no, leaf)
            self.self_ids.add(sid)
            c = self.company(company)
            self.company_counts[c][1] += 1
            return _SELF, c, None
        raise _Bad("a signature's type is neither verified nor self_reported")

    def display(self, value: Any) -> None:
        if type(value) is not dict:
            raise _Bad("display is not an object")
        valid = self.valid_display_keys
        for k, v in value.items():
            if k not in valid:
                if not _DISPLAY_KEY.match(k):
                    raise _Bad(f"display field name {k[:40]!r} is not lowercase letters and underscores")
                valid.add(k)
            if v is not None and (type(v) is not str or len(v) > _MAX_DISPLAY_VALUE):
                raise _Bad(f"display field {k} is not a string of at most {_MAX_DISPLAY_VALUE} characters or null")

    def check_token(self, leaf: int, company: str, kid: str, message: bytes, signature: bytes) -> None:
        n = self.line_no
        key = self.token_keys.get(kid)
        if key is None:
            self.fail("token", f"the signature uses key {kid[:16]}…, which no earlier key entry publishes", n, leaf)
        elif key.company != company:
            self.fail(
                "token",
                f"the signature claims company {company} but key {kid[:16]}… was published for {key.company}",
                n,
                leaf,
            )
        elif len(signature) != key.modulus_bytes:
            self.fail("token", f"the token signature is {len(signature)} bytes, not {key.modulus_bytes}", n, leaf)
        elif self.verified_token == (key, message, signature) or _verifies(key, message, signature):
            self.report.tokens_verified += 1
        else:
            self.fail("token", f"the token signature does not verify under key {kid[:16]}… ({company})", n, leaf)
        first = self.tokens.setdefault(message, leaf)
        if first != leaf:
            self.fail("token", f"token used twice: this token message already appears at leaf {first}", n, leaf)

    def key(self, obj: dict, data: bytes) -> int:
        n, leaf = self.line_no, self.cr.size
        if obj.keys() != _KEY_KEYS:
            raise _Bad(f"a key entry's members are wrong: {_keys_problem(obj, _KEY_KEYS)}")
        company = _slug(obj["company"])
        kid = obj["key_id"]
        if not isinstance(kid, str) or not _HEX64.match(kid):
            raise _Bad("key_id is not 64 lowercase hex digits")
        if obj["variant"] != VARIANT:
            raise _Bad(f"variant is not {VARIANT}")
        spki = obj["spki"]
        _b64u(spki, "spki")
        _time(obj["batch"])
        if not is_canonical(data, obj, ascii_keys=True):
            raise _Bad("the entry is not in canonical JSON form (RFC 8785)")
        self.report.keys += 1
        try:
            public_key = blindrsa.decode_public_key(spki)
        except blindrsa.BlindRSAError as exc:
            self.fail("key", f"the token key is unusable: {exc}", n, leaf)
            return _KEY
        if blindrsa.key_id(public_key) != kid:
            self.fail("key", f"key_id {kid[:16]}… is not the SHA-256 of the key's SPKI", n, leaf)
            return _KEY
        if kid in self.token_keys:
            self.fail("key", f"key {kid[:16]}… is published twice (first on line {self.token_keys[kid].line})", n, leaf)
            return _KEY
        if company in self.key_line_by_company:
            # One key per company per letter (a closed letter never opens again). A site that gave each
            # signer a key of their own could tell whose token a signature carries, delay and Tor
            # notwithstanding: every such key has to be published here for its tokens to count.
            self.fail("key", f"a second token key for {company} (the first is on line "
                             f"{self.key_line_by_company[company]}): with a key per signer, the site could "
                             "tell whose token each signature is", n, leaf)
        self.key_line_by_company.setdefault(company, n)
        modulus_bytes = (public_key.public_numbers().n.bit_length() + 7) // 8
        key = self.token_keys[kid] = _TokenKey(company, public_key, modulus_bytes, n)
        self.keys_by_raw_id[kid.encode()] = (key, company.encode(), (4 * modulus_bytes + 2) // 3)
        return _KEY

    def target(self, value: Any, leaf: int, what: str) -> int | None:
        """Check a reference; return the target leaf if it can be applied."""
        n = self.line_no
        target = _index(value, what)
        if target >= leaf:
            self.fail("reference", f"{what} {target} is not an earlier entry", n, leaf)
            return None
        kind = self.leaf_kind[target]
        if kind not in (_VERIFIED, _SELF):
            self.fail("reference", f"{what} {target} is not a signature", n, leaf)
            return None
        if target in self.removed:
            self.fail(
                "reference",
                f"signature {target} was already withdrawn or invalidated (by leaf {self.removed[target]})",
                n,
                leaf,
            )
            return None
        return target

    def uncount(self, target: int) -> None:
        counts = self.company_counts[self.leaf_company[target]]
        counts[0 if self.leaf_kind[target] == _VERIFIED else 1] -= 1

    def withdrawal(self, obj: dict, data: bytes, leaf: int) -> int:
        if obj.keys() != _WITHDRAWAL_KEYS and obj.keys() != _WITHDRAWAL_SECRET_KEYS:
            raise _Bad(f"a withdrawal's members are wrong: {_keys_problem(obj, _WITHDRAWAL_SECRET_KEYS)}")
        _index(obj["target"], "target")
        if "secret" in obj:
            _b64u(obj["secret"], "secret", 32)  # a well-formed secret: base64url of 32 bytes
        secret = obj.get("secret")
        _time(obj["batch"])
        if not is_canonical(data, obj, ascii_keys=True):
            raise _Bad("the entry is not in canonical JSON form (RFC 8785)")
        target = self.target(obj["target"], leaf, "target")
        if target is None:
            return _WITHDRAWAL
        if self.leaf_kind[target] == _VERIFIED:
            message = self.leaf_message[target]
            if secret is None:
                self.report.unproven_withdrawals.append(leaf)
            elif not message.endswith(b":" + blindrsa.b64u_encode(commitment(secret)).encode("ascii")):  # checked above
                self.fail("reference", f"the withdrawal's secret does not match the token of signature {target}", self.line_no, leaf)
                return _WITHDRAWAL
        elif secret is not None:
            raise _Bad("only the withdrawal of a verified signature carries a secret")
        self.removed[target] = leaf
        self.uncount(target)
        self.report.withdrawn += 1
        return _WITHDRAWAL

    def invalidation(self, obj: dict, data: bytes, leaf: int) -> int:
        if obj.keys() != _INVALIDATION_KEYS:
            raise _Bad(f"an invalidation's members are wrong: {_keys_problem(obj, _INVALIDATION_KEYS)}")
        targets = obj["targets"]
        if not isinstance(targets, list) or not targets:
            raise _Bad("targets is not a non-empty list")
        for t in targets:
            _index(t, "target")
        if any(a >= b for a, b in zip(targets, targets[1:])):
            raise _Bad("targets are not strictly increasing")
        reason = obj["reason"]
        if not isinstance(reason, str) or not reason.strip() or len(reason) > _MAX_REASON:
            raise _Bad(f"reason is not a non-empty string of at most {_MAX_REASON} characters")
        _time(obj["batch"])
        if not is_canonical(data, obj, ascii_keys=True):
            raise _Bad("the entry is not in canonical JSON form (RFC 8785)")
        for value in targets:
            target = self.target(value, leaf, "target")
            if target is not None:
                self.removed[target] = leaf
                self.uncount(target)
                self.report.invalidated += 1
        return _INVALIDATION

    # tree heads

    def tree_head(self, obj: dict, data: bytes) -> None:
        n = self.line_no
        report = self.report
        report.tree_heads += 1
        try:
            if obj.keys() != _TREE_HEAD_KEYS:
                raise _Bad(f"a tree head line's members are wrong: {_keys_problem(obj, _TREE_HEAD_KEYS)}")
            if not is_canonical(data, obj):
                raise _Bad("the tree head line is not in canonical JSON form (RFC 8785)")
            sth = SignedTreeHead.from_dict(obj)
        except (_Bad, TreeHeadError) as exc:
            self.fail("format", f"tree head: {exc}", n)
            return
        head = sth.tree_head
        if self.header is None:
            self.fail("format", "a tree head before the header", n)
            return
        if head.log_id != self.log_id:
            self.fail("tree_head", f"the tree head is for another log ({head.log_id[:80]!r}, not {self.log_id!r})", n)
            return
        key = self.accepted_keys.get(sth.key_id)
        if key is None:
            self.fail("tree_head", f"the tree head is signed by key {sth.key_id[:16]}…, which is not trusted", n)
            return
        try:
            key.verify(sth.signature, head.signing_input())
        except InvalidSignature:
            self.fail("tree_head", "the tree head's signature does not verify", n)
            return
        report.tree_heads_verified += 1
        size = head.tree_size
        previous = self.last_head
        if previous is not None:
            if size < previous.tree_head.tree_size:
                self.fail(
                    "tree_head",
                    f"the tree size went down from {previous.tree_head.tree_size} (line {self.last_head_line}) to {size}",
                    n,
                )
            if head.timestamp < previous.tree_head.timestamp:
                self.fail("tree_head", f"the time went back from {previous.tree_head.timestamp} to {head.timestamp}", n)
        seen = self.heads_by_size.get(size)
        if seen is not None and seen[0] != head.root_hash:
            self.fail(
                "tree_head",
                f"two signed tree heads of size {size} with different roots (lines {seen[1]} and {n}): a forked log",
                n,
            )
        self.heads_by_size.setdefault(size, (head.root_hash, n))
        if size != self.cr.size:
            self.fail(
                "tree_head",
                f"the tree head is for {size} entries but {self.cr.size} entry lines precede it"
                + (
                    f": entries are missing among leaves {self.last_good_head_size}…{size - 1}, or the head is misplaced"
                    if size > self.cr.size
                    else ": entries were added before it, or the head is misplaced"
                ),
                n,
            )
            if size > self.cr.size:
                self.due(size, "head", n, sth)
        else:
            self.compare_head_root(sth, n, self.cr.root())
        self.last_head, self.last_head_line = sth, n
        report.latest_tree_head = sth

    # since

    def check_since(self) -> None:
        if self.since_raw is None:
            return
        result = self.report.since = {"tree_size": None, "recomputed": False, "proof_verified": None}
        try:
            since = self.since_raw if isinstance(self.since_raw, SignedTreeHead) else SignedTreeHead.from_dict(self.since_raw)
        except TreeHeadError as exc:
            self.fail("since", f"the saved tree head is unreadable: {exc}")
            return
        result["tree_size"] = since.tree_head.tree_size
        if since.tree_head.log_id != self.log_id:
            self.fail("since", f"the saved tree head is for another log ({since.tree_head.log_id[:80]!r})")
            return
        key = self.accepted_keys.get(since.key_id)
        if key is None:
            self.fail("since", f"the saved tree head is signed by key {since.key_id[:16]}…, which is not trusted")
            return
        try:
            key.verify(since.signature, since.tree_head.signing_input())
        except InvalidSignature:
            self.fail("since", "the saved tree head's signature does not verify")
            return
        self.since = since
        self.due(since.tree_head.tree_size, "since", 0, since)

    def finish_since(self) -> None:
        since, result = self.since, self.report.since
        if since is None or result is None:
            return
        size = since.tree_head.tree_size
        if self.since_root_seen is not None:
            result["recomputed"] = self.since_root_seen == since.tree_head.root_hash
        elif size > self.cr.size:
            self.fail(
                "since",
                f"the saved tree head is for {size} entries but this log has only {self.cr.size}: entries were removed",
            )
        latest = self.report.latest_tree_head
        if self.since_proof_raw is not None:
            if latest is None:
                self.fail("since", "no tree head in the export to check the consistency proof against")
                return
            try:
                proof = [_b64u(p, f"consistency proof element {i}", 32) if isinstance(p, str) else p for i, p in enumerate(self.since_proof_raw)]
                merkle.verify_consistency(size, latest.tree_head.tree_size, since.tree_head.root_hash, latest.tree_head.root_hash, proof)
            except (_Bad, merkle.ProofError, TypeError) as exc:
                result["proof_verified"] = False
                self.fail(
                    "since",
                    f"the consistency proof from size {size} to {latest.tree_head.tree_size} does not verify: {exc}",
                )
            else:
                result["proof_verified"] = True

    # end of input

    def finish(self) -> None:
        report = self.report
        if self.header is None:
            self.fail("format", "the export is empty")
            return
        if not self.ended:
            self.fail("format", f"the file ends without its end line after line {self.line_no}: it is truncated")
        for size in sorted(self.pending):
            for what, line, _payload in self.pending[size]:
                if what == "head":
                    self.fail("root", f"the tree head is for {size} entries but the log has only {self.cr.size}", line)
        self.pending.clear()
        latest = report.latest_tree_head
        if latest is None:
            if self.cr.size:
                self.fail("tree_head", "no valid signed tree head covers the entries")
        elif latest.tree_head.tree_size < self.cr.size:
            self.fail(
                "tree_head",
                f"entries {latest.tree_head.tree_size}…{self.cr.size - 1} are not covered by a signed tree head",
            )
        self.finish_since()
        report.entries = self.cr.size
        for slug, (verified, self_reported) in zip(self.companies, self.company_counts):
            report.verified += verified
            report.self_reported += self_reported
            if slug is None:
                report.self_reported_without_company += self_reported
            elif verified or self_reported:
                report.by_company[slug] = {"verified": verified, "self_reported": self_reported}
        if report.unproven_withdrawals:
            report.warnings.append(
                f"{len(report.unproven_withdrawals)} verified signature(s) were withdrawn without a published secret "
                "(the operator's word; first at leaf " + str(report.unproven_withdrawals[0]) + ")."
            )


def audit(
    lines: Iterable[bytes],
    *,
    trusted_key: bytes | str | None = None,
    since: SignedTreeHead | dict | None = None,
    since_proof: list[bytes] | list[str] | None = None,
) -> AuditReport:
    """Check an export given as its decompressed lines (bytes, each ending in ``\\n``).

    ``trusted_key``: the instance's Ed25519 public key as the user knows it (raw 32 bytes or base64url);
    without it the export's own header key is used and the report says so.
    ``since``: a signed tree head saved earlier (object or its dict form); ``since_proof``: an RFC 9162
    consistency proof from it to the export's latest tree head (32-byte hashes, or base64url strings).
    """
    return _Auditor(trusted_key=trusted_key, since=since, since_proof=since_proof).run(_without_newlines(lines))
