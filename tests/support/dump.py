"""Everything a running site's database holds, as text, table by table (for the privacy tests).

SQLite: every value of every table, BLOBs included (decoded as UTF-8 and as Latin-1, and in hex).
PostgreSQL: ``pg_dump`` (schema and data) when it is installed, otherwise every table through psycopg.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess


def _texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return [value.decode("utf-8", "replace"), value.decode("latin-1"), value.hex()]
    return [str(value)]


def sqlite_tables(path) -> dict[str, str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        tables = {}
        for name in names:
            parts = []
            for row in connection.execute(f'SELECT * FROM "{name}"'):
                for value in row:
                    parts.extend(_texts(value))
            tables[name] = "\n".join(parts)
        return tables
    finally:
        connection.close()


def postgres_tables(url: str) -> dict[str, str]:
    import psycopg

    tables = {}
    with psycopg.connect(url) as connection:
        names = [row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )]
        for name in names:
            parts = []
            for row in connection.execute(f'SELECT * FROM "{name}"'):
                for value in row:
                    parts.extend(_texts(value))
            tables[name] = "\n".join(parts)
    return tables


def pg_dump(url: str) -> str | None:
    """The whole database as ``pg_dump`` writes it, or None if pg_dump is missing or cannot read it."""
    executable = shutil.which("pg_dump")
    if not executable:
        return None
    result = subprocess.run([executable, "--no-owner", "--no-privileges", url], capture_output=True, timeout=120)
    if result.returncode != 0:
        return None
    return result.stdout.decode("utf-8", "replace")


def database_tables(site) -> dict[str, str]:
    """The text of every table of the site's database; with PostgreSQL also ``"(pg_dump)"``: the whole dump."""
    if site.database_url:
        tables = postgres_tables(site.database_url)
        dump = pg_dump(site.database_url)
        if dump is not None:
            tables["(pg_dump)"] = dump
        return tables
    return sqlite_tables(site.data_dir / "undersigned.sqlite3")
