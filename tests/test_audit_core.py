"""The auditor's core on generated exports: a valid log passes with the right counts; each kind of
tampering is reported at the right line and leaf, never with a traceback."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from undersigned.lib import blindrsa, merkle
from undersigned.lib.blindrsa import b64u_decode, b64u_encode
from undersigned.lib.canonical import canonical_json
from undersigned.lib.treehead import TreeHead, generate_key, public_key_b64, public_key_bytes, sign_key_rotation, sign_tree_head
from undersigned.ledger import audit as audit_module
from undersigned.ledger.audit import audit, audit_file
from undersigned.ledger.synthetic import SyntheticLog, sign_token


@pytest.fixture(scope="module")
def log():
    synthetic = SyntheticLog(n_verified=60, n_self_reported=15, n_withdrawals=3, n_invalidated=2, batch_size=10, seed=7)
    synthetic.lines_list = list(synthetic.lines())
    return synthetic


def parsed(lines):
    return [json.loads(line) for line in lines]


def entry_positions(lines):
    """(line index in the list, leaf index) of every entry line."""
    out, leaf = [], 0
    for i, obj in enumerate(parsed(lines)):
        if obj["kind"] in ("key", "signature", "withdrawal", "invalidation"):
            out.append((i, leaf))
            leaf += 1
    return out


def find(lines, predicate):
    for (i, leaf) in entry_positions(lines):
        obj = json.loads(lines[i])
        if predicate(obj):
            return i, leaf, obj
    raise AssertionError("no such entry")


def reseal(lines, key, log_id=None):
    """Recompute every tree head and the end line, as an operator who rewrites the log would."""
    out, cr, heads = [], merkle.CompactRange(), 0
    for line in lines:
        obj = json.loads(line)
        if obj["kind"] == "tree_head":
            head = obj["tree_head"]
            sth = sign_tree_head(key, TreeHead(log_id or head["log_id"], cr.size, cr.root(), head["timestamp"]))
            out.append(canonical_json({"kind": "tree_head", **sth.to_dict()}) + b"\n")
            heads += 1
        elif obj["kind"] == "end":
            out.append(canonical_json({"kind": "end", "entries": cr.size, "tree_heads": heads}) + b"\n")
        else:
            if obj["kind"] != "header":
                cr.append(merkle.leaf_hash(line[:-1]))
            out.append(line)
    return out


def line_of(obj) -> bytes:
    return canonical_json(obj) + b"\n"


def checks(report):
    return {f.check for f in report.failures}


def gz(lines) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        f.writelines(lines)
    return buf.getvalue()


# --- a valid log ---------------------------------------------------------------------------------------


def test_it_passes_a_valid_export_and_counts_like_the_generator(log):
    report = audit(log.lines_list)
    assert report.ok, [str(f) for f in report.failures]
    counts = report.to_dict()["counts"]
    expected = dict(log.expected)
    assert expected.pop("entries") == report.entries
    assert counts == expected
    assert report.tokens_verified == 60
    assert report.tree_heads == report.tree_heads_verified == len(log.tree_heads)
    assert report.latest_tree_head == log.tree_heads[-1]
    assert report.unproven_withdrawals == []
    assert not report.key_pinned and "taken from the export" in report.warnings[0]


def test_it_reads_the_gzip_file(log, tmp_path):
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(gz(log.lines_list))
    assert audit_file(path, trusted_key=public_key_bytes(log.log_key)).ok
    assert audit_file(io.BytesIO(path.read_bytes())).ok


def test_a_pinned_key_is_reported_and_another_key_fails(log):
    report = audit(log.lines_list, trusted_key=public_key_b64(log.log_key))
    assert report.ok and report.key_pinned and not report.warnings
    report = audit(log.lines_list, trusted_key=public_key_bytes(generate_key()))
    assert not report.ok
    assert any("not the trusted key" in f.message for f in report.failures)
    assert any("not trusted" in f.message for f in report.failures if f.line and f.line > 1)


def test_tree_heads_signed_by_a_rotated_out_key_pass_through_the_rotation_statement(log):
    new_key = generate_key()
    lines = parsed(log.lines_list)
    lines[0]["log_key"] = public_key_b64(new_key)
    lines[0]["key_rotations"] = [sign_key_rotation(log.log_key, new_key, "2026-01-30T00:00:00Z")]
    report = audit([line_of(o) for o in lines], trusted_key=public_key_bytes(new_key))
    assert report.ok, [str(f) for f in report.failures]
    lines[0]["key_rotations"] = []
    report = audit([line_of(o) for o in lines], trusted_key=public_key_bytes(new_key))
    assert "tree_head" in checks(report)


def test_generated_tokens_are_what_the_blind_signing_protocol_yields(log):
    key = log.rsa_keys["google"]
    message = blindrsa.prepare(b"undersigned-token:v1:cancel-the-contracts:x")
    assert blindrsa.verify(key.public_key(), message, sign_token(key, message))
    assert not blindrsa.verify(key.public_key(), message + b"x", sign_token(key, message))
    # A token finalised from a blind signature passes the audit like a generated one.
    blinded, inv = blindrsa.blind(key.public_key(), message)
    signature = blindrsa.finalize(key.public_key(), message, blindrsa.blind_sign(key, blinded), inv)
    lines = list(log.lines_list)
    i, _leaf, obj = find(lines, lambda o: o.get("type") == "verified" and o["company"] == "google")
    obj.update(message=b64u_encode(message), signature=b64u_encode(signature))
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert report.ok, [str(f) for f in report.failures]


# --- tampering -----------------------------------------------------------------------------------------


def test_a_changed_entry_is_located_between_two_tree_heads(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o.get("type") == "self_reported")
    obj["display"] = {"name": "Someone Else", "role": None}
    lines[i] = line_of(obj)
    report = audit(lines)
    assert checks(report) == {"root"}
    first = report.failures[0]
    lo, hi = (int(x) for x in first.message.split("leaves ")[1].split(" ")[0].split("…"))
    assert lo <= leaf <= hi and hi - lo < 12  # within one batch


def test_a_changed_token_is_named_exactly(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o.get("type") == "verified")
    message = bytearray(b64u_decode(obj["message"]))
    message[40] ^= 1
    obj["message"] = b64u_encode(bytes(message))
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert [(f.check, f.line, f.leaf_index) for f in report.failures] == [("token", i + 1, leaf)]
    assert "does not verify" in report.failures[0].message


def test_a_forged_signature_is_named_exactly(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o.get("type") == "verified" and o["company"] == "meta")
    obj["signature"] = b64u_encode(os.urandom(256))
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert [(f.check, f.line, f.leaf_index) for f in report.failures] == [("token", i + 1, leaf)]


def test_a_signature_claiming_another_company_fails(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o.get("type") == "verified" and o["company"] == "meta")
    obj["company"] = "google"
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert [(f.check, f.leaf_index) for f in report.failures] == [("token", leaf)]
    assert "published for meta" in report.failures[0].message


def test_a_duplicated_token_is_named_with_its_first_use(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o.get("type") == "verified")
    j = len(lines) - 2  # a copy after the last entry, in the last batch
    last_batch = json.loads(lines[j - 1])["batch"].encode()
    lines.insert(j, lines[i].replace(obj["batch"].encode(), last_batch))
    lines = reseal(lines, log.log_key)
    report = audit(lines)
    assert len(report.failures) == 1 and report.failures[0].check == "token"
    assert report.failures[0].line == j + 1
    assert f"already appears at leaf {leaf}" in report.failures[0].message


def test_a_removed_entry_is_reported(log):
    lines = list(log.lines_list)
    i, leaf, _obj = find(lines, lambda o: o.get("type") == "verified")
    del lines[i]
    report = audit(lines)
    # Later references shift by one too (withdrawals name leaf indices).
    assert {"tree_head", "root", "format", "reference"} >= checks(report) >= {"tree_head"}
    first = report.failures[0]
    assert "entries are missing among leaves" in first.message
    lo, hi = (int(x) for x in first.message.split("leaves ")[1].split(",")[0].split("…"))
    assert lo <= leaf <= hi


def test_a_reordered_entry_is_reported(log):
    lines = list(log.lines_list)
    positions = entry_positions(lines)
    (a, leaf_a), (b, _leaf_b) = positions[20], positions[21]
    assert json.loads(lines[a])["batch"] == json.loads(lines[b])["batch"]
    lines[a], lines[b] = lines[b], lines[a]
    report = audit(lines)
    assert checks(report) == {"root"}
    assert f"leaves {leaf_a - leaf_a % 10}" in report.failures[0].message or "leaves" in report.failures[0].message


def test_a_tree_head_from_another_log_is_refused(log):
    lines = list(log.lines_list)
    heads = [k for k, o in enumerate(parsed(lines)) if o["kind"] == "tree_head"]
    k = heads[3]
    head = json.loads(lines[k])["tree_head"]
    other = sign_tree_head(
        log.log_key, TreeHead("https://undersigned.example/letters/other", head["tree_size"], b64u_decode(head["root_hash"]), head["timestamp"])
    )
    lines[k] = line_of({"kind": "tree_head", **other.to_dict()})
    report = audit(lines)
    assert [(f.check, f.line) for f in report.failures] == [("tree_head", k + 1)]
    assert "another log" in report.failures[0].message


def test_a_forked_tree_head_is_refused(log):
    lines = list(log.lines_list)
    heads = [k for k, o in enumerate(parsed(lines)) if o["kind"] == "tree_head"]
    head = json.loads(lines[heads[4]])["tree_head"]
    forged = sign_tree_head(log.log_key, TreeHead(head["log_id"], head["tree_size"], os.urandom(32), head["timestamp"]))
    lines.insert(heads[4] + 1, line_of({"kind": "tree_head", **forged.to_dict()}))
    report = audit(lines)
    assert any("forked" in f.message for f in report.failures)
    assert any(f.check == "root" and f.line == heads[4] + 2 for f in report.failures)


def test_a_truncated_gzip_file_is_reported(log, tmp_path):
    data = gz(log.lines_list)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    report = audit_file(path)
    assert not report.ok
    assert report.failures[0].check == "read" and "truncated" in report.failures[0].message


def test_a_file_cut_at_a_line_boundary_is_reported(log):
    report = audit(log.lines_list[:40])
    assert not report.ok
    assert any("truncated" in f.message for f in report.failures)


def test_a_line_cut_in_the_middle_is_reported(log):
    lines = list(log.lines_list[:30])
    lines[-1] = lines[-1][:50]
    report = audit(lines)
    assert any(f.line == 30 and f.check == "format" for f in report.failures)


@pytest.mark.parametrize("data", [b"", b"garbage", os.urandom(4096), b"\x1f\x8b" + os.urandom(200)])
def test_garbage_files_fail_cleanly(tmp_path, data):
    path = tmp_path / "garbage"
    path.write_bytes(data)
    report = audit_file(path)
    assert not report.ok
    assert report.failures[0].check in {"read", "format"}


def test_gzip_members_may_follow_one_another_but_nothing_else(log):
    data = gz(log.lines_list[:30]) + gz(log.lines_list[30:])
    assert audit_file(io.BytesIO(data)).ok
    report = audit_file(io.BytesIO(data + b"trailing"))
    assert [f.check for f in report.failures][:1] == ["read"] and f"after line {len(log.lines_list)}" in report.failures[0].message


def test_an_overlong_line_stops_the_reading_after_the_lines_before_it(log):
    lines = list(log.lines_list)
    lines.insert(10, b"x" * audit_module.MAX_LINE_BYTES + b"\n")
    report = audit_file(io.BytesIO(gz(lines)))
    assert report.lines == 10
    assert report.failures[0].check == "read" and "longer than" in report.failures[0].message


def test_an_overlong_line_is_caught_wherever_the_decompressed_pieces_end(monkeypatch):
    monkeypatch.setattr(audit_module, "_INFLATE_SIZE", 64)  # the 120-byte line ends in a 64-byte piece
    data = gzip.compress(b"a" * 50 + b"\n" + b"b" * 120 + b"\n" + b"c\n")
    lines = []
    with pytest.raises(audit_module.ExportReadError, match="longer than 100 bytes"):
        for line in audit_module.read_export_lines(io.BytesIO(data), max_line=100):
            lines.append(line)
    assert lines == [b"a" * 50]


def test_a_gzipped_garbage_file_fails_at_line_one(tmp_path):
    path = tmp_path / "garbage.gz"
    path.write_bytes(gz([b"hello world\n", b"\xff\xfe\n"]))
    report = audit_file(path)
    assert report.failures[0].line == 1
    assert audit_file(tmp_path / "missing.gz").failures[0].check == "read"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda o: o.update(target="3"), "not a leaf index"),
        (lambda o: o.update(target=10**6), "not an earlier entry"),
        (lambda o: o.update(target=0), "not a signature"),
        (lambda o: o.update(extra=1), "unexpected extra"),
        (lambda o: o.pop("batch"), "missing batch"),
        (lambda o: o.update(batch="yesterday"), "not a UTC time"),
    ],
)
def test_malformed_withdrawals_are_named(log, mutate, message):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o["kind"] == "withdrawal")
    mutate(obj)
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert [(f.line, f.leaf_index) for f in report.failures] == [(i + 1, leaf)]
    assert message in report.failures[0].message


def test_a_withdrawal_with_a_wrong_secret_fails_and_one_without_is_listed(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o["kind"] == "withdrawal" and "secret" in o)
    obj["secret"] = b64u_encode(os.urandom(32))
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert [(f.check, f.leaf_index) for f in report.failures] == [("reference", leaf)]
    del obj["secret"]
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert report.ok and report.unproven_withdrawals == [leaf]
    assert "without a published secret" in report.warnings[-1]


@pytest.mark.parametrize("secret", ["short", 42, "é" * 43, b64u_encode(bytes(16))])
def test_a_withdrawal_secret_that_is_not_one_is_named(log, secret):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o["kind"] == "withdrawal" and "secret" in o)
    obj["secret"] = secret
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert [(f.line, f.leaf_index) for f in report.failures] == [(i + 1, leaf)]
    assert report.failures[0].message.startswith("secret is")


def test_a_second_withdrawal_of_the_same_signature_fails(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o["kind"] == "withdrawal")
    lines.insert(i + 1, lines[i])
    report = audit(reseal(lines, log.log_key))
    assert [(f.check, f.leaf_index) for f in report.failures] == [("reference", leaf + 1)]
    assert f"by leaf {leaf}" in report.failures[0].message


def test_non_canonical_and_bad_json_entries_are_named(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o.get("type") == "self_reported")
    lines[i] = json.dumps(obj).encode() + b"\n"  # spaces, unsorted keys
    j, leaf_j, _ = find(lines, lambda o: o.get("type") == "verified")
    lines[j] = b'{"kind": "signature", oops\n'
    report = audit(reseal_tolerant(lines, log.log_key))
    named = {(f.line, f.leaf_index) for f in report.failures if f.check == "format"}
    assert named == {(i + 1, leaf), (j + 1, leaf_j)}
    # A withdrawal of the damaged signature no longer refers to a signature; nothing else fails.
    assert all(f.check == "reference" and "not a signature" in f.message for f in report.failures if f.check != "format")


@pytest.mark.parametrize(
    "old, new",
    [
        (b'"kind":"signature",', b'"kind":"signature","kind":"signature",'),  # a member twice, same value
        (b'"company":"', b'"company":"x","company":"'),  # twice, the last one the parser keeps
        (b'"type":"verified"', b'"type":"verif\\u0069ed"'),  # an escape RFC 8785 would not write
        (b'"type":"verified"', b'"type": "verified"'),
        (b'{"batch":', b'{ "batch":'),
    ],
)
def test_a_signature_not_in_its_one_canonical_form_is_named_even_when_the_tree_heads_sign_it(log, old, new):
    lines = list(log.lines_list)
    targets = {t for o in parsed(lines) for t in [o.get("target"), *o.get("targets", [])] if t is not None}
    # a verified signature that no withdrawal or invalidation refers to
    i, leaf = next((i, leaf) for i, leaf in entry_positions(lines) if b'"verified"' in lines[i] and leaf not in targets)
    assert lines[i].count(old) == 1
    lines[i] = lines[i].replace(old, new)
    report = audit(reseal_tolerant(lines, log.log_key))
    assert [(f.check, f.line, f.leaf_index) for f in report.failures] == [("format", i + 1, leaf)]
    assert "not in canonical JSON form" in report.failures[0].message
    assert report.verified == log.expected["verified"] - 1 and report.tokens_verified == 59


def reseal_tolerant(lines, key):
    out, cr, heads = [], merkle.CompactRange(), 0
    for line in lines:
        try:
            kind = json.loads(line)["kind"]
        except (ValueError, KeyError, TypeError):
            kind = "damaged"
        if kind == "tree_head":
            head = json.loads(line)["tree_head"]
            sth = sign_tree_head(key, TreeHead(head["log_id"], cr.size, cr.root(), head["timestamp"]))
            out.append(line_of({"kind": "tree_head", **sth.to_dict()}))
            heads += 1
        elif kind == "end":
            out.append(line_of({"kind": "end", "entries": cr.size, "tree_heads": heads}))
        else:
            if kind != "header":
                cr.append(merkle.leaf_hash(line[:-1]))
            out.append(line)
    return out


def test_a_key_with_a_wrong_key_id_fails(log):
    lines = list(log.lines_list)
    i, leaf, obj = find(lines, lambda o: o["kind"] == "key" and o["company"] == "amazon")
    obj["key_id"] = hashlib.sha256(b"x").hexdigest()
    lines[i] = line_of(obj)
    report = audit(reseal(lines, log.log_key))
    assert report.failures[0].check == "key" and report.failures[0].leaf_index == leaf
    assert all(f.check in {"key", "token"} for f in report.failures)


# --- since -------------------------------------------------------------------------------------------------


def test_since_passes_for_an_earlier_head_by_recomputation_and_by_proof(log):
    earlier = log.tree_heads[5]
    latest = log.tree_heads[-1]
    proof = merkle.MerkleTree(log.leaf_hashes).consistency_proof(earlier.tree_head.tree_size, latest.tree_head.tree_size)
    report = audit(log.lines_list, since=earlier.to_dict(), since_proof=[b64u_encode(p) for p in proof])
    assert report.ok, [str(f) for f in report.failures]
    assert report.since == {"tree_size": earlier.tree_head.tree_size, "recomputed": True, "proof_verified": True}


def test_since_fails_when_the_log_was_rewritten(log):
    earlier = log.tree_heads[5]
    head = earlier.tree_head
    forked = sign_tree_head(log.log_key, TreeHead(head.log_id, head.tree_size, os.urandom(32), head.timestamp))
    report = audit(log.lines_list, since=forked, since_proof=[os.urandom(32)])
    assert checks(report) == {"since"}
    assert any("rewritten" in f.message for f in report.failures)
    assert any("consistency proof" in f.message for f in report.failures)


def test_since_is_recomputed_at_any_size_even_inside_a_run_of_counted_signatures(log, monkeypatch):
    # The fast path adds a run of leaves at once; a saved head's size can fall anywhere in it.
    head = log.tree_heads[-1].tree_head
    for size in range(1, len(log.leaf_hashes) + 1):
        saved = sign_tree_head(log.log_key, TreeHead(head.log_id, size, merkle.root(log.leaf_hashes[:size]), head.timestamp))
        report = same_reports(log.lines_list, monkeypatch, since=saved)
        assert report.ok and report.since["recomputed"], (size, [str(f) for f in report.failures])
        changed = [*log.leaf_hashes[: size - 1], merkle.leaf_hash(b"another entry")]
        forked = sign_tree_head(log.log_key, TreeHead(head.log_id, size, merkle.root(changed), head.timestamp))
        report = same_reports(log.lines_list, monkeypatch, since=forked)
        assert checks(report) == {"since"} and "rewritten" in report.failures[0].message, size


@pytest.mark.parametrize("tamper", [False, True])
def test_a_tree_head_moved_earlier_is_compared_inside_a_run_of_counted_signatures(log, monkeypatch, tamper):
    lines = list(log.lines_list)
    heads = [i for i, line in enumerate(lines) if b'"kind":"tree_head"' in line]
    i = heads[len(heads) // 2]
    assert all(b'"kind":"signature"' in line for line in lines[i - 4 : i])
    lines.insert(i - 4, lines.pop(i))  # its size is reached four signatures later
    if tamper:  # a changed byte in one of those four
        lines[i - 1] = lines[i - 1].replace(b'"display":{', b'"display":{ ', 1)
    report = same_reports(lines, monkeypatch)
    misplaced = [f for f in report.failures if f.check == "tree_head"]
    assert len(misplaced) == 1 and misplaced[0].line == i - 3 and "misplaced" in misplaced[0].message
    if tamper:  # that head's root is the first to differ, when its size is reached
        assert checks(report) == {"tree_head", "root", "format"}
        assert [f for f in report.failures if f.check == "root"][0].line == i - 3
    else:
        assert checks(report) == {"tree_head"}


def test_since_fails_when_the_log_shrank_or_is_another_log(log):
    head = log.tree_heads[-1].tree_head
    bigger = sign_tree_head(log.log_key, TreeHead(head.log_id, head.tree_size + 5, os.urandom(32), head.timestamp))
    assert "entries were removed" in audit(log.lines_list, since=bigger).failures[0].message
    other = sign_tree_head(log.log_key, TreeHead("https://elsewhere/letters/x", 3, os.urandom(32), head.timestamp))
    assert "another log" in audit(log.lines_list, since=other).failures[0].message
    stranger = sign_tree_head(generate_key(), TreeHead(head.log_id, 3, os.urandom(32), head.timestamp))
    assert "not trusted" in audit(log.lines_list, since=stranger).failures[0].message
    assert "unreadable" in audit(log.lines_list, since={"tree_head": 1}).failures[0].message


# --- never a traceback -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_in_an_entry_is_a_failure_and_never_a_traceback(log, data):
    lines = list(log.lines_list)
    positions = entry_positions(lines)
    i, _leaf = data.draw(st.sampled_from(positions))
    pos = data.draw(st.integers(0, len(lines[i]) - 2))
    flip = data.draw(st.integers(1, 255))
    line = bytearray(lines[i])
    line[pos] ^= flip
    lines[i] = bytes(line)
    report = audit(lines)
    assert not report.ok
    assert "internal" not in checks(report)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_garbage_lines_never_raise(log, data):
    lines = list(log.lines_list[:12])
    rng = random.Random(data.draw(st.integers()))
    for _ in range(data.draw(st.integers(1, 5))):
        k = rng.randrange(len(lines))
        choice = rng.randrange(4)
        if choice == 0:
            lines[k] = os.urandom(rng.randrange(1, 100)) + b"\n"
        elif choice == 1:
            lines[k] = json.dumps(rng.choice([[], {}, {"kind": None}, {"kind": "signature"}, {"kind": "tree_head", "tree_head": []}, 5, "x"])).encode() + b"\n"
        elif choice == 2:
            lines.insert(k, lines[rng.randrange(len(lines))])
        else:
            del lines[k]
    report = audit(lines)
    assert "internal" not in checks(report)
    report.to_dict()


# --- the fast path for verified signatures ---------------------------------------------------------------


NEVER = re.compile(rb"(?!)")


def audit_without_fast_path(lines, monkeypatch, **kwargs):
    """Every line through the general path: no line has the fast path's form."""
    with monkeypatch.context() as m:
        m.setattr(audit_module, "_VERIFIED_LINE", NEVER)
        m.setattr(audit_module, "_SELF_REPORTED_LINE", NEVER)
        return audit(lines, **kwargs)


def test_the_fast_path_takes_the_valid_signatures(log, monkeypatch):
    general = []
    line = audit_module._Auditor.line
    monkeypatch.setattr(audit_module._Auditor, "line", lambda self, data: general.append(data) or line(self, data))
    report = audit(log.lines_list)
    assert report.ok and report.tokens_verified == 60
    # All but the first of a batch (its new time is checked once) and the first of a company.
    batches, companies = len(log.tree_heads) - 1, len(log.companies)
    fast_verified = 60 - sum(b'"type":"verified"' in data for data in general)
    fast_self_reported = 15 - sum(b'"type":"self_reported"' in data for data in general)
    assert 60 - batches - companies <= fast_verified < 60
    assert 15 - batches - companies <= fast_self_reported <= 15


def same_reports(lines, monkeypatch, **kwargs):
    fast, general = audit(lines, **kwargs), audit_without_fast_path(lines, monkeypatch, **kwargs)
    assert fast.to_dict() == general.to_dict()
    return fast


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.update(display={"name": 'Ada "the" L.', "role": None}),  # escaped in JSON
        lambda o: o.update(display={"name": "Ada\u0001", "role": "naïve – ok"}),
        lambda o: o.update(display={"name": "x" * 501, "role": None}),
        lambda o: o.update(display={"name": "é" * 500, "role": None}),  # 500 characters, 1000 bytes
        lambda o: o.update(display={"name": "a}b", "role": None}),
        lambda o: o.update(display={}),
        lambda o: o.update(display={"Name": None}),
        lambda o: o.update(batch=""),
        lambda o: o.update(batch="2026-01-20T10:05:00Z"),  # earlier than the batch before it
        lambda o: o.update(batch="2099-01-20T10:05:00Z"),  # a new batch
        lambda o: o.update(key_id="ab" * 32),
        lambda o: o.update(company="amazon" if o["company"] != "amazon" else "google"),
        lambda o: o.update(message=o["message"][:-1] + "B"),  # non-canonical last character, or another token
        lambda o: o.update(message=o["message"] + "A"),
        lambda o: o.update(message="QUJD+/"),
        lambda o: o.update(signature=o["signature"][:-1] + "B"),
        lambda o: o.update(signature=o["signature"][:-2]),
        lambda o: o.update(signature=b64u_encode(os.urandom(256))),
    ],
)
def test_the_fast_path_reports_like_the_general_path(log, monkeypatch, change):
    lines = list(log.lines_list)
    _i, _leaf, first = find(lines, lambda o: o.get("type") == "verified")
    i, _leaf, obj = find(lines, lambda o: o.get("type") == "verified" and o["message"] != first["message"])
    change(obj)
    lines[i] = line_of(obj)
    same_reports(reseal(lines, log.log_key), monkeypatch)
    same_reports(lines, monkeypatch)


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.update(company=None if o["company"] else "google"),
        lambda o: o.update(company="unknown"),
        lambda o: o.update(company="Google"),
        lambda o: o.update(id=o["id"].upper()),
        lambda o: o.update(id=o["id"][:-1]),
        lambda o: o.update(batch="2099-01-20T10:05:00Z"),
        lambda o: o.update(batch="2026-01-20T10:5:00Z"),
        lambda o: o.update(display={"name": "Ada\nL.", "role": None}),
    ],
)
def test_the_fast_path_reports_self_reported_signatures_like_the_general_path(log, monkeypatch, change):
    lines = list(log.lines_list)
    positions = [i for i, _leaf in entry_positions(lines) if b'"type":"self_reported"' in lines[i]]
    i = positions[len(positions) // 2]
    obj = json.loads(lines[i])
    change(obj)
    lines[i] = line_of(obj)
    same_reports(reseal(lines, log.log_key), monkeypatch)
    same_reports(lines, monkeypatch)


@pytest.mark.parametrize("kind, message", [("verified", "already appears at leaf"), ("self_reported", "appears twice")])
def test_the_fast_path_reports_a_signature_given_twice_like_the_general_path(log, monkeypatch, kind, message):
    lines = list(log.lines_list)
    i, _leaf, _obj = find(lines, lambda o: o.get("type") == kind)
    lines.insert(i + 1, lines[i])
    assert message in same_reports(reseal(lines, log.log_key), monkeypatch).failures[0].message


@pytest.mark.parametrize("kind", ["verified", "self_reported"])
def test_the_fast_path_reports_hand_written_variants_like_the_general_path(log, monkeypatch, kind):
    lines = list(log.lines_list)
    i, _leaf, obj = find(lines, lambda o: o.get("type") == kind)
    line = lines[i]
    display = line[line.index(b'"display":{') + 11 : line.index(b"}")]
    for other in [
        b'"role":null,"name":null',  # out of order
        b'"name":null,"name":null',  # twice
        b'"name":"\xff","role":null',  # not UTF-8
        b'"name":"\xed\xa0\x80","role":null',  # an encoded surrogate
        b'"name":"\x7f\xe2\x80\xa8","role":null',  # written as they are by RFC 8785
        b'"name":"a\\u0062","role":null',  # an escape RFC 8785 would not write
        b'"name":null ,"role":null',
    ]:
        lines[i] = line.replace(display, other)
        same_reports(reseal_tolerant(lines, log.log_key), monkeypatch)
    lines[i] = line[:-1]  # no newline (and not the last line)
    same_reports(lines, monkeypatch)
    lines[i] = line.replace(b'"kind"', b'"kind" ')
    same_reports(lines, monkeypatch)
    assert same_reports([lines[0][:-1] + b" \n"] + log.lines_list[1:], monkeypatch).failures  # no valid header
    assert same_reports(log.lines_list + [line], monkeypatch).failures  # after the end line


@given(
    st.binary(max_size=12)
    | st.from_regex(rb"[A-Za-z0-9_+/=-]{0,12}", fullmatch=True)
    # long enough for the SIMD decoder's wide loads, with at most one character out of place anywhere
    | st.from_regex(rb"[A-Za-z0-9_-]{0,400}[A-Za-z0-9_+/=\x00\n \x80\xff-]?[A-Za-z0-9_-]{0,400}", fullmatch=True)
)
def test_strict_base64url_decoding_takes_exactly_the_canonical_texts(text):
    expected = None
    if re.fullmatch(rb"[A-Za-z0-9_-]*", text) and len(text) % 4 != 1:
        raw = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=") == text:
            expected = raw
    assert audit_module._b64u_bytes(text) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_of_a_signature_is_reported_like_the_general_path(log, monkeypatch, data):
    lines = list(log.lines_list)
    signatures = [i for i, _leaf in entry_positions(lines) if b'"kind":"signature"' in lines[i]]
    i = data.draw(st.sampled_from(signatures))
    pos = data.draw(st.integers(0, len(lines[i]) - 2))
    line = bytearray(lines[i])
    line[pos] = data.draw(st.sampled_from([*b'"\\{},:0aA_-\x00\xff', line[pos] ^ 1]))
    lines[i] = bytes(line)
    report = same_reports(reseal_tolerant(lines, log.log_key), monkeypatch)
    assert "internal" not in checks(report)


def test_an_empty_batch_time_is_named_on_both_paths_even_first(log, monkeypatch):
    # The batch time before any entry is "", not a time: an entry whose batch is "" is checked, and the
    # self-reported signatures after it are not counted by the fast path under that non-time.
    objs = [json.loads(data) for data in log.lines_list]
    verified = next(o for o in objs if o.get("type") == "verified")
    self_reported = next(o for o in objs if o.get("type") == "self_reported" and o["company"] is not None)
    verified = dict(verified, batch="", company=self_reported["company"])
    self_reported = dict(self_reported, batch="")
    lines = [log.lines_list[0], line_of(verified), line_of(self_reported), line_of(dict(self_reported, id="f" * 32)),
             line_of({"kind": "end", "entries": 3, "tree_heads": 0})]
    report = same_reports(lines, monkeypatch)
    assert report.self_reported == 0
    assert {f.line for f in report.failures if "not a UTC time" in f.message} >= {2, 3, 4}
