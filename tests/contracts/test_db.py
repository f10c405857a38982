"""Rows leaving DuckDB for the database (``contracts.db.fetched``): in order, a batch at a time."""

import threading

import duckdb

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
