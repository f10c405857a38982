"""The public log API: ranges, tree heads, proofs, the key, the export, and the receipt page."""

from __future__ import annotations

import gzip
import io

import pytest

from tests.support.cast import companies, letter, mailbox, signed  # noqa: F401 (fixtures)
from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)
from undersigned.ledger.audit import audit_file
from undersigned.lib import merkle, treehead
from undersigned.lib.blindrsa import b64u_decode
from undersigned.lib.canonical import canonical_json
from undersigned.verification.protocol import receipt_text


@pytest.fixture
def log(client, letter, mailbox):
    for i in range(5):
        signed(client, letter, mailbox, email=f"p{i}@google.com", company="Google")
    return f"/api/v1/letters/{letter.slug}/log"


def test_it_serves_entries_by_range(client, log):
    data = client.get(f"{log}/entries?start=1&end=4").json()
    assert [e["index"] for e in data["entries"]] == [1, 2, 3] and data["tree_size"] == 5
    for item in data["entries"]:
        assert merkle.leaf_hash(canonical_json(item["entry"])) == b64u_decode(item["leaf_hash"])
    assert len(client.get(f"{log}/entries").json()["entries"]) == 5


@pytest.mark.parametrize("query", ["start=-1", "start=x", "start=3&end=2", "end=6", "start=1e3", "start=&end=99",
                                   "start=0&end=99999999999999999999", "end=%00"])
def test_it_refuses_malformed_ranges(client, log, query):
    response = client.get(f"{log}/entries?{query}")
    assert 400 <= response.status_code < 500 and "error" in response.json()


def test_it_signs_tree_heads_with_the_published_key(client, log, letter):
    key = client.get("/api/v1/log/key").json()
    head = treehead.SignedTreeHead.from_dict(client.get(f"{log}/tree-head").json())
    treehead.verify_tree_head(key["public_key"], head)
    assert head.tree_head.tree_size == 5 and head.tree_head.log_id.endswith(f"/letters/{letter.slug}")
    heads = client.get(f"{log}/tree-heads").json()["tree_heads"]
    assert [h["tree_head"]["tree_size"] for h in heads] == [1, 2, 3, 4, 5]
    assert client.get(f"{log}/tree-head?size=3").json()["tree_head"]["tree_size"] == 3
    assert client.get(f"{log}/tree-head?size=99").status_code == 404
    assert client.get(f"{log}/tree-head?size=abc").status_code == 400


def test_it_proves_inclusion_and_consistency(client, log):
    head = client.get(f"{log}/tree-head").json()
    root = b64u_decode(head["tree_head"]["root_hash"])
    for index in range(5):
        proof = client.get(f"{log}/proof/inclusion?index={index}").json()
        leaf = merkle.leaf_hash(canonical_json(proof["entry"]))
        merkle.verify_inclusion(index, 5, leaf, [b64u_decode(h) for h in proof["proof"]], root)
    by_hash = client.get(f"{log}/proof/inclusion?leaf_hash={proof['leaf_hash']}").json()
    assert by_hash["leaf_index"] == 4
    old = client.get(f"{log}/tree-head?size=2").json()
    consistency = client.get(f"{log}/proof/consistency?first=2").json()
    merkle.verify_consistency(2, 5, b64u_decode(old["tree_head"]["root_hash"]), root,
                              [b64u_decode(h) for h in consistency["proof"]])
    for bad in ("first=0", "first=6", "first=a", "first=3&second=2", ""):
        assert client.get(f"{log}/proof/consistency?{bad}").status_code == 400
    assert client.get(f"{log}/proof/inclusion?index=9").status_code == 404
    assert client.get(f"{log}/proof/inclusion").status_code == 400
    assert client.get(f"{log}/proof/inclusion?leaf_hash=***").status_code == 400


def test_it_serves_the_complete_export(client, log, letter):
    response = client.get(f"{log}/export.jsonl.gz")
    assert response.status_code == 200 and response["Content-Type"] == "application/gzip"
    body = b"".join(response.streaming_content)
    lines = gzip.decompress(body).splitlines()
    assert b'"kind":"header"' in lines[0] and b'"kind":"end"' in lines[-1]
    report = audit_file(io.BytesIO(body))
    assert report.ok, report.failures
    assert report.self_reported == 5 == client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]["total"]


def test_it_gives_a_receipt_its_inclusion_proof(client, letter, signer):
    receipt = signer.sign("jane@google.com")
    proof = client.get(f"/api/v1/letters/{letter.slug}/log/proof/inclusion", {"message": receipt["message"]}).json()
    assert proof["entry"]["message"] == receipt["message"] and proof["entry"]["type"] == "verified"
    # The receipt itself carries the inclusion proof it was given (publication was immediate here).
    saved = receipt["log"]
    head = treehead.SignedTreeHead.from_dict(saved["tree_head"])
    treehead.verify_tree_head(client.get("/api/v1/log/key").json()["public_key"], head)
    merkle.verify_inclusion(saved["leaf_index"], head.tree_head.tree_size, merkle.leaf_hash(canonical_json(saved["entry"])),
                            [b64u_decode(h) for h in saved["proof"]], head.tree_head.root_hash)
    page = client.post(f"/letters/{letter.slug}/check/receipt/", {"receipt": receipt_text(receipt)})
    assert page.status_code == 200 and 'id="receipt-result"' in page.content.decode()
    assert "checks out" in page.content.decode()
    garbage = client.post(f"/letters/{letter.slug}/check/receipt/", {"receipt": "hello"})
    assert garbage.status_code == 400 and "receipt-error" in garbage.content.decode()


def test_the_receipt_page_completes_a_receipt_made_before_publication(client, letter, signer):
    import html
    import re

    from undersigned.verification.protocol import read_receipt

    receipt = signer.sign("jane@google.com")
    page = client.post(f"/letters/{letter.slug}/check/receipt/", {"receipt": receipt_text({**receipt, "log": None})})
    found = re.search(r'<textarea id="completed-receipt"[^>]*>([^<]+)</textarea>', page.content.decode())
    assert page.status_code == 200 and found
    completed = read_receipt(html.unescape(found.group(1)))
    assert completed["log"]["leaf_index"] == receipt["log"]["leaf_index"]
    assert completed["log"]["entry"] == receipt["log"]["entry"] and completed["log"]["proof"] == receipt["log"]["proof"]
    # A receipt that holds its proof already is not offered again.
    again = client.post(f"/letters/{letter.slug}/check/receipt/", {"receipt": receipt_text(receipt)})
    assert "completed-receipt" not in again.content.decode()


def test_it_explains_how_to_check_and_links_there(client, letter, log):
    page = client.get(f"/letters/{letter.slug}/").content.decode()
    assert f'href="/letters/{letter.slug}/check/"' in page
    how = client.get(f"/letters/{letter.slug}/check/").content.decode()
    assert f"undersigned audit http://" in how and f"/letters/{letter.slug}/" in how
    assert "export.jsonl.gz" in how
    spanish = client.get(f"/es/letters/{letter.slug}/check/")
    assert spanish.status_code == 200 and "registro público" in spanish.content.decode()


def test_it_documents_the_log_api(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/letters/{slug}/log/entries", "/api/v1/letters/{slug}/log/export.jsonl.gz",
                 "/api/v1/letters/{slug}/log/proof/inclusion", "/api/v1/log/key"):
        assert path in paths


def test_the_receipt_page_says_when_a_published_signature_has_no_proof_yet(client, letter, signer, monkeypatch):
    from datetime import date

    from undersigned.ledger import subtrees
    from undersigned.ledger.publish import publish_pending
    from undersigned.signatures.models import Signature

    receipt = signer.sign("jane@google.com")
    # A real gap: a batch published by an older process that stored no subtree hashes, taking the log past
    # 32 leaves, so that every proof needs a stored subtree (as in test_ledger_subtrees).
    Signature.objects.bulk_create([
        Signature(letter=letter, status=Signature.Status.CONFIRMED, company_as_written="Somewhere",
                  confirmed_on=date.today()) for _ in range(36)
    ])
    with monkeypatch.context() as patched:
        patched.setattr(subtrees, "rows", lambda *args, **kwargs: [])
        publish_pending(letter)
    page = client.post(f"/letters/{letter.slug}/check/receipt/", {"receipt": receipt_text(receipt)})
    assert page.status_code == 503 and "is in the log, but its proof cannot be built right now" in page.content.decode()
    spanish = client.post(f"/es/letters/{letter.slug}/check/receipt/", {"receipt": receipt_text(receipt)})
    assert "Tu firma está en el registro" in spanish.content.decode()
