from __future__ import annotations

from django.core.paginator import EmptyPage
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from undersigned.letters.queries import public_letter_or_404, public_letters
from undersigned.signatures.counts import letter_counts
from undersigned.signatures.queries import page_number, public_signatures


def _contract_totals(companies) -> dict:
    """Each company's DHS contract total, if the contract record is loaded (see the contracts app)."""
    try:
        from undersigned.contracts.totals import contract_totals
    except ImportError:
        return {}
    return contract_totals(companies)


@require_safe
def index(request):
    letters = [(letter, letter.text(), letter_counts(letter)) for letter in public_letters()]
    return render(request, "letters/index.html", {"letters": letters})


@require_safe
def detail(request, slug):
    letter = public_letter_or_404(slug)
    try:
        number = page_number(request.GET.get("page"))
        page = public_signatures(letter).page(number)
    except (ValueError, EmptyPage):
        return HttpResponseBadRequest(_("There is no such page of signatures."), content_type="text/plain; charset=utf-8")
    counts = letter_counts(letter)
    totals = _contract_totals([row.company for row in counts.by_company if row.company])
    rows = [(row, totals.get(row.company.pk) if row.company else None) for row in counts.by_company]
    return render(request, "letters/detail.html", {
        "letter": letter, "text": letter.text(), "counts": counts, "rows": rows, "page": page,
        "has_contracts": bool(totals),
    })
