"""`undersigned audit`: against the running site after real signings, and on tampered exports, each
failing at the right entry with exit status 1 and no traceback."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import sys

import httpx
import pytest
from click.testing import CliRunner

from tests.support.cast import companies, letter, mailbox, signed  # noqa: F401 (fixtures)
from tests.support.mail import SmtpSink
from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)
from undersigned.cli import main
from undersigned.ledger.export import write_export
from undersigned.letters.demo import DEMO_SLUG
from undersigned.letters.models import Letter
from undersigned.lib.canonical import canonical_json, parse_json

CONFIRM_LINK = r"https?://\S+/signatures/confirm/[\w-]+/"


def run(args, tmp_path, stdin: str | None = None, timeout: float = 120):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "auditor-data")}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "undersigned", *args], env=env, cwd=tmp_path, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def csrf_post(client: httpx.Client, url: str) -> httpx.Response:
    """POST the form of a page as a browser on this site does (no cookie, the site's own Origin)."""
    assert client.get(url).status_code == 200
    return client.post(url, headers={"Origin": str(client.base_url).rstrip("/")})


def sign_self_reported(site, smtp_sink, email: str, company: str) -> None:
    with httpx.Client(base_url=site.url, timeout=20, follow_redirects=True) as client:
        seen = len(smtp_sink.messages)
        response = client.post(f"/api/v1/letters/{DEMO_SLUG}/signatures", json={"company": company, "email": email})
        assert response.status_code == 202, response.text
        assert csrf_post(client, smtp_sink.link(smtp_sink.wait_for(email, after=seen), CONFIRM_LINK)).status_code == 200


def sign_verified(site, smtp_sink, email: str, tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "signer-data")}
    env.pop("DATABASE_URL", None)
    seen = len(smtp_sink.messages)
    process = subprocess.Popen([sys.executable, "-m", "undersigned", "sign", f"{site.url}/letters/{DEMO_SLUG}/"],
                               env=env, cwd=tmp_path, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    process.stdin.write(email + "\n")
    process.stdin.flush()
    code = re.search(r"\b(\d{8})\b", SmtpSink.text(smtp_sink.wait_for(email, after=seen))).group(1)
    process.stdin.write(code + "\n")
    process.stdin.flush()
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return tmp_path / f"undersigned-receipt-{DEMO_SLUG}.json"


def test_it_audits_the_running_site_after_real_signings(site, smtp_sink, tmp_path):
    url = f"{site.url}/letters/{DEMO_SLUG}/"
    sign_self_reported(site, smtp_sink, "auditor.one@google.com", "Google")
    sign_self_reported(site, smtp_sink, "auditor.two@example.org", "Some Startup")
    receipt = sign_verified(site, smtp_sink, "auditor.three@google.com", tmp_path)

    first = run(["audit", url, "--save-tree-head", "head.json"], tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "All checks passed" in first.stdout and "Traceback" not in first.stdout + first.stderr
    assert "the counts equal what the letter page and the API show" in first.stdout
    saved = json.loads((tmp_path / "head.json").read_text())

    sign_self_reported(site, smtp_sink, "auditor.four@amazon.com", "Amazon")
    later = run(["audit", url, "--since", "head.json", "--json"], tmp_path)
    assert later.returncode == 0, later.stdout + later.stderr
    report = json.loads(later.stdout)
    assert report["ok"] and report["since"] and report["latest_tree_head"]["tree_head"]["tree_size"] > saved["tree_head"]["tree_size"]
    counts = httpx.get(f"{site.url}/api/v1/letters/{DEMO_SLUG}").json()["counts"]
    assert (report["counts"]["verified"], report["counts"]["self_reported"]) == (counts["verified"], counts["self_reported"])

    checked = run(["audit", "--receipt", str(receipt)], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "inclusion proof verifies" in checked.stdout

    # The export downloaded by hand audits offline too.
    export = httpx.get(f"{site.url}/api/v1/letters/{DEMO_SLUG}/log/export.jsonl.gz").content
    (tmp_path / "log.jsonl.gz").write_bytes(export)
    offline = run(["audit", "--file", "log.jsonl.gz"], tmp_path)
    assert offline.returncode == 0 and "All checks passed" in offline.stdout


def test_it_fails_cleanly_for_a_missing_letter_or_site(site, tmp_path):
    other = run(["audit", f"{site.url}/letters/no-such-letter/"], tmp_path)
    assert other.returncode == 1 and "FAILED" in other.stdout and "Traceback" not in other.stdout + other.stderr
    nowhere = run(["audit", "http://127.0.0.1:9/letters/x/"], tmp_path)
    assert nowhere.returncode == 1 and "cannot fetch" in nowhere.stdout


# --- Tampered exports -------------------------------------------------------------------------------


@pytest.fixture
def export_lines(client, letter, mailbox, signer) -> list[bytes]:
    for i in range(3):
        signed(client, letter, mailbox, email=f"t{i}@google.com", company="Google")
    signer.sign("jane@google.com")
    signer.sign("joe@amazon.com")
    signed(client, letter, mailbox, email="t9@amazon.com", company="Amazon")
    buffer = io.BytesIO()
    write_export(letter, buffer)
    return gzip.decompress(buffer.getvalue()).splitlines(keepends=True)


def audit_lines(tmp_path, lines: list[bytes] | bytes, *extra):
    path = tmp_path / "tampered.jsonl.gz"
    path.write_bytes(lines if isinstance(lines, bytes) else gzip.compress(b"".join(lines)))
    result = CliRunner().invoke(main, ["audit", "--file", str(path), *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def positions(lines, predicate) -> list[int]:
    """0-based positions of the lines whose parsed object satisfies ``predicate``."""
    return [i for i, line in enumerate(lines) if predicate(parse_json(line))]


def leaf_of(lines, position) -> int:
    return sum(1 for line in lines[:position] if parse_json(line)["kind"] in ("key", "signature", "withdrawal", "invalidation"))


def test_a_real_export_passes(tmp_path, export_lines):
    result = audit_lines(tmp_path, export_lines)
    assert result.exit_code == 0, result.output
    assert "2 verified signatures valid" in result.output and "All checks passed" in result.output


def test_a_changed_entry_fails_at_its_tree_head(tmp_path, export_lines):
    lines = list(export_lines)
    at = positions(lines, lambda o: o.get("type") == "self_reported")[0]
    obj = parse_json(lines[at])
    obj["company"] = "amazon" if obj["company"] != "amazon" else "alphabet"
    lines[at] = canonical_json(obj) + b"\n"
    result = audit_lines(tmp_path, lines)
    assert result.exit_code == 1 and "[root]" in result.output and f"line {at + 2}" in result.output


def test_a_removed_entry_fails(tmp_path, export_lines):
    lines = list(export_lines)
    at = positions(lines, lambda o: o.get("type") == "self_reported")[1]
    del lines[at]
    result = audit_lines(tmp_path, lines)
    assert result.exit_code == 1 and ("[root]" in result.output or "[format]" in result.output)


def test_a_reordered_entry_fails(tmp_path, export_lines):
    lines = list(export_lines)
    a, b = positions(lines, lambda o: o.get("kind") == "signature")[:2]
    lines[a], lines[b] = lines[b], lines[a]
    result = audit_lines(tmp_path, lines)
    assert result.exit_code == 1 and "[root]" in result.output


def test_a_forged_token_signature_is_named(tmp_path, export_lines):
    lines = list(export_lines)
    at = positions(lines, lambda o: o.get("type") == "verified")[0]
    obj = parse_json(lines[at])
    obj["signature"] = ("A" if obj["signature"][0] != "A" else "B") + obj["signature"][1:]
    lines[at] = canonical_json(obj) + b"\n"
    result = audit_lines(tmp_path, lines)
    assert result.exit_code == 1
    assert f"[token] line {at + 1}, leaf {leaf_of(lines, at)}: the token signature does not verify" in result.output


def test_a_duplicated_token_is_named(tmp_path, export_lines):
    lines = list(export_lines)
    at = positions(lines, lambda o: o.get("type") == "verified")[0]
    end = len(lines) - 1
    lines.insert(end, lines[at])
    result = audit_lines(tmp_path, lines)
    assert result.exit_code == 1
    assert f"leaf {leaf_of(lines, end)}: token used twice" in result.output


def test_a_key_of_their_own_for_one_signer_is_caught(tmp_path, client, letter, mailbox, signer):
    # A malicious operator gives one signer a key nobody else gets, to tell that signer's token apart.
    # The key must be in the log for the token to count, and the log then holds two keys for Google.
    from django.utils import timezone

    from undersigned.verification.models import TokenKey

    signer.sign("first@google.com")
    TokenKey.objects.filter(letter=letter).update(destroyed_on=timezone.localdate())  # room for a second one
    signer.sign("targeted@google.com")
    assert TokenKey.objects.filter(letter=letter, company__slug="google").count() == 2
    buffer = io.BytesIO()
    write_export(letter, buffer)
    result = audit_lines(tmp_path, gzip.decompress(buffer.getvalue()).splitlines(keepends=True))
    assert result.exit_code == 1
    assert "a second token key for google (the first is on line" in result.output, result.output


@pytest.mark.parametrize(
    "old, new",
    [
        (b'"kind":"signature",', b'"kind":"signature","kind":"signature",'),  # a member twice
        (b'"type":"verified"', b'"type":"verif\\u0069ed"'),  # an escape RFC 8785 would not write
        (b'{"batch":', b'{ "batch":'),
    ],
)
def test_a_signature_not_in_canonical_form_is_named(tmp_path, export_lines, old, new):
    lines = list(export_lines)
    at = positions(lines, lambda o: o.get("type") == "verified")[0]
    lines[at] = lines[at].replace(old, new)
    result = audit_lines(tmp_path, lines)
    assert result.exit_code == 1
    assert f"[format] line {at + 1}, leaf {leaf_of(lines, at)}: the entry is not in canonical JSON form" in result.output


def test_a_tree_head_from_another_log_is_refused(tmp_path, export_lines, letter, client, mailbox):
    other = Letter.objects.create(slug="another-letter", language="en", status=Letter.Status.OPEN, title="Another",
                                  summary="", body="Body", demands="", addressees="")
    signed(client, other, mailbox, email="o@google.com", company="Google")
    buffer = io.BytesIO()
    write_export(other, buffer)
    foreign = [line for line in gzip.decompress(buffer.getvalue()).splitlines(keepends=True) if b'"kind":"tree_head"' in line][-1]
    lines = list(export_lines)
    at = positions(lines, lambda o: o.get("kind") == "tree_head" and o["tree_head"]["tree_size"] == 1)[0]
    lines[at] = foreign
    result = audit_lines(tmp_path, lines)
    assert result.exit_code == 1 and f"[tree_head] line {at + 1}" in result.output and "another-letter" in result.output


def test_a_truncated_file_fails(tmp_path, export_lines):
    whole = gzip.compress(b"".join(export_lines))
    result = audit_lines(tmp_path, whole[: len(whole) // 2])
    assert result.exit_code == 1 and "truncated" in result.output
    cut = audit_lines(tmp_path, export_lines[:-1])  # a clean cut at a line boundary: no end line
    assert cut.exit_code == 1 and "truncated" in cut.output


@pytest.mark.parametrize("garbage", [b"", b"hello", b"\x1f\x8b\x08garbage", gzip.compress(b"not json\n"),
                                     gzip.compress(b'{"kind":"header"}\n'), os.urandom(4096)])
def test_garbage_fails_cleanly(tmp_path, garbage):
    result = audit_lines(tmp_path, garbage)
    assert result.exit_code == 1 and "FAILED" in result.output


def test_bad_arguments_fail_cleanly(tmp_path):
    (tmp_path / "receipt.json").write_text("not a receipt")
    (tmp_path / "head.json").write_text('{"tree_head": 5}')
    for args in (["audit"], ["audit", "--receipt", str(tmp_path / "receipt.json")], ["audit", "ftp://x/letters/y/"],
                 ["audit", "--file", str(tmp_path / "missing.gz")],
                 ["audit", "--file", str(tmp_path / "missing.gz"), "--since", str(tmp_path / "head.json")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)


def _site_sql(site, statements: list[str]) -> list:
    """Run SQL on the running site's database (as an operator with database access could)."""
    results = []
    if site.database_url:
        import psycopg

        with psycopg.connect(site.database_url, autocommit=True) as connection:
            for sql in statements:
                cursor = connection.execute(sql)
                results.append(cursor.fetchall() if cursor.description else None)
    else:
        import sqlite3

        connection = sqlite3.connect(site.data_dir / "undersigned.sqlite3", timeout=20, isolation_level=None)
        try:
            for sql in statements:
                results.append(connection.execute(sql).fetchall())
        finally:
            connection.close()
    return results


def test_it_catches_an_operator_inflating_the_count(site, smtp_sink, tmp_path):
    """A signature added to the database behind the log's back shows on the page but not in the log."""
    url = f"{site.url}/letters/{DEMO_SLUG}/"
    sign_self_reported(site, smtp_sink, "auditor.five@google.com", "Google")
    columns = "letter_id, kind, status, company_id, company_as_written, name, role, comment, show_name, review, held_for_review"
    (_, (row,)) = _site_sql(site, [
        f"INSERT INTO signatures_signature ({columns}) SELECT {columns} FROM signatures_signature "
        f"WHERE kind = 'self_reported' AND status = 'confirmed' AND letter_id = "
        f"(SELECT id FROM letters_letter WHERE slug = '{DEMO_SLUG}') ORDER BY id LIMIT 1",
        "SELECT id, letter_id FROM signatures_signature ORDER BY id DESC LIMIT 1",
    ])
    fake, letter_id = row
    try:
        _site_sql(site, [f"INSERT INTO ledger_publishedsignature (signature_id, letter_id, leaf_index, removed) "
                         f"VALUES ({fake}, {letter_id}, 0, {'false' if site.database_url else 0})"])
        result = run(["audit", url], tmp_path)
        assert result.returncode == 1, result.stdout
        assert "[counts] self-reported: the log counts" in result.stdout and "Traceback" not in result.stdout + result.stderr
    finally:
        _site_sql(site, [f"DELETE FROM ledger_publishedsignature WHERE signature_id = {fake}",
                         f"DELETE FROM signatures_signature WHERE id = {fake}"])
    assert run(["audit", url], tmp_path).returncode == 0
