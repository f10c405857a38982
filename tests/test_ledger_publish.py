"""Publication in batches: shuffled, coarse times, append-only, and counts that follow the log."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from tests.support.cast import companies, letter, mailbox, signed  # noqa: F401 (fixtures)
from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)
from undersigned.ledger.audit import audit_file
from undersigned.ledger.export import write_export
from undersigned.ledger.models import AppendOnlyError, InstanceKey, LogEntry, SubtreeHash, TreeHeadRecord
from undersigned.ledger.publish import publish_pending
from undersigned.lib import merkle
from undersigned.lib.canonical import parse_json
from undersigned.moderation.actions import invalidate
from undersigned.signatures.actions import withdraw_signature
from undersigned.signatures.counts import letter_counts
from undersigned.signatures.models import Signature


def entries(letter) -> list[dict]:
    return [parse_json(bytes(d)) for d in LogEntry.objects.filter(log__letter=letter).order_by("index").values_list("data", flat=True)]


def audited(letter):
    buffer = io.BytesIO()
    write_export(letter, buffer)
    buffer.seek(0)
    return audit_file(buffer)


def test_it_counts_a_signature_only_once_its_batch_is_published(client, letter, mailbox, settings):
    settings.PUBLICATION_INTERVAL = 120
    page = signed(client, letter, mailbox, email="a@google.com", company="Google")
    assert "next publication" in page.content.decode()
    assert letter_counts(letter).total == 0
    assert client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]["total"] == 0
    assert publish_pending() == 1
    assert letter_counts(letter).total == 1
    assert client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]["self_reported"] == 1
    assert publish_pending() == 0  # nothing new: no entry, no new tree head
    assert TreeHeadRecord.objects.filter(log__letter=letter).count() == 1


def test_it_shuffles_a_batch_and_rounds_its_time(client, letter, mailbox, settings):
    settings.PUBLICATION_INTERVAL = 300
    for i in range(12):
        signed(client, letter, mailbox, email=f"s{i}@google.com", company="Google" if i % 2 else "Amazon")
    publish_pending(letter)
    logged = entries(letter)
    assert len(logged) == 12
    batches = {e["batch"] for e in logged}
    assert len(batches) == 1
    (batch,) = batches
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", batch) and int(batch[14:16]) % 5 == 0
    # The order in the log is not the order of signing (12! orders: a false failure is negligible).
    by_signature = list(Signature.objects.order_by("id").values_list("publication__leaf_index", flat=True))
    assert by_signature != sorted(by_signature)
    # No display fields and no identifier but a random id in self-reported entries.
    for entry in logged:
        assert entry["display"] == {} and re.fullmatch(r"[0-9a-f]{32}", entry["id"])
        assert entry["company"] in ("google", "amazon")
    assert audited(letter).ok


def test_it_publishes_withdrawals_and_invalidations_and_counts_follow(client, letter, mailbox, admin_user):
    for i in range(4):
        signed(client, letter, mailbox, email=f"w{i}@google.com", company="Google")
    first, second, third, _fourth = Signature.objects.order_by("id")
    withdraw_signature(first)
    invalidate(letter, Signature.objects.filter(pk__in=[second.pk, third.pk]), reason="One disposable domain", user=admin_user)
    kinds = [e["kind"] for e in entries(letter)]
    assert kinds == ["signature"] * 4 + ["withdrawal", "invalidation"]
    invalidation = entries(letter)[-1]
    assert invalidation["reason"] == "One disposable domain"
    assert invalidation["targets"] == sorted([second.publication.leaf_index, third.publication.leaf_index])
    assert letter_counts(letter).total == 1
    report = audited(letter)
    assert report.ok, report.failures
    assert (report.self_reported, report.withdrawn, report.invalidated) == (1, 1, 2)


def test_it_publishes_verified_signatures_with_their_keys(client, letter, signer, mailbox):
    signer.sign("jane@google.com")
    signer.sign("joe@amazon.com")
    signed(client, letter, mailbox, email="sr@google.com", company="Google")
    logged = entries(letter)
    kinds = [(e["kind"], e.get("type")) for e in logged]
    assert kinds.count(("key", None)) == 2 and kinds.count(("signature", "verified")) == 2
    assert kinds.index(("key", None)) < kinds.index(("signature", "verified"))
    report = audited(letter)
    assert report.ok, report.failures
    assert (report.verified, report.self_reported, report.tokens_verified) == (2, 1, 2)
    assert letter_counts(letter).verified == 2


def test_it_never_updates_or_deletes_an_entry(client, letter, mailbox):
    signed(client, letter, mailbox, email="a@google.com", company="Google")
    # 15 more: 16 entries, a block whose subtree hash is stored (append-only too).
    Signature.objects.bulk_create([Signature(letter=letter, status=Signature.Status.CONFIRMED, company_as_written="X",
                                             confirmed_on=date.today()) for _ in range(15)])
    publish_pending(letter)
    entry = LogEntry.objects.get(index=0)
    entry.data = b'{"forged":true}'
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        LogEntry.objects.filter(pk=entry.pk).update(data=b"{}")
    with pytest.raises(AppendOnlyError):
        LogEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        TreeHeadRecord.objects.all().delete()
    subtree = SubtreeHash.objects.get()
    root = bytes(subtree.hash)
    subtree.hash = b"\0" * 32
    with pytest.raises(AppendOnlyError):
        subtree.save()
    with pytest.raises(AppendOnlyError):
        subtree.delete()
    with pytest.raises(AppendOnlyError):
        SubtreeHash.objects.filter(pk=subtree.pk).update(hash=b"\0" * 32)
    with pytest.raises(AppendOnlyError):
        SubtreeHash.objects.all().delete()
    # Below the ORM, the database refuses too.
    for sql in ("UPDATE ledger_logentry SET data = data", "DELETE FROM ledger_logentry",
                "UPDATE ledger_treeheadrecord SET tree_size = 7", "DELETE FROM ledger_treeheadrecord",
                "UPDATE ledger_subtreehash SET hash = hash", "DELETE FROM ledger_subtreehash"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    # An upsert that would overwrite a row (SQLite's REPLACE deletes it first; PostgreSQL's ON CONFLICT
    # updates it) is refused too.
    first = LogEntry.objects.get(index=0)
    if connection.vendor == "sqlite":
        replace = ("INSERT OR REPLACE INTO ledger_logentry (id, log_id, \"index\", kind, data, leaf_hash) "
                   "SELECT id, log_id, \"index\", kind, X'7B7D', leaf_hash FROM ledger_logentry WHERE id = %s")
    else:
        replace = ("INSERT INTO ledger_logentry (id, log_id, \"index\", kind, data, leaf_hash) "
                   "SELECT id, log_id, \"index\", kind, '\\x7b7d'::bytea, leaf_hash FROM ledger_logentry WHERE id = %s "
                   "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(replace, [first.pk])
    assert LogEntry.objects.count() == 16 and bytes(LogEntry.objects.get(index=0).data).startswith(b'{"batch"')
    leaves = [bytes(h) for h in LogEntry.objects.order_by("index").values_list("leaf_hash", flat=True)]
    assert SubtreeHash.objects.count() == 1 and bytes(SubtreeHash.objects.get().hash) == root == merkle.root(leaves)


def test_it_keeps_the_log_key_encrypted_at_rest(client, letter, mailbox, settings):
    signed(client, letter, mailbox, email="a@google.com", company="Google")
    key = InstanceKey.objects.get()
    assert len(bytes(key.public_key)) == 32 and key.sealed_private_key.startswith("gAAAA")  # Fernet


def test_it_publishes_the_secret_that_proves_a_verified_withdrawal(client, letter, signer, mailbox):
    receipt = signer.sign("jane@google.com")
    signer.api.withdraw(receipt)
    withdrawal = next(e for e in entries(letter) if e["kind"] == "withdrawal")
    assert withdrawal["secret"] == receipt["withdrawal_secret"]
    report = audited(letter)
    assert report.ok, report.failures
    assert report.withdrawn == 1 and report.unproven_withdrawals == []
    assert letter_counts(letter).verified == 0


def test_the_audit_refuses_a_secret_that_is_not_the_tokens(client, letter, signer, mailbox):
    receipt = signer.sign("jane@google.com")
    signer.api.withdraw(receipt)
    buffer = io.BytesIO()
    write_export(letter, buffer)
    import gzip

    from undersigned.lib.canonical import canonical_json

    lines = gzip.decompress(buffer.getvalue()).splitlines()
    index = next(i for i, line in enumerate(lines) if b'"kind":"withdrawal"' in line)
    entry = parse_json(lines[index])
    entry["secret"] = "A" * 43  # well formed, but not the secret the token commits to
    lines[index] = canonical_json(entry)
    report = audit_file(io.BytesIO(gzip.compress(b"\n".join(lines) + b"\n")))
    assert not report.ok
    assert any("does not match the token" in failure.message for failure in report.failures)


def test_it_invalidates_more_signatures_than_a_statement_takes_parameters(client, letter, mailbox, admin_user):
    # PostgreSQL binds at most 65,535 parameters a statement: a flood selected all at once must still go.
    signed(client, letter, mailbox, email="real@google.com", company="Google")
    publish_pending(letter)
    Signature.objects.bulk_create(
        [Signature(letter=letter, status=Signature.Status.CONFIRMED, company_as_written="Flood") for _ in range(70_000)],
        batch_size=2000,
    )
    record = invalidate(letter, Signature.objects.filter(letter=letter), reason="A flood", user=admin_user)
    assert record.signature_count == 70_001
    publish_pending(letter)
    assert letter_counts(letter).total == 0
    assert Signature.objects.filter(status=Signature.Status.INVALIDATED).count() == 70_001
    assert audited(letter).ok  # the invalidation entry names the one published signature


def test_a_registry_change_after_publication_keeps_the_counts_equal_to_the_log(client, letter, mailbox, companies):
    # Self-reported entries name the company they were matched to; both sides roll up to today's top parent.
    from undersigned.companies.models import Company
    from undersigned.ledger.cli import _compare_counts

    def problems():
        roots = {c["slug"]: c["root"] for c in client.get("/api/v1/companies").json()["companies"]}
        counts = client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]
        return _compare_counts(audited(letter), counts, counts, roots)

    signed(client, letter, mailbox, email="a@google.com", company="Google")
    signed(client, letter, mailbox, email="b@aws.example", company="AWS")
    publish_pending(letter)
    assert [e["company"] for e in entries(letter) if e["kind"] == "signature"] != [None, None]
    assert problems() == []
    Company.objects.filter(slug="google").update(parent=None)  # Google no longer under Alphabet
    Company.objects.filter(slug="aws").update(parent=None)
    assert problems() == []


def test_the_audit_reads_the_letter_page_counts_and_names_a_difference(client, letter, mailbox, companies):
    from undersigned.ledger.cli import _compare_counts, _PageCounts

    signed(client, letter, mailbox, email="a@google.com", company="Google")
    signed(client, letter, mailbox, email="b@aws.example", company="AWS")
    signed(client, letter, mailbox, email="c@acme.example", company="Acme Widgets")
    publish_pending(letter)
    roots = {c["slug"]: c["root"] for c in client.get("/api/v1/companies").json()["companies"]}
    api = client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]
    page = _PageCounts()
    page.feed(client.get(f"/letters/{letter.slug}/").content.decode())
    assert (page.counts["verified"], page.counts["self_reported"]) == (0, 3)
    assert sorted((row["company"] or "", row["self_reported"]) for row in page.counts["by_company"]) == \
        sorted((row["company"] or "", row["self_reported"]) for row in api["by_company"])
    assert _compare_counts(audited(letter), api, page.counts, roots) == []

    page.counts["by_company"][0]["self_reported"] += 1  # a page that inflates one company
    problems = _compare_counts(audited(letter), api, page.counts, roots)
    assert len(problems) == 1 and "the letter page shows" in problems[0]
