"""Where a benchmark keeps its data: a temporary directory and, on the PostgreSQL server the user names,
a scratch database made and dropped for the run."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def prepare_site_settings(postgres: str | None, prefix: str) -> tuple[Path, str | None]:
    """A temporary data directory and, with ``postgres``, a scratch database, set in the environment for
    Django (test settings); returns (the directory, the scratch database's URL or None)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["DATA_DIR"] = str(work)
    scratch = None
    if postgres:
        scratch = scratch_database(postgres)
        os.environ["DATABASE_URL"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "undersigned.settings_test")
    return work, scratch


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
