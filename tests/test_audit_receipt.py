"""`undersigned audit --receipt FILE`: a receipt made before its batch was published gets its proof."""

from __future__ import annotations

import json

from tests.test_audit_cli import run, sign_verified
from undersigned.verification.protocol import RECEIPT_TEXT_PREFIX, read_receipt, receipt_text


def test_a_receipt_without_its_proof_gets_it_saved_and_then_proves_inclusion_by_itself(site, smtp_sink, tmp_path):
    path = sign_verified(site, smtp_sink, "receipt.holder@google.com", tmp_path)
    receipt = json.loads(path.read_text())
    assert receipt["log"], "the site publishes at once in tests: the receipt came with its proof"
    # A receipt as the site gives it while the signature waits for its batch (the default: minutes).
    waiting = {**receipt, "log": None}
    for name, text in (("waiting.json", json.dumps(waiting)), ("waiting.txt", receipt_text(waiting))):
        (tmp_path / name).write_text(text)
        first = run(["audit", "--receipt", name], tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "now saved in" in first.stdout
        saved_text = (tmp_path / name).read_text()
        assert saved_text.startswith(RECEIPT_TEXT_PREFIX) == name.endswith(".txt")  # the form it had
        completed = read_receipt(saved_text)
        assert completed["log"]["leaf_index"] == receipt["log"]["leaf_index"]
        assert {k: v for k, v in completed.items() if k != "log"} == {k: v for k, v in receipt.items() if k != "log"}
        assert (tmp_path / name).stat().st_mode & 0o077 == 0  # the withdrawal secret stays private

        again = run(["audit", "--receipt", name], tmp_path)
        assert again.returncode == 0 and "the receipt's own inclusion proof verifies" in again.stdout, again.stdout


def test_a_receipt_whose_signature_is_not_in_the_log_says_why(site, smtp_sink, tmp_path):
    path = sign_verified(site, smtp_sink, "not.yet.logged@google.com", tmp_path)
    receipt = json.loads(path.read_text())
    # A token the log does not hold (as while its batch is still to come): the site's own words are shown.
    unknown = {**receipt, "message": receipt["message"][:-4] + ("AAAA" if not receipt["message"].endswith("AAAA") else "BBBB")}
    (tmp_path / "unknown.json").write_text(json.dumps(unknown))
    result = run(["audit", "--receipt", "unknown.json"], tmp_path)
    assert result.returncode == 1 and "HTTP 404: This entry is not in the log (yet" in result.stdout, result.stdout
