"""Proofs from stored subtree hashes (ledger/subtrees.py): the same bytes as a tree built from every leaf,
for logs published in random batches, in a number of rows read that does not grow with the log."""

from __future__ import annotations

import importlib
import math
from collections import Counter
from contextlib import contextmanager
from datetime import date

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cast import companies, letter  # noqa: F401 (fixtures)
from undersigned.ledger import subtrees
from undersigned.ledger.api import receipt_proof
from undersigned.ledger.models import LetterLog, LogEntry, SubtreeHash, TreeHeadRecord
from undersigned.ledger.publish import publish_pending
from undersigned.letters.models import Letter
from undersigned.lib import merkle
from undersigned.lib.blindrsa import b64u_decode
from undersigned.signatures.models import Signature

FILL = importlib.import_module("undersigned.ledger.migrations.0004_fill_subtree_hashes").fill


def leaves_of(n: int, salt: int = 0) -> list[bytes]:
    return [merkle.leaf_hash(f"{salt}:{i}".encode()) for i in range(n)]


def sign_many(letter, n: int) -> None:
    """n confirmed self-reported signatures, straight into the table (the signing path is tested elsewhere)."""
    Signature.objects.bulk_create([
        Signature(letter=letter, status=Signature.Status.CONFIRMED, company_as_written="Somewhere",
                  confirmed_on=date.today()) for _ in range(n)
    ], batch_size=500)


def publish(letter, batches) -> list[int]:
    """Publish batches of these sizes; the log's size after each."""
    sizes = []
    for n in batches:
        sign_many(letter, n)
        publish_pending(letter)
        sizes.append(LetterLog.objects.get(letter=letter).size)
    return sizes


letters_made = Counter()


def fresh_letter() -> Letter:
    letters_made["n"] += 1
    return Letter.objects.create(slug=f"subtrees-{letters_made['n']}", language="en", status=Letter.Status.OPEN,
                                 title="Subtrees", summary="s", body="b", demands="d", addressees="a")


def leaf_hashes(state) -> list[bytes]:
    return [bytes(h) for h in LogEntry.objects.filter(log=state).order_by("index").values_list("leaf_hash", flat=True)]


# --- Without a database: the walks and the builder ----------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 3000), data=st.data())
def test_it_walks_the_rfcs_ranges(size, data):
    tree = merkle.MerkleTree(leaves_of(size))

    def proof(ranges):
        out = []
        for start, end in ranges:
            parts = subtrees.perfect_subtrees(start, end)
            assert [h for h, _ in parts] == sorted({h for h, _ in parts}, reverse=True)  # one per height, tallest first
            hashes = [tree.subtree(i << h, (i + 1) << h) for h, i in parts]
            r = hashes[-1]
            for h in reversed(hashes[:-1]):
                r = merkle.node_hash(h, r)
            out.append(r)
        return out

    index = data.draw(st.integers(0, size - 1))
    assert proof(merkle.inclusion_ranges(index, size)) == tree.inclusion_proof(index, size)
    first = data.draw(st.integers(0, size))
    assert proof(merkle.consistency_ranges(first, size)) == tree.consistency_proof(first, size)
    assert proof([(0, size)]) == [tree.root()]


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(0, 400), max_size=6))
def test_it_keeps_each_subtree_an_append_completes(cuts):
    leaves = leaves_of(sum(cuts) + 17, salt=len(cuts))
    tree = merkle.MerkleTree(leaves)
    reference = merkle.CompactRange()
    completed, start = [], 0
    cr = None
    for cut in [*cuts, 17]:  # restart from the stored compact range after each batch, as the publisher does
        builder = subtrees.SubtreeBuilder(merkle.CompactRange.from_dict(cr.to_dict()) if cr else None)
        builder.extend(leaves[start:start + cut])
        reference.extend(leaves[start:start + cut])
        completed += builder.take()
        cr = builder.compact_range()
        assert cr == reference
        start += cut
    expected = [(h, i) for h in range(subtrees.MIN_HEIGHT, len(leaves).bit_length())
                for i in range(len(leaves) >> h)]
    assert sorted((h, i) for h, i, _ in completed) == sorted(expected)
    for h, i, node in completed:
        assert node == tree.subtree(i << h, (i + 1) << h)


# --- Through the publisher: random batch histories -----------------------------------------------------


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=st.lists(st.integers(1, 70), min_size=1, max_size=7), data=st.data())
def test_it_proves_as_a_tree_of_every_leaf_would(db, batches, data):
    letter = fresh_letter()
    sizes = publish(letter, batches)
    state = LetterLog.objects.get(letter=letter)
    leaves = leaf_hashes(state)
    tree = merkle.MerkleTree(leaves)
    heads = {r.tree_size: bytes(r.root_hash) for r in TreeHeadRecord.objects.filter(log=state)}
    assert sorted(heads) == sizes

    stored = {(h, i): bytes(x) for h, i, x in SubtreeHash.objects.filter(log=state).values_list("height", "index", "hash")}
    assert stored == {(h, i): tree.subtree(i << h, (i + 1) << h)
                      for h in range(subtrees.MIN_HEIGHT, len(leaves).bit_length()) for i in range(len(leaves) >> h)}
    assert not subtrees.has_gap(state.pk, state.size)

    for size in sizes:
        assert subtrees.root(state.pk, size) == heads[size] == tree.root(size)
        indices = range(size) if size <= 24 else data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=12))
        for index in {*indices, 0, size - 1}:
            proof = subtrees.inclusion_proof(state.pk, index, size)
            assert proof == tree.inclusion_proof(index, size)
            merkle.verify_inclusion(index, size, leaves[index], proof, heads[size])
    for second in sizes:
        # From every earlier tree head, and from sizes that were never signed (the API allows them).
        firsts = {s for s in sizes if s <= second} | set(data.draw(st.lists(st.integers(1, second), max_size=4)))
        for first in firsts:
            proof = subtrees.consistency_proof(state.pk, first, second)
            assert proof == tree.consistency_proof(first, second)
            merkle.verify_consistency(first, second, tree.root(first), heads[second], proof)


# --- Rows read per proof --------------------------------------------------------------------------------


@contextmanager
def rows_read():
    """Count the rows fetched by statements that read the log's entries or subtree hashes (ORM or SQL)."""
    counts: Counter = Counter()
    originals = {name: getattr(CursorWrapper, name, None) for name in ("execute", "fetchone", "fetchmany", "fetchall")}

    def execute(self, sql, params=None):
        self.counted = "ledger_subtreehash" in sql or "ledger_logentry" in sql
        return originals["execute"](self, sql, params)

    def fetching(name):
        def fetch(self, *args):
            rows = getattr(self.cursor, name)(*args)
            n = (rows is not None) if name == "fetchone" else len(rows)
            if getattr(self, "counted", False):
                counts["log"] += n
            return rows
        return fetch

    CursorWrapper.execute = execute
    for name in ("fetchone", "fetchmany", "fetchall"):
        setattr(CursorWrapper, name, fetching(name))
    try:
        yield counts
    finally:
        for name, original in originals.items():
            if original is None:
                delattr(CursorWrapper, name)
            else:
                setattr(CursorWrapper, name, original)


def cost(client, url):
    with CaptureQueriesContext(connection) as queries, rows_read() as rows:
        response = client.get(url)
    assert response.status_code == 200, response.content.decode()
    return len(queries), rows, response.json()


def test_it_reads_as_few_rows_for_a_proof_in_a_big_log_as_in_a_small_one(client, letter):
    big = letter
    publish(big, [1200, 1801, 2])  # 3003 entries, tree heads 1200, 3001 and 3003
    small = fresh_letter()
    publish(small, [37, 6, 2])  # 45 entries, tree heads 37, 43 and 45
    with rows_read() as rows:  # the counter sees what a tree of the whole log would read
        assert len(leaf_hashes(LetterLog.objects.get(letter=big))) == 3003
    assert rows["log"] == 3003
    costs = {}
    for name, log, size, first in (("big", big, 3003, 1200), ("small", small, 45, 37)):
        base = f"/api/v1/letters/{log.slug}/log"
        leaves = leaf_hashes(LetterLog.objects.get(letter=log))
        tree = merkle.MerkleTree(leaves)
        for what, url, expected in (
            ("first leaf", f"{base}/proof/inclusion?index=0", tree.inclusion_proof(0, size)),
            ("middle leaf", f"{base}/proof/inclusion?index={size // 2 + 3}", tree.inclusion_proof(size // 2 + 3, size)),
            ("last leaf", f"{base}/proof/inclusion?index={size - 1}", tree.inclusion_proof(size - 1, size)),
            ("old head", f"{base}/proof/inclusion?index=7&tree_size={first}", tree.inclusion_proof(7, first)),
            ("consistency", f"{base}/proof/consistency?first={first}", tree.consistency_proof(first, size)),
            ("consistency 2", f"{base}/proof/consistency?first=3&second={size - 2}", tree.consistency_proof(3, size - 2)),
        ):
            queries, rows, body = cost(client, url)
            assert [b64u_decode(h) for h in body["proof"]] == expected
            costs[name, what] = queries, rows["log"]
    for what in ("first leaf", "middle leaf", "last leaf", "old head", "consistency", "consistency 2"):
        big_queries, big_rows = costs["big", what]
        small_queries, small_rows = costs["small", what]
        assert big_queries == small_queries, what
        # At most one subtree per height per range on the right edge, plus the leaves of two blocks of 16.
        assert big_rows <= 2 * math.ceil(math.log2(3003)) + 2 * subtrees.BLOCK + 1, (what, big_rows)
    receipt_rows = []
    for log in (big, small):
        signature = Signature.objects.filter(letter=log).order_by("publication__leaf_index")[5]
        with CaptureQueriesContext(connection) as queries, rows_read() as rows:
            proof = receipt_proof(log, signature)
        receipt_rows.append((len(queries), rows["log"] < 100))
        assert proof["leaf_index"] == 5
    assert receipt_rows[0] == receipt_rows[1] and receipt_rows[0][1]


# --- Logs published without subtree hashes --------------------------------------------------------------


def test_it_fills_the_subtrees_of_logs_published_before_they_were_stored(client, letter, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(subtrees, "rows", lambda *args, **kwargs: [])  # what the older publisher did
        publish(letter, [30, 7])
    state = LetterLog.objects.get(letter=letter)
    assert not SubtreeHash.objects.filter(log=state).exists() and subtrees.has_gap(state.pk, 37)
    base = f"/api/v1/letters/{letter.slug}/log"
    # Never the whole log read again: the proof waits for the rows.
    response = client.get(f"{base}/proof/inclusion?index=3")
    assert response.status_code == 503 and "next publication" in response.json()["error"]
    assert client.get(f"{base}/proof/consistency?first=30").status_code == 503
    assert receipt_proof(letter, Signature.objects.filter(letter=letter).first()) is None

    FILL(django_apps, None)  # migration 0004
    tree = merkle.MerkleTree(leaf_hashes(state))
    assert SubtreeHash.objects.filter(log=state).count() == 3 and not subtrees.has_gap(state.pk, 37)  # 4/0, 4/1, 5/0
    assert subtrees.consistency_proof(state.pk, 30, 37) == tree.consistency_proof(30, 37)
    FILL(django_apps, None)  # again: nothing new, nothing changed
    assert SubtreeHash.objects.filter(log=state).count() == 3

    # A batch published by an older process after the migration ran: the next publication fills it in.
    with monkeypatch.context() as patched:
        patched.setattr(subtrees, "rows", lambda *args, **kwargs: [])
        publish(letter, [40])
    assert subtrees.has_gap(state.pk, 77)
    assert client.get(f"{base}/proof/inclusion?index=70").status_code == 503
    publish(letter, [1])
    tree = merkle.MerkleTree(leaf_hashes(state))
    assert not subtrees.has_gap(state.pk, 78) and SubtreeHash.objects.filter(log=state).count() == 4 + 2 + 1
    for index in (0, 40, 70, 77):
        body = client.get(f"{base}/proof/inclusion?index={index}").json()
        assert [b64u_decode(h) for h in body["proof"]] == tree.inclusion_proof(index, 78)
