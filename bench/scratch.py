"""Where a benchmark keeps its data: a temporary directory and, on the PostgreSQL server the user names,
a scratch database made and dropped for the run."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests/support helpers

from tests.support.site import _fresh_postgres_database, drop_postgres_database  # noqa: E402


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
    return _fresh_postgres_database(url)[0]


def drop_database(url: str, scratch: str) -> None:
    drop_postgres_database(url, scratch.rsplit("/", 1)[1])
