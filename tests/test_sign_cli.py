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

from tests.support.mail import SmtpSink


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
