"""A scratch PostgreSQL database for a benchmark run, made and dropped on the server the user names."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit


def scratch_database(url: str) -> str:
    """A new, empty database on the server of ``url``; returns its URL."""
    import psycopg

    name = f"undersigned_bench_{secrets.token_hex(5)}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(url: str, scratch: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {scratch.rsplit('/', 1)[1]} WITH (FORCE)")
