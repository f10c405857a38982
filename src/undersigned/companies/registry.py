"""Loading the company registry from a TOML file (the curated seed, or an organizer's own file).

The file is validated as a whole before anything is written; every problem is reported with the file,
the line of its ``[[company]]`` table and the entry's slug. Loading is idempotent and only adds:

- companies are created or updated by slug; ``name`` is set from the file, and ``parent``,
  ``website`` and ``description`` when the entry gives them (an omitted field keeps its value);
- ``aliases`` and ``ueis`` are merged: the file's first, then any an organizer added;
- each listed email domain is created, or re-pointed to this company if another company had it;
- nothing is deleted: companies, domains, aliases and UEIs that are not in the file stay.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from undersigned.companies.matching import clean_company_name, company_keys, is_free_mail, normalize_domain

SEED_PATH = Path(__file__).resolve().parent / "data" / "companies.toml"

ENTRY_KEYS = {"slug", "name", "parent", "domains", "aliases", "ueis", "website", "description"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
UEI_RE = re.compile(r"^[A-Z0-9]{12}$")
_TABLE_RE = re.compile(r"^[ \t]*\[\[[ \t]*company[ \t]*\]\]", re.MULTILINE)


class RegistryError(ValueError):
    """The registry file is unusable; ``problems`` lists every problem found, one line each."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class CompanyEntry:
    """One validated ``[[company]]`` table."""

    slug: str
    name: str
    line: int
    parent: str | None = None
    domains: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    ueis: list[str] = field(default_factory=list)
    website: str | None = None
    description: str | None = None


@dataclass
class LoadSummary:
    path: str
    companies: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    domains_added: int = 0
    domains_moved: list[str] = field(default_factory=list)  # "domain: old-slug → new-slug"

    def __str__(self) -> str:
        text = (
            f"Loaded {self.companies} companies from {self.path}: {self.created} created, "
            f"{self.updated} updated, {self.unchanged} unchanged; {self.domains_added} email domains added, "
            f"{len(self.domains_moved)} moved."
        )
        return "\n".join([text, *(f"  moved {line}" for line in self.domains_moved)])


# ---------------------------------------------------------------------------------------------------
# Parsing and validation (no writes)


def _table_lines(text: str) -> list[int]:
    """Line numbers (1-based) of the ``[[company]]`` headers, in order."""
    return [text.count("\n", 0, match.start()) + 1 for match in _TABLE_RE.finditer(text)]


def _string_list(value, what: str, where: str, problems: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{where}: {what} must be a list of strings")
        return []
    result = []
    for item in value:
        item = item.strip()
        if not item:
            problems.append(f"{where}: empty string in {what}")
        else:
            result.append(item)
    return result


def parse_registry(path: Path | str) -> list[CompanyEntry]:
    """Read and validate a registry file on its own (parents may also be companies already in the
    database: see :func:`validate_against_database`). Raises :class:`RegistryError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RegistryError(path, [f"{path}: cannot read: {error.strerror}"]) from error
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as error:
        raise RegistryError(path, [f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"]) from error
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(path, [f"{path}: not valid TOML: {error}"]) from error

    problems: list[str] = []
    unknown_top = sorted(set(data) - {"company"})
    if unknown_top:
        problems.append(f"{path}: unexpected top-level keys {unknown_top}; only [[company]] tables are read")
    tables = data.get("company", [])
    if not isinstance(tables, list):
        raise RegistryError(path, [f"{path}: 'company' must be an array of tables ([[company]])"])
    lines = _table_lines(text)

    entries: list[CompanyEntry] = []
    slugs: dict[str, CompanyEntry] = {}
    domains: dict[str, str] = {}
    ueis: dict[str, str] = {}
    validate_url = URLValidator(schemes=["http", "https"])
    for index, table in enumerate(tables):
        line = lines[index] if index < len(lines) else 0
        slug = table.get("slug")
        label = f"company {slug!r}" if isinstance(slug, str) and slug else f"company #{index + 1}"
        where = f"{path}:{line}: {label}"
        before = len(problems)

        unknown = sorted(set(table) - ENTRY_KEYS)
        if unknown:
            problems.append(f"{where}: unknown keys {unknown} (expected {sorted(ENTRY_KEYS)})")
        if not isinstance(slug, str) or not SLUG_RE.match(slug) or len(slug) > 80:
            problems.append(f"{where}: slug must be lower-case letters, digits and single hyphens (at most 80)")
        elif slug in slugs:
            problems.append(f"{where}: duplicate slug {slug!r} (first at line {slugs[slug].line})")
        name = table.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            problems.append(f"{where}: name is required (text, at most 200 characters)")
        parent = table.get("parent")
        if parent is not None and (not isinstance(parent, str) or not parent):
            problems.append(f"{where}: parent must be the slug of another company")
        elif parent is not None and parent == slug:
            problems.append(f"{where}: a company cannot be its own parent")

        entry_domains = []
        for domain in _string_list(table.get("domains"), "domains", where, problems):
            try:
                normal = normalize_domain(domain)
            except ValueError as error:
                problems.append(f"{where}: bad domain {domain!r}: {error}")
                continue
            if is_free_mail(normal):
                problems.append(f"{where}: {normal} is a free-mail domain; its addresses prove no employer")
            elif normal in domains:
                problems.append(f"{where}: domain {normal} is already listed for {domains[normal]!r}")
            else:
                domains[normal] = slug
                entry_domains.append(normal)

        aliases = []
        for alias in _string_list(table.get("aliases"), "aliases", where, problems):
            if len(alias) > 200:
                problems.append(f"{where}: alias longer than 200 characters: {alias[:40]!r}…")
            elif not clean_company_name(alias):
                problems.append(f"{where}: alias {alias!r} has no letters or digits")
            elif alias not in aliases:
                aliases.append(alias)

        entry_ueis = []
        for uei in _string_list(table.get("ueis"), "ueis", where, problems):
            uei = uei.upper()
            if not UEI_RE.match(uei):
                problems.append(f"{where}: {uei!r} is not a UEI (12 letters and digits)")
            elif uei in ueis:
                problems.append(f"{where}: UEI {uei} is already listed for {ueis[uei]!r}")
            else:
                ueis[uei] = slug
                entry_ueis.append(uei)

        website = table.get("website")
        if website is not None:
            try:
                if not isinstance(website, str):
                    raise ValidationError("not text")
                if website:
                    validate_url(website)
            except ValidationError:
                problems.append(f"{where}: website must be an http(s) URL, not {website!r}")
        description = table.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 300):
            problems.append(f"{where}: description must be one line of text, at most 300 characters")
        elif isinstance(description, str) and "\n" in description.strip():
            problems.append(f"{where}: description must be one line")

        if len(problems) == before:
            entry = CompanyEntry(
                slug=slug, name=name.strip(), line=line, parent=parent, domains=entry_domains, aliases=aliases,
                ueis=entry_ueis, website=website, description=description.strip() if description is not None else None,
            )
            entries.append(entry)
            slugs[slug] = entry
        elif isinstance(slug, str) and slug and slug not in slugs:
            slugs[slug] = CompanyEntry(slug=slug, name="", line=line)  # known, for parent checks below

    problems.extend(_check_names(path, entries, {}))
    if problems:
        raise RegistryError(path, problems)
    return entries


def _check_names(path, entries: list[CompanyEntry], others: dict[str, str]) -> list[str]:
    """Two companies must not share a name key (name, slug or alias after cleaning).

    ``others`` maps keys to slugs of companies outside the file (already in the database).
    """
    problems = []
    owners: dict[str, str] = dict(others)
    for entry in entries:
        for key in sorted(company_keys(entry.name, entry.slug, entry.aliases)):
            owner = owners.get(key)
            if owner is not None and owner != entry.slug:
                problems.append(
                    f"{path}:{entry.line}: company {entry.slug!r}: its name or an alias reads as {key!r}, "
                    f"like company {owner!r}; names must tell companies apart"
                )
            owners.setdefault(key, entry.slug)
    return problems


def validate_against_database(path, entries: list[CompanyEntry]) -> None:
    """Checks that need the companies already stored: parents, cycles, names and UEIs of others."""
    from undersigned.companies.models import Company

    problems: list[str] = []
    by_slug = {entry.slug: entry for entry in entries}
    stored = {c.slug: c for c in Company.objects.select_related("parent")}

    # Parents: in the file, or already stored.
    for entry in entries:
        if entry.parent and entry.parent not in by_slug and entry.parent not in stored:
            problems.append(f"{path}:{entry.line}: company {entry.slug!r}: unknown parent {entry.parent!r}")

    # Cycles, in the parent graph the load would produce.
    parents = {slug: (c.parent.slug if c.parent else None) for slug, c in stored.items()}
    for entry in entries:
        if entry.parent is not None or entry.slug not in parents:
            parents[entry.slug] = entry.parent
    reported: set[str] = set()
    for entry in entries:
        seen, slug = [entry.slug], parents.get(entry.slug)
        while slug is not None and slug not in seen:
            seen.append(slug)
            slug = parents.get(slug)
        if slug is not None and slug not in reported:
            cycle = seen[seen.index(slug):] + [slug]
            reported.update(cycle)
            problems.append(f"{path}:{entry.line}: company {entry.slug!r}: parent cycle {' → '.join(cycle)}")

    # Name keys and UEIs of stored companies not in the file.
    others: dict[str, str] = {}
    other_ueis: dict[str, str] = {}
    for slug, company in stored.items():
        if slug in by_slug:
            continue
        for key in company_keys(company.name, company.slug, company.aliases):
            others.setdefault(key, slug)
        for uei in company.ueis or []:
            other_ueis.setdefault(str(uei).upper(), slug)
    # A stored company in the file keeps the aliases organizers gave it: check the merged list.
    merged = [
        CompanyEntry(slug=e.slug, name=e.name, line=e.line, aliases=[*e.aliases, *(stored[e.slug].aliases or [])])
        if e.slug in stored else e
        for e in entries
    ]
    problems.extend(_check_names(path, merged, others))
    for entry in entries:
        for uei in entry.ueis:
            if uei in other_ueis:
                problems.append(
                    f"{path}:{entry.line}: company {entry.slug!r}: UEI {uei} already belongs to company {other_ueis[uei]!r}"
                )
    if problems:
        raise RegistryError(path, problems)


# ---------------------------------------------------------------------------------------------------
# Writing


def _merged(first: list[str], then: list[str]) -> list[str]:
    """``first``, then the items of ``then`` not in it (spelling variants are kept: they are the point)."""
    return list(dict.fromkeys([*first, *(then or [])]))


def _levels(entries: list[CompanyEntry]) -> list[list[CompanyEntry]]:
    """Entries grouped by depth within the file: companies whose parent is not in the file first."""
    by_slug = {entry.slug: entry for entry in entries}
    depth: dict[str, int] = {}

    def depth_of(entry: CompanyEntry) -> int:
        if entry.slug not in depth:
            depth[entry.slug] = 0  # guards against cycles, which validation has refused already
            parent = by_slug.get(entry.parent) if entry.parent else None
            depth[entry.slug] = depth_of(parent) + 1 if parent else 0
        return depth[entry.slug]

    levels: list[list[CompanyEntry]] = []
    for entry in entries:
        d = depth_of(entry)
        while len(levels) <= d:
            levels.append([])
        levels[d].append(entry)
    return levels


def load_registry(path: Path | str | None = None, *, dry_run: bool = False) -> LoadSummary:
    """Validate the file at ``path`` (default: the seed) and create or update its companies.

    All or nothing: one transaction, and no write at all when any entry is wrong
    (:class:`RegistryError` lists every problem). ``dry_run`` validates and computes the summary,
    then rolls back.
    """
    from undersigned.companies.models import Company, EmailDomain

    path = Path(path) if path is not None else SEED_PATH
    entries = parse_registry(path)
    summary = LoadSummary(path=str(path), companies=len(entries))
    with transaction.atomic():
        validate_against_database(path, entries)
        companies: dict[str, Company] = {c.slug: c for c in Company.objects.select_related("parent")}
        stored_domains = {d.domain: d for d in EmailDomain.objects.select_related("company")}
        fields = ["name", "parent", "aliases", "ueis", "website", "description"]
        changed: set[str] = set()
        created: set[str] = set()
        # Level by level (parents before subsidiaries), so that new parents have a primary key.
        for level in _levels(entries):
            new, updated = [], []
            for entry in level:
                company = companies.get(entry.slug)
                if company is None:
                    company = Company(slug=entry.slug)
                    new.append(company)
                    created.add(entry.slug)
                before = [getattr(company, f"{name}_id" if name == "parent" else name) for name in fields]
                company.name = entry.name
                if entry.parent is not None:
                    company.parent = companies[entry.parent]
                company.aliases = _merged(entry.aliases, list(company.aliases or []))
                company.ueis = _merged(entry.ueis, [str(u).upper() for u in company.ueis or []])
                if entry.website is not None:
                    company.website = entry.website
                if entry.description is not None:
                    company.description = entry.description
                after = [getattr(company, f"{name}_id" if name == "parent" else name) for name in fields]
                if company.pk is not None and after != before:
                    updated.append(company)
                    changed.add(entry.slug)
                companies[entry.slug] = company
            Company.objects.bulk_create(new)
            Company.objects.bulk_update(updated, fields)
            summary.created += len(new)

        added, moved = [], []
        for entry in entries:
            company = companies[entry.slug]
            for domain in entry.domains:
                row = stored_domains.get(domain)
                if row is None:
                    added.append(EmailDomain(domain=domain, company=company))
                    changed.add(entry.slug)
                elif row.company_id != company.pk:
                    summary.domains_moved.append(f"{domain}: {row.company.slug} → {company.slug}")
                    row.company = company
                    moved.append(row)
                    changed.add(entry.slug)
        EmailDomain.objects.bulk_create(added)
        EmailDomain.objects.bulk_update(moved, ["company"])
        summary.domains_added = len(added)
        summary.updated = len(changed - created)
        summary.unchanged = summary.companies - summary.created - summary.updated
        if dry_run:
            transaction.set_rollback(True)
    return summary


def load_seed_if_empty() -> int:
    """Load the curated seed into a registry that has no companies; return how many were loaded.

    0 (and nothing written) when the registry already has companies. Called by ``undersigned serve``
    when it prepares the database.
    """
    from undersigned.companies.models import Company

    if Company.objects.exists():
        return 0
    return load_registry(SEED_PATH).companies
