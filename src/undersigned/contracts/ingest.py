"""Load USAspending bulk files into the contract record.

Each PATH (a CSV, or a ZIP of CSVs split at 1,000,000 rows) is one unit: it is loaded completely or not
at all. DuckDB reads and filters the file, parses dates and amounts and groups transactions by award, the
awards' figures (totals, dates, status) derived with them; the database receives clean rows (see
``db.py``); then the figures of the awards that were stored already are recomputed, the recipients
linked to the registry and the categories assigned.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from django.db import transaction
from django.utils import timezone

from undersigned.contracts import db, sources
from undersigned.contracts.models import Award, AwardCategory, EntityName, LoadRun, Recipient, Transaction
from undersigned.contracts.parsing import clean_name

DEFAULT_AGENCIES = ["070"]
# What the pages and the loads filter and join on, by table: kept current for the query planner.
PLANNED_COLUMNS = {
    Award._meta.db_table: ["award_key", "company_id", "recipient_id"],
    Transaction._meta.db_table: ["award_id", "fiscal_year"],
    AwardCategory._meta.db_table: ["award_id", "category"],
    Recipient._meta.db_table: ["key"],
}


class IngestError(Exception):
    """The load stopped (``--strict`` and a malformed row, or an unreadable file); nothing was kept."""


@dataclass
class Problem:
    label: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.label}:{self.line if self.line is not None else '?'}: {self.message}"


@dataclass
class Report:
    label: str
    kind: str
    rows_read: int = 0
    rows_in_scope: int = 0
    rows_loaded: int = 0
    rows_deleted: int = 0
    awards_new: int = 0
    seconds: float = 0.0
    scan_seconds: float = 0.0  # of ``seconds``: DuckDB reading and filtering the file (the rest: normalise, store)
    problems: list[Problem] = field(default_factory=list)
    note: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


@dataclass
class Changes:
    """What the members of one PATH changed, for the refresh at its end."""

    awards: set[str] = field(default_factory=set)
    settled: set[str] = field(default_factory=set)  # put in new with their figures, and touched by nothing since
    recipients: set[str] = field(default_factory=set)

    def touch(self, keys: set[str], fresh: set[str] = frozenset()) -> None:
        self.awards |= keys
        self.settled = (self.settled - keys) | fresh


class Progress:
    """What the loader tells whoever watches (a rich progress bar in the CLI; nothing in tests)."""

    def start(self, label: str, total_bytes: int) -> None: ...
    def scanned(self, fraction: float) -> None: ...
    def loading(self, rows: int) -> None: ...
    def loaded(self, rows: int) -> None: ...
    def done(self, report: Report) -> None: ...


def agencies_from_env() -> list[str]:
    value = os.getenv("CONTRACTS_AGENCIES", "")
    codes = [code.strip() for code in value.split(",") if code.strip()]
    return codes or DEFAULT_AGENCIES


def ingest(paths: Iterable[Path], *, agencies: list[str] | None = None, strict: bool = False,
           legacy_columns: Path | None = None, progress: Progress | None = None) -> list[Report]:
    agencies = agencies or agencies_from_env()
    progress = progress or Progress()
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise IngestError(f"{path}: no such file")
    dictionary = _dictionary(paths, legacy_columns)
    reports = []
    for path in paths:
        reports.extend(_ingest_path(path, agencies, strict, dictionary, progress))
    return reports


def _dictionary(paths: list[Path], legacy_columns: Path | None) -> list[str] | None:
    candidates = [legacy_columns] if legacy_columns else []
    candidates += [p for p in paths if p.name == sources.DICTIONARY_NAME]
    candidates += [p.parent / sources.DICTIONARY_NAME for p in paths]
    for candidate in candidates:
        if candidate and candidate.exists():
            names = sources.read_dictionary(candidate)
            if names:
                return names
    return None


@contextmanager
def _members(path: Path):
    """The CSV files a PATH holds: itself, or the members of a ZIP extracted one by one to a temp dir."""
    if zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="undersigned-ingest-") as directory, zipfile.ZipFile(path) as archive:
            def extract():
                for info in archive.infolist():
                    if info.is_dir() or not info.filename.lower().endswith((".csv", ".txt")):
                        continue
                    target = Path(directory) / Path(info.filename).name
                    with archive.open(info) as src, target.open("wb") as dst:
                        while chunk := src.read(1 << 22):
                            dst.write(chunk)
                    yield target, f"{path}:{info.filename}"
                    target.unlink()
            yield extract()
    else:
        yield iter([(path, str(path))])


def _ingest_path(path: Path, agencies: list[str], strict: bool, dictionary: list[str] | None,
                 progress: Progress) -> list[Report]:
    reports: list[Report] = []
    now = timezone.now()
    changes = Changes()
    try:
        with transaction.atomic(), _members(path) as members:
            db.prepare_bulk_work()
            for member, label in members:
                source = sources.detect(member, label, dictionary)
                report = Report(label, source.kind)
                started = time.monotonic()
                if source.kind in sources.LOADABLE:
                    _load(source, agencies, strict, report, changes, progress, now)
                elif source.kind == sources.ENTITY_NAMES:
                    _load_entity_names(source, report)
                elif source.kind == sources.DICTIONARY:
                    report.note = "column dictionary for the header-less legacy files"
                else:
                    report.note = "a list of column names; nothing to load"
                report.seconds = time.monotonic() - started
                reports.append(report)
            if changes.awards or changes.recipients:
                from undersigned.contracts.actions import refresh_awards

                refresh_awards(changes.awards, changes.recipients, today=timezone.localdate(now),
                               settled=changes.settled)
                db.analyze(PLANNED_COLUMNS)
                reports[-1].awards_new = Award.objects.filter(first_loaded_at=now).count()
            for report in reports:
                if report.kind in sources.LOADABLE:
                    LoadRun.objects.create(
                        source=report.label[:500], kind=report.kind, digest=_digest(path),
                        rows_read=report.rows_read, rows_in_scope=report.rows_in_scope,
                        rows_rejected=len(report.problems), rows_deleted=report.rows_deleted,
                        awards_new=report.awards_new, seconds=report.seconds, finished_at=timezone.now(),
                    )
    except sources.SourceError as error:
        raise IngestError(str(error)) from error
    except duckdb.Error as error:
        raise IngestError(f"{path}: {error}") from error
    for report in reports:
        progress.done(report)
    return reports


def _digest(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()


def _duckdb() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"preserve_insertion_order": True})
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/undersigned-duckdb'")
    con.execute(f"SET memory_limit = '{os.getenv('CONTRACTS_DUCKDB_MEMORY', '2GB')}'")
    con.execute(sources.MACROS)
    return con


def _run_with_progress(con: duckdb.DuckDBPyConnection, sql: str, progress: Progress) -> None:
    """Run a long DuckDB statement in a thread (DuckDB releases the GIL) and report how far it got."""
    failure: list[BaseException] = []

    def work():
        try:
            con.execute(sql)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        try:
            fraction = con.query_progress()
        except duckdb.Error:
            fraction = -1
        if fraction and fraction > 0:
            progress.scanned(min(fraction / 100.0, 1.0))
    if failure:
        raise failure[0]
    progress.scanned(1.0)


def _load(source: sources.Source, agencies: list[str], strict: bool, report: Report, changes: Changes,
          progress: Progress, now) -> None:
    con = _duckdb()
    try:
        progress.start(source.label, source.path.stat().st_size)
        started = time.monotonic()
        _run_with_progress(con, sources.staging_sql(source, agencies), progress)
        report.scan_seconds = time.monotonic() - started
        report.rows_read, report.rows_in_scope = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE in_scope) FROM staged").fetchone()
        con.execute(sources.normalised_sql(source))
        report.problems = _problems(con, source)
        if report.problems and strict:
            shown = "\n".join(str(problem) for problem in report.problems[:20])
            more = len(report.problems) - 20
            raise IngestError(shown + (f"\n… and {more} more" if more > 0 else ""))
        progress.loading(report.rows_in_scope)
        # From here DuckDB's work (deriving awards, formatting rows) runs beside the database's (SQLite on this
        # thread, or the PostgreSQL server) and is not what the load waits for: one thread leaves the database
        # a core and lowers the peak memory (on the 2,000,000-row bench: 30 to 80 MB less, the time the same).
        con.execute("SET threads = 1")
        _write(con, source, report, changes, progress, now)
    finally:
        con.close()


def _problems(con: duckdb.DuckDBPyConnection, source: sources.Source) -> list[Problem]:
    problems = []
    rejected = con.execute(
        "SELECT line, error_type, error_message FROM reject_errors ORDER BY line").fetchall()
    reject_lines = [line for line, _, _ in rejected]
    for line, error_type, message in rejected:
        problems.append(Problem(source.label, int(line), f"malformed record ({error_type}): {message}"))
    key = {"legacy-transactions": "piid", "subawards": "prime_award_key", "prime-award-summaries": "award_key"}.get(
        source.kind, "tx_key")
    rows = con.execute(f"SELECT record, problem, {key} FROM norm WHERE problem <> '' ORDER BY record LIMIT 1000").fetchall()
    for record, problem, needle in rows:
        line = sources.locate_line(source.path, needle) if needle else None
        if line is None:  # records are counted from 0 after the header; rejected records are not staged
            line = int(record) + 1 + source.header_lines
            line += sum(1 for rejected_line in reject_lines if rejected_line <= line)
        problems.append(Problem(source.label, line, problem))
    problems.sort(key=lambda problem: problem.line or 0)
    return problems


def _write(con: duckdb.DuckDBPyConnection, source: sources.Source, report: Report, changes: Changes,
           progress: Progress, now) -> None:
    from undersigned.contracts.actions import (
        upsert_award_rows,
        upsert_awards_from_summaries,
        upsert_recipients,
        upsert_subawards,
        upsert_transaction_rows,
    )

    kind = source.kind
    if kind in (sources.TRANSACTIONS, sources.DELTA, sources.LEGACY):
        con.execute(sources.keyed_sql(source))
    if kind == sources.DELTA:
        deleted = [row[0] for row in con.execute("SELECT DISTINCT tx_key FROM norm WHERE delete_ind = 'D' AND problem = ''").fetchall()]
        if deleted:
            from undersigned.contracts.actions import delete_transactions

            changes.touch(delete_transactions(deleted))
            report.rows_deleted = len(deleted)
            progress.loaded(len(deleted))
    if kind in (sources.TRANSACTIONS, sources.DELTA, sources.LEGACY):
        con.execute(sources.tx_rows_sql(repeated=con.execute(sources.REPEATED_KEYS).fetchone()[0]))
        # DuckDB derives the awards and the recipients (on another core) while the database takes the
        # transactions.
        derive = [sources.award_rows_sql(db.timestamp(now), timezone.localdate(now)), sources.RECIPIENT_ROWS]
        with db.in_background(con, lambda other: [other.execute(sql) for sql in derive]) as derived:
            report.rows_loaded = upsert_transaction_rows(con, on_batch=progress.loaded)
            derived.result()
        changes.recipients |= upsert_recipients(_stream(con, "SELECT * FROM recipient_rows"))
        changes.touch(*upsert_award_rows(con))
    elif kind == sources.AWARDS:
        changes.recipients |= upsert_recipients(_stream(con, sources.RECIPIENTS_FROM_AWARDS))
        keys = upsert_awards_from_summaries(_stream(con, sources.AWARDS_FROM_SUMMARIES), now, on_batch=progress.loaded)
        changes.touch(keys)
        report.rows_loaded = len(keys)
    elif kind == sources.SUBAWARDS:
        changes.recipients |= upsert_recipients(_stream(con, sources.RECIPIENTS_FROM_SUBAWARDS))
        report.rows_loaded = upsert_subawards(_stream(con, sources.SUBAWARDS_SQL), on_batch=progress.loaded)


def _stream(con: duckdb.DuckDBPyConnection, sql: str):
    for rows in db.fetched(con, sql):
        yield from rows


def _load_entity_names(source: sources.Source, report: Report) -> None:
    """``vendor_decorations.csv`` (duns, cleanName, …) and ``hoovers_names_and_duns.csv`` ('name', 'duns')."""
    rows = []
    with source.path.open(encoding="utf-8-sig", newline="") as handle:
        sample = handle.readline()
        quote = "'" if sample.count("'") >= 2 or "'" in handle.readline()[:2] else '"'
        handle.seek(0)
        reader = csv.reader(handle, quotechar=quote, skipinitialspace=True)
        header = [name.strip().lower() for name in next(reader, [])]
        if "duns" not in header:
            raise IngestError(f"{source.label}: line 1: no 'duns' column")
        duns_at = header.index("duns")
        name_at = header.index("cleanname") if "cleanname" in header else header.index("name") if "name" in header else None
        if name_at is None:
            raise IngestError(f"{source.label}: line 1: no name column")
        for line, row in enumerate(reader, start=2):
            if len(row) <= max(duns_at, name_at):
                report.problems.append(Problem(source.label, line, "too few columns"))
                continue
            duns, name = row[duns_at].strip().strip("'"), row[name_at].strip().strip("'")
            if not duns.isdigit() or not name:
                report.problems.append(Problem(source.label, line, f"no DUNS number or name: {row[:2]!r}"))
                continue
            rows.append((duns.zfill(9), name[:300], clean_name(name)[:300], source.path.name[:100]))
    report.rows_read = report.rows_in_scope = len(rows) + len(report.problems)
    unique = {(duns, clean): (duns, name, clean, src) for duns, name, clean, src in rows}
    report.rows_loaded = db.upsert(
        EntityName._meta.db_table, ["duns", "name", "clean_name", "source"], ["duns", "clean_name"], unique.values(),
    )


Callback = Callable[[int], None]
