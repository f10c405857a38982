"""After a letter closes, nothing of its destroyed secrets is left in the database's files.

Deleting rows is not enough: SQLite keeps the pages written before the deletion in its write-ahead log
(``-wal``) until they are overwritten, and a running server never removes that file; PostgreSQL keeps
deleted tuples in the tables' pages until they are rewritten. The closing erases both (actions.
erase_remnants), and the worker finishes what a busy database did not let it do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
POSTGRES = os.getenv("DATABASE_URL", "").startswith("postgres")


def run_flow(tmp_path) -> tuple[dict, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATA_DIR"}
    run = subprocess.run([sys.executable, "-m", "tests.support.remnants", str(tmp_path)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1]), run.stderr


@pytest.mark.skipif(POSTGRES, reason="engine-specific: runs in the SQLite run of the suite")
def test_it_leaves_no_secret_in_the_sqlite_files_after_closing(tmp_path):
    result, stderr = run_flow(tmp_path)
    # Before the closing, the secrets, digests, sealed key and sealed recipients are in both files.
    assert result["before_closing"]["undersigned.sqlite3"] > 0
    assert result["before_closing"]["undersigned.sqlite3-wal"] > 0
    # After it, in neither: not in the log (truncated), not in the database file (secure_delete).
    assert result["erased_at_closing"]
    assert result["first"] == {name: 0 for name in result["first"]}, result
    # With another connection reading an older snapshot, the closing cannot truncate the log; it says
    # so (without personal data) and the worker's scheduled jobs finish the erasure.
    assert not result["erased_while_busy"]
    assert result["erased_by_worker"]
    assert result["second"] == {name: 0 for name in result["second"]}, result
    assert "the worker will try again" in stderr


@pytest.mark.skipif(not POSTGRES, reason="engine-specific: runs in the PostgreSQL run of the suite")
def test_it_rewrites_the_postgresql_tables_that_held_secrets(tmp_path):
    """VACUUM FULL gives each table a new file: the pages that held the deleted rows are not the table's
    any more. (The server's WAL, its archives and backups still hold them: protocol.md says what to do.)"""
    result, stderr = run_flow(tmp_path)
    assert result["erased_at_closing"]
    assert all(result["first"][table] != result["before_closing"][table] for table in result["first"]), result
    assert not result["erased_while_busy"]  # another transaction held a lock VACUUM FULL waits for
    assert result["erased_by_worker"]
    assert all(result["second"][table] != result["before_second"][table] for table in result["second"]), result
    assert "the worker will try again" in stderr
