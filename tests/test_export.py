"""`undersigned export SLUG`: the same file as the public URL, which `audit --file` checks."""

from __future__ import annotations

import gzip

from click.testing import CliRunner

from tests.support.cast import companies, letter, mailbox, signed  # noqa: F401 (fixtures)
from undersigned.cli import main
from undersigned.lib.canonical import parse_json


def test_it_writes_the_export_and_it_audits(client, letter, mailbox, tmp_path):
    for i in range(3):
        signed(client, letter, mailbox, email=f"e{i}@google.com", company="Google")
    path = tmp_path / "out.jsonl.gz"
    result = CliRunner().invoke(main, ["export", letter.slug, "-o", str(path)])
    assert result.exit_code == 0, result.output
    lines = [parse_json(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    assert [o["kind"] for o in lines] == ["header"] + ["signature", "tree_head"] * 3 + ["end"]
    assert lines[0]["letter"] == letter.slug and lines[-1] == {"entries": 3, "kind": "end", "tree_heads": 3}
    web = b"".join(client.get(f"/api/v1/letters/{letter.slug}/log/export.jsonl.gz").streaming_content)
    assert gzip.decompress(web).splitlines()[1:] == gzip.decompress(path.read_bytes()).splitlines()[1:]
    audited = CliRunner().invoke(main, ["audit", "--file", str(path)])
    assert audited.exit_code == 0 and "All checks passed" in audited.output


def test_a_new_letter_has_an_empty_signed_log(letter, tmp_path):
    path = tmp_path / "empty.jsonl.gz"
    assert CliRunner().invoke(main, ["export", letter.slug, "-o", str(path)]).exit_code == 0
    kinds = [parse_json(line)["kind"] for line in gzip.decompress(path.read_bytes()).splitlines()]
    assert kinds == ["header", "tree_head", "end"]
    assert CliRunner().invoke(main, ["audit", "--file", str(path)]).exit_code == 0


def test_it_refuses_an_unknown_letter(db):
    result = CliRunner().invoke(main, ["export", "nope"])
    assert result.exit_code == 1 and "no letter" in result.output


def test_a_log_keeps_its_name_when_the_site_moves(client, letter, mailbox, tmp_path, settings):
    # The tree heads were signed for the log's name at the time; an export made by a process with
    # another SITE_URL (a new domain, or `undersigned export` run without it) must still verify.
    signed(client, letter, mailbox, email="e1@google.com", company="Google")
    first_name = client.get(f"/api/v1/letters/{letter.slug}/log").json()["log_id"]
    settings.SITE_URL = "https://moved.example"
    signed(client, letter, mailbox, email="e2@google.com", company="Google")
    assert client.get(f"/api/v1/letters/{letter.slug}/log").json()["log_id"] == first_name
    path = tmp_path / "moved.jsonl.gz"
    assert CliRunner().invoke(main, ["export", letter.slug, "-o", str(path)]).exit_code == 0
    header = parse_json(gzip.decompress(path.read_bytes()).splitlines()[0])
    assert header["log_id"] == first_name != f"https://moved.example/letters/{letter.slug}"
    audited = CliRunner().invoke(main, ["audit", "--file", str(path)])
    assert audited.exit_code == 0 and "All checks passed" in audited.output, audited.output


def test_after_rotating_the_log_key_old_and_new_tree_heads_audit(client, letter, mailbox, tmp_path):
    assert CliRunner().invoke(main, ["rotate-log-key", "--yes"]).exit_code == 1  # no key yet: nothing to rotate
    signed(client, letter, mailbox, email="e1@google.com", company="Google")
    old_key = client.get("/api/v1/log/key").json()["key_id"]
    result = CliRunner().invoke(main, ["rotate-log-key"], input="y\n")
    assert result.exit_code == 0 and f"The log key {old_key} is retired" in result.output, result.output
    new_key = client.get("/api/v1/log/key").json()["key_id"]
    assert new_key != old_key
    signed(client, letter, mailbox, email="e2@google.com", company="Google")
    path = tmp_path / "rotated.jsonl.gz"
    assert CliRunner().invoke(main, ["export", letter.slug, "-o", str(path)]).exit_code == 0
    heads = [o for o in map(parse_json, gzip.decompress(path.read_bytes()).splitlines()) if o["kind"] == "tree_head"]
    assert {head["key_id"] for head in heads} == {old_key, new_key}
    audited = CliRunner().invoke(main, ["audit", "--file", str(path)])
    assert audited.exit_code == 0 and "All checks passed" in audited.output, audited.output
