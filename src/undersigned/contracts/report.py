"""What a company holds, as the CLI, the API and the pages show it (one function, one shape)."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, F, Sum, When, Window

from undersigned.companies.models import Company
from undersigned.contracts.agencies import agency_label
from undersigned.contracts.attribution import descendants
from undersigned.contracts.models import Award, AwardCategory, Mention, SubAward, Transaction
from undersigned.contracts.parsing import clean_name


class CompanyNotFound(LookupError):
    pass


def find_company(text: str) -> Company:
    """A company by slug, name or alias (case and legal form ignored)."""
    text = text.strip()
    company = Company.objects.filter(slug=text.lower()).first() or Company.objects.filter(name__iexact=text).first()
    if company:
        return company
    wanted = clean_name(text)
    for candidate in Company.objects.all():
        if wanted and wanted in {clean_name(name) for name in [candidate.name, *(candidate.aliases or [])]}:
            return candidate
    raise CompanyNotFound(f"No company {text!r} in the registry (try its slug, e.g. `undersigned companies list`).")


def money(value) -> float:
    return float(Decimal(value or 0).quantize(Decimal("0.01")))


@dataclass
class CompanyRecord:
    company: Company
    total: Decimal
    by_year: dict[str, dict[str, Decimal]]
    awards: list[Award]
    categories: dict[str, list[AwardCategory]]
    mentions: list[Mention]
    subawards: list[SubAward]
    award_count: int = 0

    def as_json(self) -> dict:
        return {
            "company": self.company.slug,
            "name": self.company.name,
            "total_obligated": money(self.total),
            "by_fiscal_year": {year: {agency: money(amount) for agency, amount in agencies.items()}
                               for year, agencies in self.by_year.items()},
            "awards": [award_json(award, self.categories.get(award.award_key, [])) for award in self.awards],
        }


def award_json(award: Award, categories: list[AwardCategory]) -> dict:
    return {
        "award_key": award.award_key,
        "award_id": award.piid,
        "recipient": award.recipient.name if award.recipient_id and award.recipient else "",
        "agency": agency_label(award.subtier_code, award.subtier_name),
        "obligated": money(award.obligated),
        "first_action_date": award.first_action_date.isoformat() if award.first_action_date else None,
        "last_action_date": award.last_action_date.isoformat() if award.last_action_date else None,
        "categories": sorted(tag.category for tag in categories),
        "link_method": award.link_method,
    }


def categories_of(keys: list[str]) -> dict[str, list[AwardCategory]]:
    found: dict[str, list[AwardCategory]] = defaultdict(list)
    for start in range(0, len(keys), 500):
        for tag in AwardCategory.objects.filter(award_id__in=keys[start:start + 500]):
            found[tag.award_id].append(tag)
    return found


def company_record(company: Company, limit: int | None = None) -> CompanyRecord:
    """Everything shown about a company; ``limit`` keeps only the newest awards (totals stay whole)."""
    ids = descendants(company)
    mine = Award.objects.filter(company_id__in=ids)
    # The total and the count of all the company's awards ride along on each row of the newest ones.
    awards = (mine.select_related("recipient").defer("description", "search_text")  # shown nowhere here
              .order_by("-first_action_date", "award_key")
              .annotate(all_obligated=Window(Sum("obligated")), all_count=Window(Count("pk"))))
    awards = list(awards[:limit] if limit else awards)
    total = (awards[0].all_obligated if awards else None) or Decimal("0")
    # By fiscal year and agency: the modifications loaded, and what a summary file's total holds beyond
    # them (in the award's first fiscal year when no modification is loaded, else in that of its latest
    # action). One query for both.
    modifications = (Transaction.objects.filter(award__company_id__in=ids)
                     .values(year=F("fiscal_year"), code=F("award__subtier_code"), name=F("award__subtier_name"))
                     .annotate(amount=Sum("obligation")).order_by())
    year = Case(When(transaction_count=0, then=F("fiscal_year")), default=F("summary_last_fiscal_year"))
    beyond = (mine.filter(summary_obligated__isnull=False).exclude(obligated=F("transaction_total"))
              .values(year=year, code=F("subtier_code"), name=F("subtier_name"))
              .annotate(amount=Sum(F("obligated") - F("transaction_total"))).order_by())
    cells: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in modifications.union(beyond, all=True):
        cells[row["year"] or 0][agency_label(row["code"], row["name"])] += row["amount"] or Decimal(0)
    by_year = {str(year) if year else "unknown": dict(sorted(agencies.items()))
               for year, agencies in sorted(cells.items(), reverse=True)}
    mentions = list(Mention.objects.filter(company_id__in=ids).select_related("award", "award__recipient")
                    .order_by("-award__first_action_date")[:500])
    subawards = list(SubAward.objects.filter(company_id__in=ids).order_by("-action_date")[:500])
    return CompanyRecord(company, total, by_year, awards, categories_of([a.award_key for a in awards]), mentions,
                         subawards, awards[0].all_count if awards else 0)


def company_contracts(company: Company) -> dict:
    return company_record(company).as_json()


CSV_FIELDS = ["award_key", "award_id", "recipient", "agency", "obligated", "first_action_date", "last_action_date",
              "categories", "link_method", "url"]


def write_csv(stream, awards: list[dict]) -> None:
    writer = csv.writer(stream)
    writer.writerow(CSV_FIELDS)
    for award in awards:
        row = {**award, "categories": " ".join(award["categories"]),
               "url": f"https://www.usaspending.gov/award/{award['award_key']}/"}
        writer.writerow([row.get(field, "") if row.get(field) is not None else "" for field in CSV_FIELDS])
