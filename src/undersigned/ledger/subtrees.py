"""Inclusion and consistency proofs from stored subtree hashes: O(log n) rows read, whatever the log's size.

Design. Every hash a proof of RFC 9162 §2.1.3–2.1.4 carries is MTH(D[start:end]) of a range the RFC's
recursion visits, and such a range splits into perfect aligned subtrees, largest first (its length's
binary digits): at most one per height. Complete perfect subtrees never change once their last leaf is
in the log, so they can be stored once, append-only, like the entries. The publisher writes a
``SubtreeHash`` row (log, height, index, hash) for every complete perfect subtree of height
``MIN_HEIGHT`` (16 leaves) or more, in the transaction that appends the entries completing it; smaller
subtrees are recomputed from the leaf hashes the entries already hold (at most 2**MIN_HEIGHT - 1 of them
per subtree).

A proof then reads O(log n) rows, in one query whatever the size: every range of an inclusion path
but one is a perfect subtree (one row), and the one that is not — the path's part on the log's ragged
right edge — splits into at most log2(n) perfect subtrees; the same holds for consistency proofs. The
leaf hashes read lie in the aligned block of 16 leaves around the proven leaf and in the log's last,
incomplete block: at most 31. For a log of a million entries that is at most 32 subtree rows and 31 leaf
rows (and 20 hashes in the proof), against a million leaf hashes read and hashed before.

Why this shape rather than alternatives:
- Storing every node (heights from 1) would cost a row per leaf — doubling the log's row count — to save
  reading a dozen or so extra leaf hashes per proof; from height 4 the table holds n/8 rows.
- Tiles as in transparency-dev/tlog (one row of 2**k hashes per tile, partial tiles stored again as they
  fill) read fewer rows but need rules for partial tiles and slicing; rows of single subtrees need none.
- Recomputing from a cache of the tree in memory would still read the whole log after every restart
  and on every web process, and grows with the log.

The RFC's recursion is walked on ranges (``merkle.inclusion_ranges``, ``merkle.consistency_ranges``, the
walks ``merkle.MerkleTree`` proves with): knowing every range first lets one query fetch every hash the
proof needs. Tests check every proof against ``merkle.MerkleTree`` built from all leaves and against
``merkle.verify_inclusion`` / ``verify_consistency``.

Logs published before this table existed are filled by migration 0004 (at deploy, before the new code
serves), not lazily on first use: a proof is a GET that may be served from a read replica, and one
request should not pay for a whole log. Should a process running the older code still publish a batch after that, the next publication
sees the gap (``has_gap``: the subtree that its size's last complete block closes is absent) and fills
it; until then the proofs that would need the missing rows raise ``MissingSubtrees`` (the API answers
503, a receipt carries no proof yet) rather than reading the whole log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connections, router

from undersigned.ledger.models import LogEntry, SubtreeHash
from undersigned.lib import merkle

#: The smallest height stored: subtrees of 16 leaves and more. Below it, leaf hashes are hashed again.
MIN_HEIGHT = 4
BLOCK = 1 << MIN_HEIGHT


class MissingSubtrees(RuntimeError):
    """A subtree hash (or leaf) a proof needs is not stored: the log was published without them."""


# --- Writing: the subtrees a run of appended leaves completes -------------------------------------------


class SubtreeBuilder:
    """A ``merkle.CompactRange`` that keeps each perfect subtree of height ``MIN_HEIGHT`` or more its
    appends complete (``take()`` hands them over as (height, index, hash)): the merges an append does
    anyway, so this costs what ``CompactRange.append`` costs, amortised one node hash per leaf.
    """

    __slots__ = ("_range", "_completed")

    def __init__(self, compact_range: merkle.CompactRange | None = None) -> None:
        self._range = compact_range.copy() if compact_range else merkle.CompactRange()
        self._completed: list[tuple[int, int, bytes]] = []

    @property
    def size(self) -> int:
        return self._range.size

    def append(self, leaf: bytes) -> None:
        self._range.append(leaf, self._completed, MIN_HEIGHT)

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self._range.append(leaf, self._completed, MIN_HEIGHT)

    def pending(self) -> int:
        return len(self._completed)

    def take(self) -> list[tuple[int, int, bytes]]:
        """The subtrees completed since the last ``take()``, in the order they were completed."""
        completed, self._completed = self._completed, []
        return completed

    def compact_range(self) -> merkle.CompactRange:
        return self._range.copy()


def rows(log_id: int, completed: Iterable[tuple[int, int, bytes]], model=SubtreeHash) -> list:
    return [model(log_id=log_id, height=h, index=i, hash=node) for h, i, node in completed]


def has_gap(log_id: int, size: int) -> bool:
    """Whether a log of ``size`` leaves lacks the subtree its last complete block of 16 leaves closed.

    Every publication writes the subtrees its entries complete, and each batch crossing a block boundary
    closes one of height MIN_HEIGHT; so after a batch published without them this one is missing.
    """
    if size < BLOCK:
        return False
    return not SubtreeHash.objects.filter(log_id=log_id, height=MIN_HEIGHT, index=size // BLOCK - 1).exists()


def backfill(log_id: int, *, entry_model=LogEntry, subtree_model=SubtreeHash, chunk: int = 2000) -> int:
    """Store every subtree hash of a log from its leaf hashes, leaving those present; the number computed.

    O(n) once per log (one pass over the leaf hashes, O(log n) memory besides a chunk of rows). Migration
    0004 calls it with its historical models; the publisher when ``has_gap``.
    """
    builder = SubtreeBuilder()
    computed = 0

    def flush():
        nonlocal computed
        completed = builder.take()
        computed += len(completed)
        subtree_model.objects.bulk_create(rows(log_id, completed, subtree_model), batch_size=500,
                                          ignore_conflicts=True)

    leaves = entry_model.objects.filter(log_id=log_id).order_by("index").values_list("index", "leaf_hash")
    for index, leaf in leaves.iterator(chunk_size=5000):
        if index != builder.size:
            raise MissingSubtrees(f"log {log_id} has no entry {builder.size} (next is {index})")
        builder.append(bytes(leaf))
        if builder.pending() >= chunk:
            flush()
    flush()
    return computed


# --- Reading: the RFC's proofs as ranges, each range as stored subtrees ----------------------------------


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) as aligned perfect subtrees (height, index), left to right, each the largest that
    fits and is aligned at its start. For the ranges the RFC visits (start aligned to a power of two at
    least end - start, or the range perfect) these are the binary digits of end - start, largest first,
    and MTH(D[start:end]) folds their hashes from the right."""
    parts = []
    while start < end:
        height = (end - start).bit_length() - 1
        while start & ((1 << height) - 1):
            height -= 1
        parts.append((height, start >> height))
        start += 1 << height
    return parts


def _read(log_id: int, subtrees: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The hashes of these perfect subtrees: stored rows for the tall ones, leaf hashes for the rest.

    One statement whatever the log's size: the subtree rows (the log in every arm of the OR, so that each
    arm is a lookup in the unique (log, height, index) index) and the leaf hashes (by the unique
    (log, index) index), as a UNION ALL. Written in SQL: the ORM took twenty times longer to build
    this query than the database to answer it.
    """
    tall = defaultdict(list)
    leaves: set[int] = set()
    for height, index in subtrees:
        if height >= MIN_HEIGHT:
            tall[height].append(index)
        else:
            leaves.update(range(index << height, (index + 1) << height))
    connection = connections[router.db_for_read(SubtreeHash)]  # where the ORM would read (replicas)
    q = connection.ops.quote_name
    parts, params = [], []
    if tall:
        arms = []
        for height, indexes in sorted(tall.items()):
            arms.append(f"({q('log_id')} = %s AND {q('height')} = %s AND {q('index')} IN ({', '.join(['%s'] * len(indexes))}))")
            params += [log_id, height, *sorted(indexes)]
        parts.append(f"SELECT {q('height')}, {q('index')}, {q('hash')} FROM {q(SubtreeHash._meta.db_table)} "
                     f"WHERE {' OR '.join(arms)}")
    if leaves:
        parts.append(f"SELECT -1, {q('index')}, {q('leaf_hash')} FROM {q(LogEntry._meta.db_table)} "
                     f"WHERE {q('log_id')} = %s AND {q('index')} IN ({', '.join(['%s'] * len(leaves))})")
        params += [log_id, *sorted(leaves)]
    found: dict[tuple[int, int], bytes] = {}
    leaf: dict[int, bytes] = {}
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for height, index, value in cursor.fetchall():
                if height < 0:
                    leaf[index] = bytes(value)
                else:
                    found[(height, index)] = bytes(value)
    for height, index in subtrees:
        if height < MIN_HEIGHT:
            try:
                found[(height, index)] = merkle.root([leaf[j] for j in range(index << height, (index + 1) << height)])
            except KeyError:
                raise MissingSubtrees(f"log {log_id}: a subtree hash is missing") from None
        elif (height, index) not in found:
            raise MissingSubtrees(f"log {log_id}: a subtree hash is missing")
    return found


def _hashes_of(log_id: int, ranges: list[tuple[int, int]]) -> list[bytes]:
    split = [perfect_subtrees(start, end) for start, end in ranges]
    found = _read(log_id, {part for parts in split for part in parts})
    out = []
    for parts in split:
        r = found[parts[-1]]
        for part in reversed(parts[:-1]):
            r = merkle.node_hash(found[part], r)
        out.append(r)
    return out


def inclusion_proof(log_id: int, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of the log, the same bytes ``merkle.MerkleTree.inclusion_proof`` gives."""
    return _hashes_of(log_id, merkle.inclusion_ranges(index, size))


def consistency_proof(log_id: int, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) of the log, the same bytes ``merkle.MerkleTree.consistency_proof`` gives."""
    return _hashes_of(log_id, merkle.consistency_ranges(first, second))


def root(log_id: int, size: int) -> bytes:
    """MTH(D[size]) of the log (the root a tree head of that size signs)."""
    return _hashes_of(log_id, [(0, size)])[0] if size else merkle.EMPTY_ROOT
