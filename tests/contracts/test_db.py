"""Rows leaving DuckDB for the database: in order, a batch at a time (``fetched``, SQLite); DuckDB's work
beside a load (``in_background``)."""

import threading

import duckdb
import pytest

from undersigned.contracts import db


def test_it_fetches_every_row_in_order_a_batch_at_a_time():
    duck = duckdb.connect()
    batches = list(db.fetched(duck, "SELECT i FROM range(10) t(i) ORDER BY i", size=3))
    assert [len(batch) for batch in batches] == [3, 3, 3, 1]
    assert [row[0] for batch in batches for row in batch] == list(range(10))
    assert list(db.fetched(duck, "SELECT 1 WHERE false")) == []


def test_it_leaves_no_thread_behind_when_the_caller_stops_early():
    duck = duckdb.connect()
    before = threading.active_count()
    rows = db.fetched(duck, "SELECT i FROM range(100) t(i) ORDER BY i", size=10)
    assert next(rows)[0] == (0,)
    rows.close()
    assert threading.active_count() == before
    assert duck.execute("SELECT 42").fetchone() == (42,)


def test_a_failure_beside_duckdbs_work_is_the_error_reported_and_stops_that_work():
    # DuckDB refuses to close a cursor busy in another thread; that refusal must not replace the error
    # (or the Ctrl-C) that stopped the load, and the work must not run on to its end first.
    import time

    duck = duckdb.connect()
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="the load's own error"):
        with db.in_background(duck, lambda cursor: cursor.execute(
                "SELECT sum(i * i) FROM range(100000000000) t(i)").fetchone()) as work:
            time.sleep(0.2)
            raise RuntimeError("the load's own error")
    assert work.done() and time.monotonic() - began < 30
    assert duck.execute("SELECT 42").fetchone() == (42,)
