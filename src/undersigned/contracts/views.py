"""Pages of the contract record: the searchable list, a company's page, a category's page, feeds, API."""

from __future__ import annotations

import io
from decimal import Decimal

from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from undersigned.companies.models import Company
from undersigned.contracts.agencies import BY_SHORT, agency_label
from undersigned.contracts.attribution import descendants
from undersigned.contracts.categories import all_categories, explanation_in_language
from undersigned.contracts.models import Award, AwardCategory
from undersigned.contracts.report import award_json, categories_of, company_record, write_csv
from undersigned.contracts.templatetags.contracts import dollars

PER_PAGE = 50
COMPANY_AWARDS_SHOWN = 50


class BadQuery(ValueError):
    pass


def filtered_awards(params) -> tuple:
    """Awards matching the list's filters: q (words in the description, PIID or recipient), company,
    category, agency (ICE, 7012), fy (fiscal year). Raises BadQuery with a message for bad values."""
    awards = Award.objects.select_related("recipient", "company")
    chosen = {}
    words = params.get("q", "").split()
    if len(words) > 10:
        raise BadQuery(_("Use at most 10 words in a search."))
    for word in words:
        upper = word.upper()
        awards = awards.filter(Q(search_text__contains=upper) | Q(recipient__name__icontains=word))
    if slug := params.get("company", ""):
        company = Company.objects.filter(slug=slug).first()
        if company is None:
            raise BadQuery(_("No company %(slug)s in the registry.") % {"slug": slug})
        awards = awards.filter(company_id__in=descendants(company))
        chosen["company"] = company
    if slug := params.get("category", ""):
        if slug not in all_categories():
            raise BadQuery(_("No category %(slug)s.") % {"slug": slug})
        awards = awards.filter(award_key__in=AwardCategory.objects.filter(category=slug).values("award_id"))
        chosen["category"] = all_categories()[slug]
    if agency := params.get("agency", ""):
        code = BY_SHORT.get(agency.upper(), agency)
        if not code.isdigit() or len(code) != 4:
            raise BadQuery(_("Unknown agency %(agency)s: use ICE, CBP, USCIS, … or a sub-tier code.") % {"agency": agency})
        awards = awards.filter(subtier_code=code)
        chosen["agency"] = agency_label(code)
    if year := params.get("fy", ""):
        if not year.isdigit() or not 1980 <= int(year) <= 2100:
            raise BadQuery(_("The fiscal year must be a year like 2025."))
        awards = awards.filter(Q(transactions__fiscal_year=int(year)) | Q(transaction_count=0, fiscal_year=int(year))).distinct()
        chosen["fy"] = year
    return awards.order_by("-first_action_date", "award_key"), chosen


def bad_request(request, message: str) -> HttpResponse:
    response = render(request, "contracts/error.html", {"message": message}, status=400)
    return response


def index(request):
    try:
        awards, chosen = filtered_awards(request.GET)
    except BadQuery as error:
        return bad_request(request, str(error))
    page = Paginator(awards, PER_PAGE).get_page(request.GET.get("page"))
    rows = award_rows(page.object_list, categories_of([award.award_key for award in page.object_list]),
                      with_company=True)
    total = awards.aggregate(total=Sum("obligated"))["total"] if request.GET else None
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "contracts/index.html", {
        "page": page, "rows": rows, "chosen": chosen, "q": request.GET.get("q", ""), "total": total,
        "categories": all_categories().values(), "query": query.urlencode(),
        "companies": Company.objects.filter(parent__isnull=True, awards__isnull=False).distinct().order_by("name")[:200],
    })


def export(request):
    """CSV of the list with the same filters (all rows, not one page)."""
    try:
        awards, _chosen = filtered_awards(request.GET)
    except BadQuery as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    return csv_response(awards[:100_000], "contracts.csv")


def csv_response(awards, filename: str) -> HttpResponse:
    awards = list(awards)
    tags = categories_of([award.award_key for award in awards])
    stream = io.StringIO()
    write_csv(stream, [award_json(award, tags.get(award.award_key, [])) for award in awards])
    response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM = 640, 240, 8, 24


def chart(by_year: dict[str, dict[str, Decimal]]) -> dict | None:
    """Stacked bars by fiscal year (oldest first), one colour class per agency, as SVG geometry."""
    years = sorted((year for year in by_year if year != "unknown"), key=int)
    if not years:
        return None
    agencies = sorted({agency for year in years for agency in by_year[year]})
    top = max((sum((max(v, Decimal(0)) for v in by_year[year].values()), Decimal(0)) for year in years), default=Decimal(0))
    if top <= 0:
        return None
    plot_height = CHART_HEIGHT - CHART_BOTTOM
    slot = (CHART_WIDTH - CHART_LEFT) / len(years)
    width = max(slot * 0.7, 2)
    bars = []
    for index, year in enumerate(years):
        x = CHART_LEFT + index * slot + (slot - width) / 2
        base = plot_height
        segments = []
        for agency in agencies:
            amount = by_year[year].get(agency, Decimal(0))
            if amount <= 0:
                continue
            height = float(amount / top) * (plot_height - 8)
            base -= height
            segments.append({"agency": agency, "amount": amount, "y": round(base, 1), "height": round(max(height, 0.5), 1),
                             "css": f"agency-{agencies.index(agency) % 6}"})
        bars.append({"year": year, "x": round(x, 1), "width": round(width, 1), "segments": segments,
                     "label_x": round(x + width / 2, 1), "total": sum(by_year[year].values(), Decimal(0))})
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "bars": bars, "label_y": CHART_HEIGHT - 6,
            "legend": [{"agency": agency, "css": f"agency-{i % 6}"} for i, agency in enumerate(agencies)],
            "top": top, "show_every": max(1, len(years) // 12)}


def award_rows(awards, categories: dict, *, with_company: bool = False) -> list[dict]:
    """The rows of the awards table, every value ready to print: a template finds a dict's key at once,
    an object's attribute only after a failed key lookup, and its date filter is slow (together, half of
    a company page's time). URLs are reversed once, not once per tag."""
    names = {slug: category.name for slug, category in all_categories().items()}
    pattern = reverse("contracts:category", args=["SLUG"])
    return [{
        "url": award.url, "piid": award.piid, "recipient": award.recipient.name if award.recipient else "",
        "company": award.company.name if with_company and award.company else "",
        "agency": award.agency_label, "subtier_name": award.subtier_name, "obligated": dollars(award.obligated),
        "first": _day(award.first_action_date), "last": _day(award.last_action_date),
        "status": award.status, "status_label": award.status_label, "link": award.link_method_label,
        "tags": [(names.get(tag.category, tag.category), pattern.replace("SLUG", tag.category),
                  explanation_in_language(tag.explanation))
                 for tag in categories.get(award.award_key, [])],
    } for award in awards]


def _day(day) -> str:
    return day.isoformat() if day else "—"


def company(request, slug: str):
    found = get_object_or_404(Company, slug=slug)
    record = company_record(found, limit=COMPANY_AWARDS_SHOWN)
    rows = award_rows(record.awards, record.categories)
    return render(request, "contracts/company.html", {
        "company": found, "record": record, "rows": rows, "chart": chart(record.by_year),
        "all_categories": all_categories(),
    })


def company_csv(request, slug: str):
    found = get_object_or_404(Company, slug=slug)
    return csv_response(Award.objects.filter(company_id__in=descendants(found)).select_related("recipient")
                        .order_by("-first_action_date"), f"{found.slug}-contracts.csv")


def category(request, slug: str):
    found = all_categories().get(slug)
    if found is None:
        raise Http404(_("No such category."))
    tags = AwardCategory.objects.filter(category=slug)
    awards = Award.objects.filter(award_key__in=tags.values("award_id")).select_related("recipient", "company")
    page = Paginator(awards.order_by("-first_action_date", "award_key"), PER_PAGE).get_page(request.GET.get("page"))
    explanations = dict(tags.filter(award_id__in=[a.award_key for a in page.object_list]).values_list("award_id", "explanation"))
    return render(request, "contracts/category.html", {
        "category": found, "page": page, "total": awards.aggregate(total=Sum("obligated"))["total"],
        "rows": [(award, explanation_in_language(explanations.get(award.award_key, ""))) for award in page.object_list],
    })


def api_company_contracts(request, slug: str):
    found = Company.objects.filter(slug=slug).first()
    if found is None:
        return JsonResponse({"error": f"No company {slug!r} in the registry."}, status=404)
    fmt = request.GET.get("format", "json")
    if fmt not in ("json", "csv"):
        return JsonResponse({"error": "format must be json or csv"}, status=400)
    document = company_record(found).as_json()
    if fmt == "csv":
        stream = io.StringIO()
        write_csv(stream, document["awards"])
        return HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
    return JsonResponse(document, json_dumps_params={"indent": 2})


class AwardFeed(Feed):
    """New awards, newest load first (awards appear after the load that brought them)."""

    feed_type = Atom1Feed

    def item_title(self, award: Award) -> str:
        recipient = award.recipient.name if award.recipient else ""
        return f"{award.piid}: {recipient} ({agency_label(award.subtier_code, award.subtier_name)}), ${award.obligated:,.2f}"

    def item_description(self, award: Award) -> str:
        return award.description or ""

    def item_link(self, award: Award) -> str:
        return award.url

    def item_guid(self, award: Award) -> str:
        return award.url

    def item_pubdate(self, award: Award):
        return award.first_loaded_at

    def item_updateddate(self, award: Award):
        return award.updated_at


class CompanyFeed(AwardFeed):
    def get_object(self, request, slug: str):
        return get_object_or_404(Company, slug=slug)

    def title(self, company: Company) -> str:
        return _("New DHS awards: %(name)s") % {"name": company.name}

    def link(self, company: Company) -> str:
        return reverse("contracts:company", args=[company.slug])

    def subtitle(self, company: Company) -> str:
        return _("Awards to %(name)s and its subsidiaries, from USAspending.gov") % {"name": company.name}

    def items(self, company: Company):
        return (Award.objects.filter(company_id__in=descendants(company)).select_related("recipient")
                .order_by("-first_loaded_at", "-first_action_date")[:50])


class CategoryFeed(AwardFeed):
    def get_object(self, request, slug: str):
        found = all_categories().get(slug)
        if found is None:
            raise Http404(_("No such category."))
        return found

    def title(self, category) -> str:
        return _("New DHS awards: %(name)s") % {"name": category.name}

    def link(self, category) -> str:
        return reverse("contracts:category", args=[category.slug])

    def subtitle(self, category) -> str:
        return category.description

    def items(self, category):
        keys = AwardCategory.objects.filter(category=category.slug).values("award_id")
        return (Award.objects.filter(award_key__in=keys).select_related("recipient")
                .order_by("-first_loaded_at", "-first_action_date")[:50])
