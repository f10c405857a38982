"""`undersigned contracts …`: load, fetch and query the contract record."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click


@click.group()
def contracts() -> None:
    """The contract record: what each company sells to ICE and the rest of DHS."""


def _agency_option(function):
    return click.option(
        "--agency", "agencies", multiple=True, metavar="CODE",
        help="Keep awards of this agency: toptier code (070 = DHS) or sub-tier code (7012 = ICE). "
             "Repeatable. Default: $CONTRACTS_AGENCIES, else 070.",
    )(function)


class RichProgress:
    """A progress bar on stderr: the scan of each file (bytes, estimated rows/s), then the load (rows/s)."""

    def __init__(self, console) -> None:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console, transient=True)
        self.task = None
        self.started = 0.0
        self.bytes_per_row = 1800.0
        self.size = 0

    def start(self, label: str, total_bytes: int) -> None:
        self.bar.start()
        self.size = total_bytes
        self.started = time.monotonic()
        self.task = self.bar.add_task(f"reading {Path(label).name}", total=max(total_bytes, 1), rate="")
        self.bytes_per_row = _bytes_per_row(label) or self.bytes_per_row

    def scanned(self, fraction: float) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rows = fraction * self.size / self.bytes_per_row
        self.bar.update(self.task, completed=fraction * self.size, rate=f"≈{rows / elapsed:,.0f} rows/s")

    def loading(self, rows: int) -> None:
        self.bar.remove_task(self.task)
        self.started = time.monotonic()
        self.task = self.bar.add_task("storing", total=max(rows, 1), rate="")

    def loaded(self, rows: int) -> None:
        task = self.bar.tasks[-1]
        done = task.completed + rows
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, completed=done, rate=f"{done / elapsed:,.0f} rows/s")

    def done(self, report) -> None:
        self.bar.stop()


def _bytes_per_row(label: str) -> float | None:
    try:
        with open(label, "rb") as handle:
            sample = handle.read(1 << 20)
        lines = sample.count(b"\n")
        return len(sample) / lines if lines > 1 else None
    except OSError:
        return None


@contracts.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_agency_option
@click.option("--strict", is_flag=True, help="Stop at the first malformed row (and load nothing of that file).")
@click.option("--legacy-columns", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Column dictionary for header-less DUNS-era files (default: follow_the_money_data_dictionary.csv beside them).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ingest(paths: tuple[Path, ...], agencies: tuple[str, ...], strict: bool, legacy_columns: Path | None, quiet: bool) -> None:
    """Load USAspending bulk downloads (ZIP or CSV): prime transactions, prime award summaries,
    sub-awards, monthly delta files, and the older header-less DUNS-era exports. Safe to re-run."""
    from rich.console import Console

    from undersigned.contracts.ingest import IngestError, Progress, ingest as run

    console = Console(stderr=True)
    progress = Progress() if quiet or not console.is_terminal else RichProgress(console)
    try:
        reports = run(paths, agencies=list(agencies) or None, strict=strict, legacy_columns=legacy_columns, progress=progress)
    except IngestError as error:
        raise click.ClickException(f"{error}\nNothing was loaded from this file.") from error
    problems = 0
    for report in reports:
        if report.note:
            click.echo(f"{report.label}: {report.kind}: {report.note}")
            continue
        click.echo(
            f"{report.label}: {report.kind}: {report.rows_read:,} rows read, {report.rows_in_scope:,} in scope, "
            f"{report.rows_loaded:,} stored, {report.rows_deleted:,} deleted, {len(report.problems):,} malformed "
            f"in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"
        )
        for problem in report.problems[:50]:
            click.echo(f"  {problem}", err=True)
        if len(report.problems) > 50:
            click.echo(f"  … and {len(report.problems) - 50} more", err=True)
        problems += len(report.problems)
    new = sum(report.awards_new for report in reports)
    click.echo(f"{new:,} new awards.")
    if problems:
        click.echo(f"{problems:,} malformed rows were skipped (see above; --strict stops instead).", err=True)


@contracts.command()
@_agency_option
@click.option("--since", default="2007-10-01", show_default=True, help="First action date (YYYY-MM-DD; the API starts at 2007-10-01).")
@click.option("--until", default=None, help="Last action date (default: today).")
@click.option("--base-url", default="https://api.usaspending.gov", show_default=True, help="The API, or a mirror of it.")
@click.option("--page-size", default=100, show_default=True, type=click.IntRange(1, 100), help="Records per request.")
@click.option("--restart", is_flag=True, help="Start over instead of resuming an interrupted fetch of the same query.")
@click.option("--max-pages", default=None, type=click.IntRange(1), help="Stop after this many pages (resume later).")
@click.option("--award-details/--no-award-details", default=True, show_default=True,
              help="Ask for each new award's details (parent UEI, description, end date).")
@click.option("--quiet", is_flag=True, help="No progress messages.")
def fetch(agencies, since, until, base_url, page_size, restart, max_pages, award_details, quiet) -> None:
    """Pull contract transactions from the USAspending API (spending_by_transaction), resumably.
    --agency takes names here too: DHS, ICE, CBP, USCIS, … (default: DHS)."""
    from rich.console import Console

    from undersigned.contracts.fetch import FetchError, fetch_transactions

    console = Console(stderr=True)
    try:
        result = fetch_transactions(
            agencies=list(agencies) or ["DHS"], since=since, until=until, base_url=base_url, page_size=page_size,
            restart=restart, max_pages=max_pages, details=award_details, echo=None if quiet else (lambda text: console.print(text, highlight=False)),
        )
    except FetchError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{result['rows']:,} transactions fetched in {result['pages']:,} pages; {result['awards']:,} awards updated"
               + ("" if result["done"] else " (not finished: run again to resume)."))


@contracts.command()
@click.argument("company")
@click.option("--format", "output", type=click.Choice(["json", "table", "csv"]), default="table", show_default=True,
              help="json: the same document as GET /api/v1/companies/{slug}/contracts.")
def show(company: str, output: str) -> None:
    """What COMPANY (slug or name) holds: total obligated, by fiscal year and agency, and the awards."""
    from undersigned.contracts.report import CompanyNotFound, company_record, find_company, write_csv

    try:
        found = find_company(company)
    except CompanyNotFound as error:
        raise click.ClickException(str(error)) from error
    record = company_record(found)
    document = record.as_json()
    if output == "json":
        click.echo(json.dumps(document, indent=2))
        return
    if output == "csv":
        write_csv(sys.stdout, document["awards"])
        return
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(f"[bold]{document['name']}[/bold] ({document['company']}): "
                  f"{_money(document['total_obligated'])} obligated by DHS (direct awards, subsidiaries included)")
    years = Table("Fiscal year", "Agency", "Obligated", title="By fiscal year")
    for year, agencies in document["by_fiscal_year"].items():
        for agency, amount in agencies.items():
            years.add_row(year, agency, _money(amount))
    console.print(years)
    awards = Table("Award", "Recipient", "Agency", "Obligated", "First", "Last", "Status", "Categories", "Link",
                   title=f"Awards ({len(document['awards'])})")
    for award, row in zip(record.awards, document["awards"]):
        awards.add_row(row["award_id"], row["recipient"], row["agency"], _money(row["obligated"]),
                       row["first_action_date"] or "", row["last_action_date"] or "", award.status_label,
                       ", ".join(row["categories"]), row["link_method"])
    console.print(awards)
    if record.mentions:
        named = Table("Award", "Reseller", "Obligated", "Named", title="Held by resellers, naming the company (not in the total)")
        for mention in record.mentions:
            named.add_row(mention.award.piid, str(mention.award.recipient or ""), _money(mention.award.obligated), mention.matched)
        console.print(named)


def _money(value: str) -> str:
    return f"${float(value):,.2f}"


@contracts.command()
def link() -> None:
    """Link every recipient to the registry again and re-apply the category rules (after the
    registry, the curated links or contracts/data/categories.toml changed). Safe to re-run."""
    from django.db import transaction

    from undersigned.contracts.attribution import relink_everything
    from undersigned.contracts.categories import assign

    with transaction.atomic():
        counts = relink_everything()
        tags = assign(None)
    click.echo(f"{counts['recipients']:,} recipients, {counts['linked']:,} linked, {counts['suggested']:,} suggestions "
               f"waiting for an organizer, {counts['mentions']:,} reseller awards naming a company, {tags:,} category tags.")
