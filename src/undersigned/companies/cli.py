"""`undersigned companies …`: the company registry."""

from __future__ import annotations

import json

import click


@click.group()
def companies() -> None:
    """The company registry (names, email domains, aliases, parents)."""


@companies.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--check", is_flag=True, help="Validate the file and show what would change, without writing.")
def load(path: str | None, check: bool) -> None:
    """Create or update companies from a TOML file (default: the curated seed).

    Safe to re-run: companies are matched by slug, listed email domains are added or re-pointed,
    aliases and UEIs are merged, and nothing already in the registry is deleted. A bad file changes
    nothing and is reported with its line and company.
    """
    from undersigned.companies.registry import RegistryError, load_registry

    try:
        summary = load_registry(path, dry_run=check)
    except RegistryError as error:
        raise click.ClickException(
            f"{len(error.problems)} problem(s) in {error.path}, nothing was loaded:\n" + "\n".join(error.problems)
        ) from error
    if check:
        click.echo(f"{summary.path} is valid. Nothing was written; loading it would give:")
    click.echo(str(summary))


@companies.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as the /api/v1/companies endpoint does).")
def list_companies(as_json: bool) -> None:
    """List the companies in the registry, subsidiaries under their parent."""
    from undersigned.companies.views import registry_rows

    rows = registry_rows()
    if as_json:
        click.echo(json.dumps({"count": len(rows), "companies": rows}, indent=2, ensure_ascii=False))
        return
    children: dict[str | None, list[dict]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row)

    def show(row: dict, depth: int) -> None:
        domains = ", ".join(row["domains"]) or "no email domain"
        click.echo(f"{'  ' * depth}{row['name']} [{row['slug']}] — {domains}")
        for child in children.get(row["slug"], []):
            show(child, depth + 1)

    for row in children.get(None, []):
        show(row, 0)
