"""Counts of a letter's signatures, total and by company (subsidiaries rolled up to their parent).

Counts are computed with one GROUP BY over an index instead of "+1" updates on a counter row, so that
thousands of signers confirming at once never queue behind one hot row. The page and the API call the
same function, so they always show the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from undersigned.companies.models import Company
from undersigned.signatures.models import Signature


@dataclass
class CompanyCount:
    company: Company | None
    name: str
    verified: int = 0
    self_reported: int = 0

    @property
    def slug(self) -> str | None:
        return self.company.slug if self.company else None

    @property
    def total(self) -> int:
        return self.verified + self.self_reported


@dataclass
class LetterCounts:
    verified: int = 0
    self_reported: int = 0
    by_company: list[CompanyCount] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.verified + self.self_reported

    def as_json(self) -> dict:
        return {
            "total": self.total,
            "verified": self.verified,
            "self_reported": self.self_reported,
            "by_company": [
                {"company": row.slug, "name": row.name, "verified": row.verified, "self_reported": row.self_reported}
                for row in self.by_company
            ],
        }


def _roots() -> dict[int, Company]:
    # Only what a count row shows (aliases and UEIs are JSON, and decoding them for every company on
    # every letter page cost more than the counting).
    companies = {company.pk: company for company in Company.objects.only("id", "parent_id", "slug", "name")}
    roots = {}
    for pk, company in companies.items():
        root, seen = company, {pk}
        while root.parent_id and root.parent_id in companies and root.parent_id not in seen:
            seen.add(root.parent_id)
            root = companies[root.parent_id]
        roots[pk] = root
    return roots


def letter_counts(letter) -> LetterCounts:
    rows = (
        # The counts follow the transparency log: a signature counts once its signature entry is
        # published, until its withdrawal or invalidation entry is (ledger.publish).
        Signature.objects.filter(letter=letter, publication__removed=False)
        .values("company_id", "kind", "review", written=Lower("company_as_written"))
        .annotate(n=Count("id"))
    )
    roots = _roots()
    buckets: dict[object, CompanyCount] = {}
    other_name = _("Other companies (not yet reviewed)")
    totals = defaultdict(int)
    for row in rows:
        if row["company_id"] is not None:
            root = roots[row["company_id"]]
            key, make = ("company", root.pk), (lambda root=root: CompanyCount(root, root.name))
        elif row["review"] == Signature.Review.APPROVED:
            # Unknown to the registry but reviewed: counted under the name as written.
            key, make = ("written", row["written"]), (lambda row=row: CompanyCount(None, row["written"].title()))
        else:
            key, make = ("other",), (lambda: CompanyCount(None, other_name))
        bucket = buckets.get(key) or buckets.setdefault(key, make())
        if row["kind"] == Signature.Kind.VERIFIED:
            bucket.verified += row["n"]
        else:
            bucket.self_reported += row["n"]
        totals[row["kind"]] += row["n"]
    ordered = sorted(buckets.values(), key=lambda c: (c.company is None and c.name == other_name, -c.total, c.name.lower()))
    return LetterCounts(
        verified=totals[Signature.Kind.VERIFIED], self_reported=totals[Signature.Kind.SELF_REPORTED], by_company=ordered
    )
