"""Fast writes of many rows into the Django database, on SQLite and PostgreSQL alike.

SQLite: ``executemany`` of ``INSERT … ON CONFLICT DO UPDATE`` on the raw connection (no ORM objects).
PostgreSQL: ``COPY`` into a temporary table through psycopg 3, then one ``INSERT … SELECT … ON CONFLICT``;
rows that come from DuckDB reach ``COPY`` as a CSV file DuckDB writes (no Python per row).
Both run inside the caller's transaction, so a failed load leaves nothing behind.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import date, datetime, timezone
from itertools import islice
from pathlib import Path

from django.db import IntegrityError, connection, transaction

BATCH = 20_000


def prepare_bulk_work() -> None:
    """For the rest of the current transaction on PostgreSQL: no JIT compilation (it cost more than a second
    on each big statement of a load, for nothing) and room to sort and hash in memory."""
    if connection.vendor == "postgresql":
        execute("SET LOCAL jit = off")
        execute("SET LOCAL work_mem = '256MB'")


def analyze(columns: dict[str, list[str]]) -> None:
    """PostgreSQL: fresh planner statistics for these columns of these tables (those queries filter and join
    on), at once rather than when autovacuum comes by: until then, a page read all transactions to find a
    company's few hundred."""
    if connection.vendor == "postgresql":
        for table, names in columns.items():
            execute(f"ANALYZE {table} ({', '.join(names)})")


def differs(column: str, expression: str) -> str:
    """SQL: true when ``column`` and ``expression`` differ, NULLs compared as values."""
    return f"{column} {'IS DISTINCT FROM' if connection.vendor == 'postgresql' else 'IS NOT'} {expression}"


def batches(rows: Iterable[Sequence], size: int = BATCH) -> Iterator[list[Sequence]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def upsert(table: str, columns: list[str], key: list[str], rows: Iterable[Sequence], *,
           update: dict[str, str] | None = None, on_batch=None) -> int:
    """Insert ``rows`` into ``table``; on a key conflict, set each column of ``update`` to its SQL
    expression (``excluded.col`` is the incoming value; ``{t}.col`` the stored one). Returns the count."""
    return upsert_batches(table, columns, key, batches(rows), update=update, on_batch=on_batch)


def insert(table: str, columns: list[str], rows: Iterable[Sequence]) -> int:
    """Insert rows none of which can be stored already (the caller deleted or just created what they
    replace): COPY straight into the table on PostgreSQL, plain INSERTs on SQLite."""
    count = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    connection.ensure_connection()
    for batch in batches(rows):
        connection.connection.executemany(sql, _for_sqlite(batch))
        count += len(batch)
    return count


def upsert_batches(table: str, columns: list[str], key: list[str], chunks: Iterable[Sequence[Sequence]], *,
                   update: dict[str, str] | None = None, on_batch=None, split: bool = False,
                   fresh: set | None = None) -> int:
    """``upsert`` of rows that come in lists already (``fetchmany`` from DuckDB): no Python per row on
    SQLite when the values are text, numbers and NULLs. ``fresh``, with ``split``: gets the keys of the
    rows that went in new (their key was stored nowhere)."""
    conflict = _on_conflict(table, columns, key, update)
    count = 0
    if connection.vendor == "postgresql":
        def fill(raw, stage):
            nonlocal count
            for batch in chunks:
                with raw.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
                count += len(batch)
                if on_batch:
                    on_batch(len(batch))

        # One row per key, or ON CONFLICT refuses to touch a row twice in one statement.
        _merge(table, columns, f"DISTINCT ON ({', '.join(key)}) {', '.join(columns)}", conflict, fill)
        return count
    connection.ensure_connection()
    raw = connection.connection
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    sql = f"{insert} {conflict}"
    # ``split``: SQLite runs some INSERT … DO UPDATE statements (awards: one that may set a foreign key
    # column from a CASE) several times slower than a plain INSERT, even for rows that conflict with
    # nothing. Then rows whose key is new (most rows of a load) go in by plain INSERT: the whole batch at
    # once when no key of it is stored or repeated (a new year's file), else those found new; rows whose
    # key exists, or repeats within the batch, by the upsert.
    split = split and "DO UPDATE" in conflict and len(key) == 1
    at = columns.index(key[0])
    for batch in chunks:
        if not batch:
            continue
        batch = _for_sqlite(batch)
        if split:
            if _inserted(raw, insert, batch):
                new, old = batch, []
            else:
                new, old = _new_and_old(raw, table, key[0], at, batch)
                if new:
                    raw.executemany(insert, new)
            if fresh is not None:
                fresh.update(row[at] for row in new)
            if old:
                raw.executemany(sql, old)
        else:
            raw.executemany(sql, batch)
        count += len(batch)
        if on_batch:
            on_batch(len(batch))
    return count


def _on_conflict(table: str, columns: list[str], key: list[str], update: dict[str, str] | None) -> str:
    update = update if update is not None else {c: f"excluded.{c}" for c in columns if c not in key}
    sets = ", ".join(f"{column} = {expression.format(t=table)}" for column, expression in update.items())
    return f"ON CONFLICT ({', '.join(key)}) " + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING")


def _merge(table: str, columns: list[str], select: str, conflict: str, fill) -> None:
    """PostgreSQL: ``fill(cursor, stage)`` copies rows into a temporary table shaped like ``table``; then one
    ``INSERT INTO table SELECT {select} FROM stage {conflict}``."""
    stage = f"stage_{table}"
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA")
        raw.execute(f"TRUNCATE {stage}")
        fill(raw, stage)
        raw.execute(f"ANALYZE {stage}")  # a temp table has no statistics: the planner would guess
        raw.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {stage} {conflict}")
        raw.execute(f"DROP TABLE {stage}")


def upsert_query(duck, sql: str, table: str, columns: list[str], key: list[str], *,
                 update: dict[str, str] | None = None, split: bool = False, on_batch=None,
                 fresh: set | None = None) -> int:
    """``upsert`` of the rows of a DuckDB query (in ``columns`` order, at most one row per key).

    PostgreSQL: DuckDB writes them to a CSV file (NULL unquoted and empty, an empty text quoted: as COPY's
    CSV format reads them) and COPY sends the file. SQLite: ``fetchmany`` batches to ``executemany``.
    ``fresh``: as for ``upsert_batches`` (on PostgreSQL, all keys or none)."""
    if connection.vendor != "postgresql":
        return upsert_batches(table, columns, key, fetched(duck, sql), update=update, on_batch=on_batch,
                              split=split, fresh=fresh)
    conflict = _on_conflict(table, columns, key, update)
    with tempfile.TemporaryDirectory(prefix="undersigned-copy-") as directory:
        path = Path(directory) / f"{table}.csv"
        # The file is read once DuckDB has finished it: read while it grew, it sometimes showed zero bytes
        # not yet written (DuckDB does not write it strictly in order), which PostgreSQL refused.
        (count,) = duck.execute(f"COPY ({sql}) TO '{path}' (FORMAT csv, HEADER false)").fetchone()

        def fill(raw, target):
            with raw.copy(f"COPY {target} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy, path.open("rb") as rows:
                while chunk := rows.read(1 << 20):
                    copy.write(chunk)

        if split and _copied_straight(table, fill):
            if fresh is not None:
                fresh.update(found for (found,) in duck.execute(f"SELECT {key[0]} FROM ({sql})").fetchall())
        else:
            _merge(table, columns, ", ".join(columns), conflict, fill)
    if on_batch:
        on_batch(count)
    return count


@contextmanager
def in_background(duck, work: Callable) -> Iterator[Future]:
    """``work(cursor)`` on a new cursor of ``duck``, in another thread: its Future. If the block fails
    (an error, Ctrl-C) the work is interrupted; either way it is over before the cursor closes (DuckDB
    refuses to close a cursor busy in another thread, and that refusal would hide the block's own error)."""
    with duck.cursor() as cursor, ThreadPoolExecutor(1) as pool:
        future = pool.submit(work, cursor)
        try:
            yield future
        except BaseException:
            cursor.interrupt()
            wait([future])
            raise


def _copied_straight(table: str, fill) -> bool:
    """PostgreSQL, ``split``: when no key is stored yet (a new year's file), COPY straight into the table is
    the fastest way in. The first key already stored undoes that (a savepoint) and returns False."""
    try:
        with transaction.atomic(), connection.wrap_database_errors, connection.cursor() as cursor:
            fill(cursor.cursor, table)
        return True
    except IntegrityError:
        return False


def fetched(duck, sql: str, size: int = BATCH) -> Iterator[list[tuple]]:
    """The rows of a DuckDB query in lists of ``size`` (never the whole result in Python at once).

    On the caller's thread: DuckDB holds Python's lock while it makes a list's values, so a thread making
    the next list while SQLite stores this one held SQLite up between rows (the bench's 200,000
    transactions and 50,000 awards go in 0.9 s sooner without it, in 3.7 s rather than 4.6)."""
    cursor = duck.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


_PLAIN = (str, int, bool, type(None))


def _for_sqlite(batch: Sequence[Sequence]) -> Sequence[Sequence]:
    """The rows with their values as SQLite takes them (no Python per value when the first row is plain)."""
    if all(type(value) in _PLAIN for value in batch[0]):
        return batch
    return [tuple(_sqlite(value) for value in row) for row in batch]


def _inserted(raw, insert: str, batch: Sequence[Sequence]) -> bool:
    """SQLite: the batch by plain INSERT; at the first key already stored or repeated, a savepoint undoes
    that and it returns False."""
    raw.execute("SAVEPOINT contracts_plain_insert")
    try:
        raw.executemany(insert, batch)
        return True
    except sqlite3.IntegrityError:
        raw.execute("ROLLBACK TO contracts_plain_insert")
        return False
    finally:
        raw.execute("RELEASE contracts_plain_insert")


def _new_and_old(raw, table: str, key: str, at: int, batch: Sequence[Sequence]) -> tuple[list, list]:
    """Split a batch (SQLite) into rows whose key is not stored and not repeated in the batch, and the rest
    (in their order: a key repeated in a file keeps its last row, as the upsert does)."""
    keys = [row[at] for row in batch]
    stored = {found for (found,) in raw.execute(
        f"SELECT {key} FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))", (json.dumps(keys),))}
    if not stored and len(set(keys)) == len(keys):
        return batch, []
    counts = Counter(keys)
    new, old = [], []
    for row, value in zip(batch, keys):
        (old if value in stored or counts[value] > 1 else new).append(row)
    return new, old


def _sqlite(value):
    # As Django stores them on SQLite: dates as ISO text, datetimes as naive UTC "YYYY-MM-DD HH:MM:SS.ffffff".
    kind = type(value)
    if kind is str or kind is int or value is None:
        return value
    if kind is date:
        return value.isoformat()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if value.__class__.__name__ == "Decimal":
        return str(value)
    return value


def timestamp(value: datetime) -> str:
    """A timestamp as text the database stores as Django would (SQLite: naive UTC; PostgreSQL: ISO with offset)."""
    if connection.vendor == "postgresql":
        return value.isoformat()
    return _sqlite(value)


def execute(sql: str, params: Sequence = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def temp_keys(name: str, keys: Iterable[str], flagged: set[str] = frozenset()) -> None:
    """A temporary table of keys (the awards a load touched), for set-based updates; ``flag`` is true for
    the keys in ``flagged``."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMP TABLE {name} (key VARCHAR(240) PRIMARY KEY, flag BOOLEAN NOT NULL)")
    insert(name, ["key", "flag"], ((key, key in flagged) for key in sorted(keys)))
    if connection.vendor == "postgresql":
        execute(f"ANALYZE {name}")
