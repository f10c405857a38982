"""Proofs from a log of a million entries: inclusion and consistency proofs through the JSON API must cost
about what a trivial API request costs, whatever the log's size.

    uv run python bench/log_proofs.py [--leaves 1000000] [--requests 200] [--postgres URL] [--keep]

1. Makes a fresh database (SQLite in a temp dir; with --postgres, a scratch database on that server,
   dropped afterwards) and fills one letter's log with ``--leaves`` self-reported signature entries, fast:
   rows written in bulk (executemany on SQLite, COPY on PostgreSQL) with the subtree hashes the publisher
   would store (ledger/subtrees.py), a signed tree head every tenth of the log, the publisher's state;
   then the last 10 entries go through the real publisher (``publish_pending``) on top of that.
2. Times, through the Django test client (URL routing, views, JSON), the median of ``--requests``
   inclusion proofs of random leaves against the latest tree head and against an older one, consistency
   proofs from a random earlier tree head, and the receipt's proof (``receipt_proof``); each response's
   proof is checked against the signed root. Next to them, measured in the same run: a trivial API request
   (the latest tree head, which reads the same letter and log rows) and SHA-256 over 64 bytes times the
   proof length; and once, what one proof cost before (a tree built from every leaf hash of the log)
   and what migration 0004's backfill costs for this log.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import time

from scratch import drop_database, prepare_site_settings  # bench/scratch.py


CHUNK = 50_000
BATCH = "2026-11-29T16:00:00Z"


def entry(i: int) -> bytes:
    """A self-reported signature entry as the publisher writes it (canonical JSON, keys in order)."""
    return (b'{"batch":"' + BATCH.encode() + b'","company":null,"display":{},"id":"'
            + hashlib.blake2b(i.to_bytes(8, "big"), digest_size=16).hexdigest().encode()
            + b'","kind":"signature","type":"self_reported"}')


def fill(state, letter, leaves: int) -> float:
    """Write ``leaves`` entries, their subtree hashes and a tree head every tenth; the seconds it took."""
    from django.db import connection, transaction

    from undersigned.ledger import keys as instance_keys
    from undersigned.ledger import subtrees
    from undersigned.ledger.models import LetterLog, TreeHeadRecord
    from undersigned.lib import merkle, treehead

    started = time.perf_counter()
    key = instance_keys.current_key()
    private = instance_keys.private_key(key)
    builder = subtrees.SubtreeBuilder()
    heads = {leaves * k // 10 for k in range(1, 11)}
    postgres = connection.vendor == "postgresql"
    if not postgres:  # bulk writing only: a page cache for the leaf-hash index, no fsync per chunk
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")
            cursor.execute("PRAGMA synchronous = OFF")
    entry_sql = 'INSERT INTO ledger_logentry (log_id, "index", kind, data, leaf_hash) VALUES (%s, %s, %s, %s, %s)'
    subtree_sql = 'INSERT INTO ledger_subtreehash (log_id, height, "index", hash) VALUES (%s, %s, %s, %s)'
    cuts = sorted(set(range(0, leaves, CHUNK)) | heads | {leaves})
    for start, end in zip(cuts, cuts[1:]):
        rows = []
        for i in range(start, end):
            data = entry(i)
            leaf = merkle.leaf_hash(data)
            builder.append(leaf)
            rows.append((state.pk, i, "signature", data, leaf))
        completed = [(state.pk, h, i, node) for h, i, node in builder.take()]
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                raw = cursor.cursor
                with raw.copy('COPY ledger_logentry (log_id, "index", kind, data, leaf_hash) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                with raw.copy('COPY ledger_subtreehash (log_id, height, "index", hash) FROM STDIN') as copy:
                    for row in completed:
                        copy.write_row(row)
            else:
                cursor.executemany(entry_sql, rows)
                cursor.executemany(subtree_sql, completed)
        if end in heads:
            size = end
            cr = builder.compact_range()
            head = treehead.sign_tree_head(private, treehead.TreeHead(state.identifier, size, cr.root(), BATCH))
            TreeHeadRecord.objects.create(log=state, tree_size=size, root_hash=head.tree_head.root_hash,
                                          timestamp=BATCH, key_id=head.key_id, signature=head.signature)
    if not postgres:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = NORMAL")  # as settings.py has it, for what is timed
    LetterLog.objects.filter(pk=state.pk).update(size=builder.size, compact_range=builder.compact_range().to_dict(),
                                                 last_batch=BATCH)
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leaves", type=int, default=1_000_000, help="Entries in the log (default 1,000,000).")
    parser.add_argument("--requests", type=int, default=200, help="Requests timed per kind (default 200).")
    parser.add_argument("--postgres", metavar="URL",
                        help="Use a scratch database made on this PostgreSQL server (URL of any database there, "
                             "as a role that may create databases) instead of SQLite.")
    parser.add_argument("--keep", action="store_true", help="Keep the database.")
    args = parser.parse_args()
    real = 10  # entries that go through the publisher itself
    if args.leaves < 100 or args.leaves % 10:
        parser.error("--leaves: at least 100, a multiple of 10")

    work, scratch = prepare_site_settings(args.postgres, "undersigned-proofs-bench-")
    import django

    django.setup()
    from datetime import date

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from undersigned.ledger.api import receipt_proof
    from undersigned.ledger.models import LetterLog, LogEntry, TreeHeadRecord
    from undersigned.ledger.publish import letter_log, publish_pending
    from undersigned.letters.models import Letter
    from undersigned.lib import merkle
    from undersigned.lib.blindrsa import b64u_decode
    from undersigned.signatures.models import Signature

    try:
        call_command("migrate", verbosity=0)
        settings.ALLOWED_HOSTS = ["*"]
        letter = Letter.objects.create(slug="bench", language="en", status=Letter.Status.OPEN, title="Bench",
                                       summary="s", body="b", demands="d", addressees="a")
        state = letter_log(letter)
        seconds = fill(state, letter, args.leaves - real)
        Signature.objects.bulk_create([Signature(letter=letter, status=Signature.Status.CONFIRMED,
                                                 company_as_written="Somewhere", confirmed_on=date.today())
                                       for _ in range(real)])
        started = time.perf_counter()
        publish_pending(letter)
        published = time.perf_counter() - started
        state = LetterLog.objects.get(pk=state.pk)
        assert state.size == args.leaves
        print(f"{connection.vendor}: a log of {args.leaves:,} entries written in {seconds:.1f} s "
              f"(bulk), then a batch of {real} through the publisher in {published * 1000:.0f} ms")

        heads = {r.tree_size: bytes(r.root_hash) for r in TreeHeadRecord.objects.filter(log=state)}
        size = max(heads)
        older = sorted(heads)[len(heads) // 2]
        base = f"/api/v1/letters/{letter.slug}/log"
        client = Client()
        rng = random.Random(9162)

        def timed(url_of, check, n=args.requests):
            samples, queries = [], 0
            for _ in range(n):
                url, params = url_of()
                started = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.content[:300]
                check(params, response.json())
            with CaptureQueriesContext(connection) as captured:
                client.get(url_of()[0])
            queries = len(captured)
            return samples, queries

        def leaf_of(index):
            return bytes(LogEntry.objects.get(log=state, index=index).leaf_hash)

        def check_inclusion(params, body):
            index, tree_size = params
            merkle.verify_inclusion(index, tree_size, b64u_decode(body["leaf_hash"]),
                                    [b64u_decode(h) for h in body["proof"]], heads[tree_size])

        def check_consistency(params, body):
            first, second = params
            # The first root: from the tree head of that size.
            merkle.verify_consistency(first, second, heads[first], heads[second], [b64u_decode(h) for h in body["proof"]])

        timed(lambda: (f"{base}/tree-head", None), lambda p, b: None, 20)  # warm up
        trivial, trivial_q = timed(lambda: (f"{base}/tree-head", None), lambda p, b: None)

        def inclusion_url(tree_size):
            def make():
                index = rng.randrange(tree_size)
                suffix = "" if tree_size == size else f"&tree_size={tree_size}"
                return f"{base}/proof/inclusion?index={index}{suffix}", (index, tree_size)
            return make

        def consistency_url():
            first = rng.choice([s for s in heads if s < size])
            return f"{base}/proof/consistency?first={first}", (first, size)

        inclusion, inclusion_q = timed(inclusion_url(size), check_inclusion)
        inclusion_old, _ = timed(inclusion_url(older), check_inclusion)
        consistency, consistency_q = timed(consistency_url, check_consistency)
        signatures = list(Signature.objects.filter(letter=letter).select_related("publication"))
        receipts = []
        for _ in range(args.requests):
            signature = rng.choice(signatures)
            started = time.perf_counter()
            proof = receipt_proof(letter, signature)
            receipts.append(time.perf_counter() - started)
            merkle.verify_inclusion(proof["leaf_index"], size, leaf_of(proof["leaf_index"]),
                                    [b64u_decode(h) for h in proof["proof"]], heads[size])

        path_length = (size - 1).bit_length()
        block = os.urandom(64)
        started = time.perf_counter()
        for _ in range(10_000):
            for _ in range(path_length):
                hashlib.sha256(block).digest()
        sha_path = (time.perf_counter() - started) / 10_000

        started = time.perf_counter()
        hashes = LogEntry.objects.filter(log=state, index__lt=size).order_by("index").values_list("leaf_hash", flat=True)
        before = merkle.MerkleTree(bytes(h) for h in hashes.iterator(chunk_size=5000)).inclusion_proof(7, size)
        before_seconds = time.perf_counter() - started
        assert [b64u_decode(h) for h in client.get(f"{base}/proof/inclusion?index=7").json()["proof"]] == before

        from undersigned.ledger import subtrees

        started = time.perf_counter()
        computed = subtrees.backfill(state.pk)  # what migration 0004 does for a log published before
        backfill_seconds = time.perf_counter() - started

        print(f"median of {args.requests} requests through the JSON API (Django test client), in ms:")
        print(f"  inclusion proof, latest tree head ({size:,})   {median_ms(inclusion):6.2f}   ({inclusion_q} queries)")
        print(f"  inclusion proof, older tree head ({older:,})    {median_ms(inclusion_old):6.2f}")
        print(f"  consistency proof from an earlier tree head   {median_ms(consistency):6.2f}   ({consistency_q} queries)")
        print(f"  receipt_proof (the receipt's proof, no HTTP)  {median_ms(receipts):6.2f}")
        print("reference, same run:")
        print(f"  trivial API request (latest tree head)        {median_ms(trivial):6.2f}   ({trivial_q} queries)")
        print(f"  SHA-256 of 64 bytes x {path_length} (one proof's length)  {sha_path * 1000:6.3f}")
        print(f"  one proof as before (tree of all {size:,} leaf hashes): {before_seconds * 1000:,.0f} ms")
        print(f"  migration 0004's backfill of this log: {computed:,} subtree hashes in {backfill_seconds:.1f} s "
              "(all present already: inserts skipped)")
        print(f"inclusion / trivial request: {statistics.median(inclusion) / statistics.median(trivial):.2f}; "
              f"before / now: {before_seconds / statistics.median(inclusion):,.0f}x")
    finally:
        connection.close()
        if args.keep:
            print(f"kept {scratch or work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            if scratch:
                drop_database(args.postgres, scratch)


if __name__ == "__main__":
    main()
