"""Totals for other parts of the site (the letter page shows each company's contract total)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from undersigned.companies.models import Company
from undersigned.contracts.models import Award


def contract_totals(companies: Iterable[Company]) -> dict[int, Decimal]:
    """The direct obligated total across loaded DHS awards for each given (root) company, by id:
    subsidiaries rolled up, awards held by resellers that merely name the company left out."""
    wanted = {company.pk for company in companies}
    if not wanted:
        return {}
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in Company.objects.values_list("pk", "parent_id"):
        children[parent].append(pk)
    sums = dict(Award.objects.filter(company__isnull=False).values("company_id").annotate(total=Sum("obligated"))
                .values_list("company_id", "total").order_by())
    totals = {}
    for pk in wanted:
        seen, stack, total = set(), [pk], Decimal("0")
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            total += sums.get(current) or Decimal("0")
            stack.extend(children.get(current, []))
        totals[pk] = total.quantize(Decimal("0.01"))
    return totals
