"""Who is who: linking recipients of awards to companies of the registry.

In order: the recipient's UEI, then its parent's UEI, listed for a company in the registry; a curated
override (UEI, DUNS or exact cleaned name; seeded from ``data/curated.toml``, edited by organizers);
an exact cleaned-name match with a company's name or aliases (also through names known for the
recipient's DUNS number). Only then, fuzzy similarity (rapidfuzz) — and only as a suggestion an
organizer confirms or rejects. Exact matching keeps namesakes apart ("PARAGON SYSTEMS" is not
"PARAGON PROFESSIONAL SERVICES"); cleaning merges variants ("PEN-LINK, LTD" is "PEN-LINK, LIMITED").

Awards held by resellers whose description names a company are recorded as mentions, apart.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.db import connection
from rapidfuzz import fuzz, process

from undersigned.companies.models import Company
from undersigned.contracts.models import (
    Award,
    CuratedLink,
    EntityName,
    LinkMethod,
    LinkStatus,
    Mention,
    Recipient,
    RecipientLink,
    SubAward,
)
from undersigned.contracts.parsing import clean_name

DATA = Path(__file__).resolve().parent / "data"
AUTOMATIC = (LinkMethod.UEI, LinkMethod.PARENT_UEI, LinkMethod.CURATED, LinkMethod.ALIAS)
PRIORITY = {method: rank for rank, method in enumerate([*AUTOMATIC, LinkMethod.FUZZY])}
FUZZY_CUTOFF = 90
MIN_MENTION_LENGTH = 3


@dataclass
class Registry:
    companies: dict[int, Company]
    by_uei: dict[str, Company]
    by_name: dict[str, Company]
    ambiguous: set[str] = field(default_factory=set)

    @classmethod
    def load(cls) -> Registry:
        companies = {company.pk: company for company in Company.objects.all()}
        by_uei: dict[str, Company] = {}
        by_name: dict[str, Company] = {}
        ambiguous: set[str] = set()
        for company in companies.values():
            for uei in company.ueis or []:
                by_uei[str(uei).strip().upper()] = company
            for name in [company.name, *(company.aliases or [])]:
                cleaned = clean_name(name)
                if not cleaned:
                    continue
                if cleaned in by_name and by_name[cleaned].pk != company.pk:
                    ambiguous.add(cleaned)
                by_name[cleaned] = company
        for cleaned in ambiguous:
            by_name.pop(cleaned, None)
        return cls(companies, by_uei, by_name, ambiguous)


@cache
def curated_seed() -> list[dict]:
    path = DATA / "curated.toml"
    return tomllib.loads(path.read_text()).get("link", []) if path.exists() else []


@cache
def resellers() -> tuple[frozenset[str], frozenset[str]]:
    data = tomllib.loads((DATA / "resellers.toml").read_text())
    names = frozenset(clean_name(name) for name in data.get("names", []))
    ueis = frozenset(uei.upper() for uei in data.get("ueis", []))
    return names, ueis


def sync_curated() -> int:
    """Add the curated links of the data file whose company exists; organizers' edits are kept."""
    slugs = {company.slug: company for company in Company.objects.all()}
    created = 0
    for entry in curated_seed():
        company = slugs.get(entry["company"])
        if company is None:
            continue
        value = entry["value"] if entry["kind"] != "name" else clean_name(entry["value"])
        _, made = CuratedLink.objects.get_or_create(
            kind=entry["kind"], value=value, defaults={"company": company, "note": entry.get("note", "")[:300]})
        created += made
    return created


def _candidates(recipient: Recipient, registry: Registry, curated: dict, entity_names: dict[str, list[str]]):
    """(company, method, confidence, evidence) in order of preference."""
    if recipient.uei and (company := registry.by_uei.get(recipient.uei.upper())):
        yield company, LinkMethod.UEI, Decimal("1.000"), f"UEI {recipient.uei} is listed for {company.name}"
    if recipient.parent_uei and (company := registry.by_uei.get(recipient.parent_uei.upper())):
        yield company, LinkMethod.PARENT_UEI, Decimal("0.950"), f"parent UEI {recipient.parent_uei} is listed for {company.name}"
    for kind, value in (("uei", recipient.uei), ("duns", recipient.duns), ("name", recipient.clean_name)):
        if value and (company := curated.get((kind, value.upper() if kind == "uei" else value))):
            yield company, LinkMethod.CURATED, Decimal("1.000"), f"curated: {kind} {value} is {company.name}"
    if recipient.clean_name and (company := registry.by_name.get(recipient.clean_name)):
        yield company, LinkMethod.ALIAS, Decimal("0.900"), f"name {recipient.name!r} matches {company.name}"
    for known in entity_names.get(recipient.duns, []):
        if company := registry.by_name.get(known):
            yield company, LinkMethod.ALIAS, Decimal("0.850"), f"DUNS {recipient.duns} is known as {known!r}"


def link_recipients(keys: set[str] | None = None) -> set[str]:
    """(Re)link recipients (all when ``keys`` is None). Returns the keys of the recipients considered."""
    registry = Registry.load()
    sync_curated()
    curated = {(link.kind, link.value.upper() if link.kind == "uei" else link.value): link.company
               for link in CuratedLink.objects.select_related("company")}
    recipients = Recipient.objects.all()
    if keys is not None:
        if not keys:
            return set()
        recipients = [r for chunk in _chunks(sorted(keys)) for r in Recipient.objects.filter(key__in=chunk)]
    recipients = list(recipients)
    duns = {r.duns for r in recipients if r.duns}
    entity_names: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(sorted(duns)):
        for number, cleaned in EntityName.objects.filter(duns__in=chunk).values_list("duns", "clean_name"):
            entity_names[number].append(cleaned)
    existing: dict[str, dict[int, RecipientLink]] = defaultdict(dict)
    for chunk in _chunks([r.key for r in recipients]):
        for link in RecipientLink.objects.filter(recipient_id__in=chunk):
            existing[link.recipient_id][link.company_id] = link
    fuzzy_names = list(registry.by_name)
    to_create, to_update, to_delete = [], [], []
    for recipient in recipients:
        mine = existing.get(recipient.key, {})
        chosen = None
        for company, method, confidence, evidence in _candidates(recipient, registry, curated, entity_names):
            previous = mine.get(company.pk)
            if previous and previous.status == LinkStatus.REJECTED:
                continue  # an organizer said no
            chosen = (company, method, confidence, evidence)
            break
        for company_id, link in mine.items():  # automatic links that no longer hold
            if link.method in AUTOMATIC and (chosen is None or company_id != chosen[0].pk) and link.status != LinkStatus.REJECTED:
                to_delete.append(link.pk)
        if chosen:
            company, method, confidence, evidence = chosen
            link = mine.get(company.pk)
            if link is None:
                to_create.append(RecipientLink(recipient_id=recipient.key, company=company, method=method,
                                               confidence=confidence, status=LinkStatus.CONFIRMED, evidence=evidence[:300]))
            elif link.method != LinkMethod.FUZZY or link.status != LinkStatus.CONFIRMED:
                link.method, link.confidence, link.status, link.evidence = method, confidence, LinkStatus.CONFIRMED, evidence[:300]
                to_update.append(link)
            continue
        if not recipient.clean_name or not fuzzy_names or any(l.status == LinkStatus.CONFIRMED for l in mine.values()):
            continue
        match = process.extractOne(recipient.clean_name, fuzzy_names, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF)
        if match:
            company = registry.by_name[match[0]]
            if company.pk not in mine:
                to_create.append(RecipientLink(
                    recipient_id=recipient.key, company=company, method=LinkMethod.FUZZY,
                    confidence=Decimal(match[1] / 100).quantize(Decimal("0.001")), status=LinkStatus.SUGGESTED,
                    evidence=f"{recipient.name!r} resembles {match[0]!r} ({match[1]:.0f}/100)"[:300]))
    for chunk in _chunks(to_delete):
        RecipientLink.objects.filter(pk__in=chunk).delete()
    RecipientLink.objects.bulk_create(to_create, batch_size=500)
    RecipientLink.objects.bulk_update(to_update, ["method", "confidence", "status", "evidence"], batch_size=500)
    return {r.key for r in recipients}


def best_links(recipient_keys: list[str]) -> dict[str, tuple[int, str]]:
    best: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(recipient_keys):
        links = RecipientLink.objects.filter(recipient_id__in=chunk, status=LinkStatus.CONFIRMED)
        _keep_best(best, links.values_list("recipient_id", "company_id", "method"))
    return best


def _keep_best(best: dict[str, tuple[int, str]], rows) -> None:
    for recipient_id, company_id, method in rows:
        if recipient_id not in best or PRIORITY[method] < PRIORITY[best[recipient_id][1]]:
            best[recipient_id] = (company_id, method)


def apply_links(*, award_keys: set[str] | None = None, recipient_keys: set[str] | None = None, everything: bool = False) -> None:
    """Copy each recipient's best confirmed link onto its awards and sub-awards.

    Set-based: the recipients go into a temporary table with their best link (or none), and one UPDATE
    per table changes the awards and sub-awards whose link differs."""
    from undersigned.contracts import db

    award, subaward = Award._meta.db_table, SubAward._meta.db_table
    if everything:
        recipients = set(Recipient.objects.values_list("key", flat=True))
    else:
        recipients = set(recipient_keys or ())
        if award_keys:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT DISTINCT recipient_id FROM {award} "
                               "WHERE award_key IN (SELECT key FROM touched_award) AND recipient_id IS NOT NULL")
                recipients.update(row[0] for row in cursor.fetchall())
    if not recipients:
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS linked_recipient")
        cursor.execute("CREATE TEMP TABLE linked_recipient (key VARCHAR(120) PRIMARY KEY, company_id BIGINT NULL, "
                       "method VARCHAR(20) NOT NULL)")
    db.upsert("linked_recipient", ["key", "company_id", "method"], ["key"],
              ((key, None, "") for key in sorted(recipients)), update={})
    best: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT l.recipient_id, l.company_id, l.method FROM {RecipientLink._meta.db_table} l "
                       "JOIN linked_recipient k ON k.key = l.recipient_id WHERE l.status = %s", [LinkStatus.CONFIRMED])
        _keep_best(best, cursor.fetchall())
        if best:
            cursor.executemany("UPDATE linked_recipient SET company_id = %s, method = %s WHERE key = %s",
                               [(company_id, method, key) for key, (company_id, method) in best.items()])
        differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
        cursor.execute(f"UPDATE {award} SET company_id = k.company_id, link_method = k.method FROM linked_recipient k "
                       f"WHERE {award}.recipient_id = k.key AND ({award}.company_id {differs} k.company_id "
                       f"OR {award}.link_method <> k.method)")
        cursor.execute(f"UPDATE {subaward} SET company_id = k.company_id FROM linked_recipient k "
                       f"WHERE {subaward}.recipient_id = k.key AND {subaward}.company_id {differs} k.company_id")
        cursor.execute("DROP TABLE linked_recipient")


def _mention_pattern(registry: Registry):
    names: dict[str, Company] = {}
    for company in registry.companies.values():
        for name in [company.name, *(company.aliases or [])]:
            upper = " ".join(name.upper().split())
            if len(upper) >= MIN_MENTION_LENGTH:
                names.setdefault(upper, company)
    if not names:
        return None, names
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![A-Z0-9])({alternatives})(?![A-Z0-9])"), names


def find_mentions(award_keys: set[str] | None = None) -> int:
    """Record reseller awards whose description names a registry company (all awards when None)."""
    reseller_names, reseller_ueis = resellers()
    award, recipient, mention = Award._meta.db_table, Recipient._meta.db_table, Mention._meta.db_table
    if award_keys is not None:
        if not award_keys:
            return 0
        # The touched awards are in the ``touched_award`` temp table: one statement each, whatever their number.
        in_scope = "a.award_key IN (SELECT key FROM touched_award)"
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {mention} WHERE award_id IN (SELECT key FROM touched_award)")
    else:
        in_scope = "1 = 1"
        Mention.objects.all().delete()
    conditions, params = [], []
    for column, values in (("clean_name", sorted(reseller_names)), ("uei", sorted(reseller_ueis))):
        if values:
            conditions.append(f"r.{column} IN ({', '.join(['%s'] * len(values))})")
            params += values
    if not conditions:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.award_key, a.description, a.company_id FROM {award} a "
                       f"JOIN {recipient} r ON r.key = a.recipient_id WHERE {in_scope} AND ({' OR '.join(conditions)})",
                       params)
        awards = cursor.fetchall()
    if not awards:
        return 0
    registry = Registry.load()
    pattern, names = _mention_pattern(registry)
    if pattern is None:
        return 0
    mentions = []
    for award_key, description, company_id in awards:
        seen = set()
        for match in pattern.finditer(" ".join((description or "").upper().split())):
            company = names[match.group(1)]
            if company.pk in seen or company.pk == company_id:
                continue
            seen.add(company.pk)
            mentions.append(Mention(award_id=award_key, company=company, matched=match.group(1)[:200],
                                    confidence=Decimal("0.600")))
    Mention.objects.bulk_create(mentions, batch_size=500)
    return len(mentions)


def relink_everything() -> dict[str, int]:
    """After the registry changed: relink every recipient, copy links onto awards, find mentions."""
    link_recipients(None)
    apply_links(everything=True)
    mentions = find_mentions(None)
    return {
        "recipients": Recipient.objects.count(),
        "linked": RecipientLink.objects.filter(status=LinkStatus.CONFIRMED).values("recipient").distinct().count(),
        "suggested": RecipientLink.objects.filter(status=LinkStatus.SUGGESTED).count(),
        "mentions": mentions,
    }


def descendants(company: Company) -> list[int]:
    """The ids of a company and all its subsidiaries, at any depth (contracts roll up to the root)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in Company.objects.values_list("pk", "parent_id"):
        children[parent].append(pk)
    found, stack = [], [company.pk]
    while stack:
        pk = stack.pop()
        if pk in found:
            continue
        found.append(pk)
        stack.extend(children.get(pk, []))
    return found


def _chunks(items, size: int = 500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]
