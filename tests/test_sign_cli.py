"""`undersigned sign URL` and `undersigned withdraw RECEIPT` against a running site (`undersigned
serve` in a child process) with a real SMTP server receiving the code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from undersigned.lib import blindrsa
from undersigned.letters.demo import DEMO_SLUG
from undersigned.verification.cli import _split_letter_url
from undersigned.verification.client import check_receipt

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.mail import SmtpSink
from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)


def run_cli(args, tmp_path, **kwargs):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "client-data")}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "undersigned", *args], env=env, cwd=tmp_path, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


def counts(site):
    return httpx.get(f"{site.url}/api/v1/letters/{DEMO_SLUG}").json()["counts"]


def code_from(message) -> str:
    import re

    return re.search(r"\b(\d{8})\b", SmtpSink.text(message)).group(1)


def test_it_signs_and_withdraws_from_a_terminal(site, smtp_sink, tmp_path):
    before = counts(site)
    email = "terminal.signer@google.com"
    seen = len(smtp_sink.messages)
    process = run_cli(["sign", f"{site.url}/letters/{DEMO_SLUG}/", "--role", "Engineer"], tmp_path)
    process.stdin.write(email + "\n")
    process.stdin.flush()
    message = smtp_sink.wait_for(email, after=seen)
    assert "http" not in SmtpSink.text(message) and DEMO_SLUG not in SmtpSink.text(message)
    process.stdin.write(code_from(message) + "\n")
    process.stdin.flush()
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert "Signed as a verified employee of google" in out
    receipt_path = tmp_path / f"undersigned-receipt-{DEMO_SLUG}.json"
    assert oct(receipt_path.stat().st_mode & 0o777) == "0o600"
    receipt = json.loads(receipt_path.read_text())
    keys = httpx.get(f"{site.url}/api/v1/letters/{DEMO_SLUG}/keys").json()["keys"]
    key = next(k for k in keys if k["key_id"] == receipt["key_id"])
    assert check_receipt(receipt, key["public_key"])
    after = counts(site)
    assert after["verified"] == before["verified"] + 1
    # No email address in the site's log.
    assert email not in site.log() and "terminal.signer" not in site.log()

    # The key's proof in the receipt: checked again by the audit, against the log everyone sees now.
    assert receipt["key_log"]["entry"]["key_id"] == receipt["key_id"]
    checked = run_cli(["audit", "--receipt", str(receipt_path)], tmp_path)
    out, _ = checked.communicate(timeout=60)
    assert checked.returncode == 0 and "the token's key was in the log the signer was shown" in out, out
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**receipt, "key_log": {**receipt["key_log"], "leaf_index": receipt["key_log"]["leaf_index"] + 1}}))
    checked = run_cli(["audit", "--receipt", str(forged)], tmp_path)
    out, _ = checked.communicate(timeout=60)
    assert checked.returncode == 1 and "is not in the log shown now" in out and "Traceback" not in out, out
    # A valid proof of another entry (the signature's own) in place of the key's.
    forged.write_text(json.dumps({**receipt, "key_log": receipt["log"]}))
    checked = run_cli(["audit", "--receipt", str(forged)], tmp_path)
    out, _ = checked.communicate(timeout=60)
    assert checked.returncode == 1 and "the entry is not a key entry" in out, out

    done = run_cli(["withdraw", str(receipt_path)], tmp_path)
    out, _ = done.communicate(timeout=60)
    assert done.returncode == 0, out
    assert "withdrawn" in out
    assert counts(site)["verified"] == before["verified"]


def test_it_saves_a_token_for_later_and_submits_it(site, smtp_sink, tmp_path):
    before = counts(site)
    email = "later.signer@fitbit.com"
    seen = len(smtp_sink.messages)
    url = f"{site.url}/es/letters/{DEMO_SLUG}/verify/"
    process = run_cli(["sign", url, "--email", email, "--later", "--receipt", "token.json"], tmp_path)
    message = smtp_sink.wait_for(email, after=seen)
    process.stdin.write(code_from(message) + "\n")
    process.stdin.flush()
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert counts(site) == before
    submit = run_cli(["sign", url, "--submit", "token.json", "--receipt", "signed.json"], tmp_path)
    out, _ = submit.communicate(timeout=60)
    assert submit.returncode == 0, out
    assert counts(site)["verified"] == before["verified"] + 1
    # A second submission of the same token is refused, clearly.
    again = run_cli(["sign", url, "--submit", "token.json", "--receipt", "again.json"], tmp_path)
    out, _ = again.communicate(timeout=60)
    assert again.returncode == 1 and "already been used" in out


def test_it_reports_a_wrong_code(site, smtp_sink, tmp_path):
    process = run_cli(["sign", f"{site.url}/letters/{DEMO_SLUG}/", "--email", "wrong.code@google.com",
                       "--code", "00000000"], tmp_path)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 1 and "The code is wrong or has expired" in out


@pytest.mark.parametrize("url,expected", [
    ("https://x.example/letters/a-b/", ("https://x.example", "a-b")),
    ("https://x.example/es/letters/a-b/verify/", ("https://x.example", "a-b")),
    ("http://abc.onion/sub/letters/slug", ("http://abc.onion/sub", "slug")),
])
def test_it_reads_letter_addresses(url, expected):
    assert _split_letter_url(url) == expected


def test_the_token_message_commits_to_the_withdrawal_secret():
    from undersigned.verification import protocol

    secret = protocol.new_withdrawal_secret()
    parsed = protocol.parse_prepared(b"\0" * 32 + protocol.token_message("x", secret))
    assert parsed.letter_slug == "x" and parsed.commitment == protocol.commitment(secret)
    assert parsed.commitment != protocol.commitment(protocol.new_withdrawal_secret())


def test_it_says_plainly_when_the_site_cannot_be_reached(tmp_path):
    import socket

    with socket.socket() as unused:  # a loopback port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    process = run_cli(["sign", f"http://127.0.0.1:{port}/letters/{DEMO_SLUG}/", "--email", "a@google.com"], tmp_path)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 1 and f"cannot reach http://127.0.0.1:{port}" in out and "Traceback" not in out


def test_it_keeps_the_token_when_the_submission_gets_no_answer(site, smtp_sink, tmp_path, monkeypatch):
    # The token is the signer's only one for this letter: a connection lost while submitting must not lose it.
    import click
    from click.testing import CliRunner

    from undersigned.cli import main

    email, seen = "lost.connection@google.com", len(smtp_sink.messages)
    monkeypatch.setattr(click, "prompt", lambda text, **kw: code_from(smtp_sink.wait_for(email, after=seen)))
    # The network fails just as the signature is submitted (the client's own httpx call, not a stand-in).
    real_post = httpx.Client.post

    def post_failing_at_submission(self, url, *args, **kwargs):
        if str(url).endswith("/signatures"):
            raise httpx.ConnectError("connection reset")
        return real_post(self, url, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "post", post_failing_at_submission)
    monkeypatch.chdir(tmp_path)
    url = f"{site.url}/letters/{DEMO_SLUG}/"
    result = CliRunner().invoke(main, ["sign", url, "--email", email, "--receipt", "token.json"])
    assert result.exit_code == 1 and "The token is saved, not submitted: token.json" in result.output, result.output
    monkeypatch.undo()

    before = counts(site)
    submit = run_cli(["sign", url, "--submit", "token.json", "--receipt", "signed.json"], tmp_path)
    out, _ = submit.communicate(timeout=60)
    assert submit.returncode == 0, out
    assert counts(site)["verified"] == before["verified"] + 1


# --- The token's key must be in the public log before the token is redeemed --------------------------
# A site that gave one signer a key of their own would recognise that signer's token when it is redeemed.
# These run the command in process against the site in process (Django's test client), so that a test can
# play a site that lies about its keys.

def sign_in_process(client, letter, tmp_path, monkeypatch, *args, rewrite=None):
    """Run `undersigned sign` with an invitation code; ``rewrite(path, data)`` may change the site's answers."""
    from click.testing import CliRunner

    from undersigned.verification import cli as sign_cli

    from tests.support.verified import client_for

    def make_client(base, slug):
        api = client_for(client, slug)
        if rewrite:
            real_get = api.get
            api.get = lambda path: (lambda status, data: (status, rewrite(path, data)))(*real_get(path))
        return api

    monkeypatch.setattr(sign_cli, "_client", make_client)
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(sign_cli.sign, [f"http://testserver/letters/{letter.slug}/", *args])


@pytest.fixture
def invitation(letter, companies, fast_keys):
    from undersigned.verification.actions import mint_invitations

    return lambda: mint_invitations(letter, companies["google"])[0]


def verified_count(client, letter) -> int:
    return client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]["verified"]


def test_it_checks_the_key_is_in_the_log_and_keeps_its_proof(client, letter, invitation, tmp_path, monkeypatch):
    from undersigned.lib.logproof import verify_inclusion_answer

    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", invitation(), "--receipt", "r.json")
    assert result.exit_code == 0, result.output
    receipt = json.loads((tmp_path / "r.json").read_text())
    key_log = receipt["key_log"]
    assert key_log["entry"]["kind"] == "key" and key_log["entry"]["key_id"] == receipt["key_id"]
    log_key = client.get("/api/v1/log/key").json()["public_key"]
    assert verify_inclusion_answer(key_log, log_key, letter.slug).tree_head.tree_size > key_log["leaf_index"]
    assert verified_count(client, letter) == 1


def test_it_waits_for_the_next_batch_and_keeps_the_token(client, letter, invitation, tmp_path, monkeypatch, settings):
    from undersigned.ledger.publish import publish_pending

    settings.PUBLICATION_INTERVAL = 3600  # batches: the key made for this invitation is not in the log yet
    code = invitation()
    keys = client.get(f"/api/v1/letters/{letter.slug}/keys").json()["keys"]
    assert [k["log_index"] for k in keys] == [None]
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", code, "--receipt", "r.json",
                             "--wait", "0")
    assert result.exit_code == 1 and "not in the letter's public log yet" in result.output, result.output
    assert "The token is saved, not submitted: r.json" in result.output and isinstance(result.exception, SystemExit)
    assert verified_count(client, letter) == 0
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["signature"] and "status" not in saved  # the unredeemed token

    publish_pending(letter)  # the next batch
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--submit", "r.json", "--receipt", "r.json")
    assert result.exit_code == 0, result.output
    publish_pending(letter)  # counts follow the log
    assert verified_count(client, letter) == 1
    assert json.loads((tmp_path / "r.json").read_text())["key_log"]["entry"]["key_id"] == saved["key_id"]


def lie_about_keys(change):
    """A site's answers with the keys list changed by ``change(keys)`` once the token is made (the first
    keys answer, the one the token is blinded for, stays true)."""
    answered = []

    def rewrite(path, data):
        if path.split("?")[0].endswith("/keys"):
            if answered:
                data = {**data, "keys": change([dict(k) for k in data["keys"]])}
            answered.append(path)
        return data
    return rewrite


@pytest.mark.parametrize("lie, message", [
    # The key's log_index points at another entry (here the log's first, another key or a signature).
    (lambda keys: [{**k, "log_index": k["log_index"] + 1} for k in keys], "the entry is not a key entry"),
    # A second key listed for the same company: one of them could be this signer's alone.
    (lambda keys: keys + [{**keys[0], "key_id": "0" * 64}], "lists 2 keys for google"),
    # The key is not listed at all (as if it were only ever shown to this signer).
    (lambda keys: [], "does not list this token's key"),
])
def test_it_refuses_to_redeem_when_the_site_lies_about_the_key(client, letter, invitation, tmp_path, monkeypatch,
                                                               signer, lie, message):
    signer.sign("someone.else@google.com")  # so that the log has an entry after the key's
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", invitation(), "--receipt", "r.json",
                             rewrite=lie_about_keys(lie))
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Not submitted" in result.output and "could let the site tell who you are" in result.output
    assert verified_count(client, letter) == 1  # only the other signer
    assert json.loads((tmp_path / "r.json").read_text())["signature"]  # the token is kept


def test_it_checks_the_log_against_a_pinned_key(client, letter, invitation, tmp_path, monkeypatch):
    from undersigned.lib import treehead

    other = treehead.public_key_b64(treehead.generate_key())
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", invitation(), "--receipt", "r.json",
                             "--log-key", other)
    assert result.exit_code == 1 and "the tree head is signed by key" in result.output, result.output
    assert "Not submitted" in result.output and verified_count(client, letter) == 0
    pinned = client.get("/api/v1/log/key").json()["public_key"]
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--submit", "r.json", "--log-key", pinned)
    assert result.exit_code == 0, result.output
    assert verified_count(client, letter) == 1


def forged_answer(entry: dict, log_id: str) -> dict:
    """An inclusion answer for a one-entry tree, signed with the instance's real log key: what a site that
    controls its key could serve (with the key's log_index said to be 0)."""
    from undersigned.ledger import keys as instance_keys
    from undersigned.lib import merkle, treehead
    from undersigned.lib.canonical import canonical_json

    head = treehead.TreeHead(log_id, 1, merkle.leaf_hash(canonical_json(entry)), treehead.coarse_timestamp())
    signed = treehead.sign_tree_head(instance_keys.private_key(instance_keys.current_key()), head)
    return {"leaf_index": 0, "entry": entry, "proof": [], "tree_head": signed.to_dict()}


def serve_forged(make_answer):
    """A site that, once the token is made, says the key is leaf 0 and answers ``make_answer(true answer)``."""
    said_index = lie_about_keys(lambda keys: [{**k, "log_index": 0} for k in keys])

    def rewrite(path, data):
        return make_answer(data) if "/log/proof/inclusion" in path else said_index(path, data)
    return rewrite


def other_key_spki() -> str:
    from tests.support.verified import key_pool

    return blindrsa.encode_public_key(key_pool()[-1].public_key())


@pytest.mark.parametrize("rewrite, message", [
    # A real key entry of this token's key, in a tree head of another letter's log (one instance key
    # signs every letter's tree heads).
    (lambda slug: serve_forged(lambda true: forged_answer(true["entry"], "http://testserver/letters/another-letter")),
     "another log"),
    # This letter's log and the token's key id, but another key's SPKI.
    (lambda slug: serve_forged(lambda true: forged_answer({**true["entry"], "spki": other_key_spki()},
                                                          f"http://testserver/letters/{slug}")),
     "is not the SHA-256 of its spki"),
    # The true answer with the first hash of its audit path changed.
    (lambda slug: lambda path, data: {**data, "proof": [blindrsa.b64u_encode(bytes(32))] + data["proof"][1:]}
     if "/log/proof/inclusion" in path else data,
     "leads to a different root"),
])
def test_it_refuses_a_forged_log_proof(client, letter, invitation, tmp_path, monkeypatch, signer, rewrite, message):
    signer.sign("someone.else@google.com")  # two entries: the key's proof has a path
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", invitation(), "--receipt", "r.json",
                             rewrite=rewrite(letter.slug))
    assert result.exit_code == 1 and message in result.output and "Not submitted" in result.output, result.output
    assert verified_count(client, letter) == 1


def test_it_says_when_the_letter_closed_before_the_token_was_used(client, letter, invitation, tmp_path, monkeypatch):
    from undersigned.letters.models import Letter

    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", invitation(), "--receipt", "r.json",
                             "--later")
    assert result.exit_code == 0, result.output
    Letter.objects.get(pk=letter.pk).close()
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--submit", "r.json")
    assert result.exit_code == 1 and "no longer takes signatures" in result.output, result.output
    assert "could let the site tell who you are" not in result.output


def test_it_waits_out_a_busy_site(client, letter, invitation, tmp_path, monkeypatch):
    from undersigned.verification import cli as sign_cli

    monkeypatch.setattr(sign_cli, "POLL_SECONDS", 0.01)
    failures = iter([502, 429])  # a proxy without its server, then a rate limit

    # The busy answers need their status: wrap the test client's get itself.
    from tests.support import verified

    real_client_for = verified.client_for

    def client_for(django_client, slug):
        api = real_client_for(django_client, slug)
        real_get = api.get

        def get(path):
            status, data = real_get(path)
            if "/log/proof/inclusion" in path:
                busy = next(failures, None)
                if busy:
                    return busy, {"error": "busy"}
            return status, data
        api.get = get
        return api

    monkeypatch.setattr(verified, "client_for", client_for)
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", invitation(), "--receipt", "r.json",
                             "--wait", "30")
    assert result.exit_code == 0, result.output
    assert result.output.count("Waiting for the token's key to be checked") == 2
    assert verified_count(client, letter) == 1


def test_it_checks_its_options_before_asking_for_the_token(client, letter, invitation, tmp_path, monkeypatch):
    code = invitation()
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", code, "--log-key", "not-a-key")
    assert result.exit_code == 2 and "--log-key" in result.output, result.output
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", code,
                             "--receipt", str(tmp_path / "no-such-folder" / "r.json"))
    assert result.exit_code == 2 and "cannot write" in result.output, result.output
    # The invitation was not used up: it still gets its one token.
    result = sign_in_process(client, letter, tmp_path, monkeypatch, "--invitation", code, "--receipt", "r.json")
    assert result.exit_code == 0, result.output
