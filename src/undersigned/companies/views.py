"""The public JSON API of the company registry: ``GET /api/v1/companies`` and ``/companies/{slug}``."""

from __future__ import annotations

import hashlib
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response

from undersigned.companies.matching import clean_company_name, registry_key_index
from undersigned.companies.models import Company

CACHE_CONTROL = "public, max-age=10"
MAX_QUERY_LENGTH = 200


def _companies():
    return list(Company.objects.select_related("parent").prefetch_related("domains").order_by("name", "slug"))


def _row(company: Company, parents: dict[int, int | None], slugs: dict[int, str]) -> dict:
    root, seen = company.pk, {company.pk}
    while parents.get(root) is not None and parents[root] not in seen:
        root = parents[root]
        seen.add(root)
    return {
        "slug": company.slug,
        "name": company.name,
        "parent": company.parent.slug if company.parent_id else None,
        "root": slugs[root],
        "domains": [d.domain for d in company.domains.all()],
        "aliases": [a for a in company.aliases or [] if isinstance(a, str)],
        "website": company.website or None,
    }


def registry_rows(q: str | None = None) -> list[dict]:
    """The registry as the API serves it, optionally only the companies matching ``q``.

    ``q`` matches a company when its cleaned form is part of the company's cleaned name, slug or an
    alias (``"pen link"`` finds Penlink), or when it is part of one of its email domains.
    """
    companies = _companies()
    parents = {c.pk: c.parent_id for c in companies}
    slugs = {c.pk: c.slug for c in companies}
    if q:
        key, text = clean_company_name(q), q.strip().lower()
        named = {pk for k, pk in registry_key_index().items() if key and key in k}
        companies = [c for c in companies if c.pk in named or any(text in d.domain for d in c.domains.all())]
    return [_row(c, parents, slugs) for c in companies]


def _error(message: str, status: int, **headers) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _cacheable(request: HttpRequest, data: dict) -> HttpResponse:
    content = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    etag = '"' + hashlib.sha256(content.encode()).hexdigest()[:32] + '"'
    response = HttpResponse(content, content_type="application/json")
    response["Cache-Control"] = CACHE_CONTROL
    response["ETag"] = etag
    return get_conditional_response(request, etag=etag, response=response)


def company_list(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _error("Only GET is allowed here.", 405, Allow="GET, HEAD")
    q = request.GET.get("q", "")
    if len(q) > MAX_QUERY_LENGTH:
        return _error(f"q is longer than {MAX_QUERY_LENGTH} characters.", 400)
    rows = registry_rows(q.strip() or None)
    return _cacheable(request, {"count": len(rows), "companies": rows})


def company_detail(request: HttpRequest, slug: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _error("Only GET is allowed here.", 405, Allow="GET, HEAD")
    companies = _companies()
    parents = {c.pk: c.parent_id for c in companies}
    slugs = {c.pk: c.slug for c in companies}
    company = next((c for c in companies if c.slug == slug), None)
    if company is None:
        return _error("No company with this slug.", 404)
    data = _row(company, parents, slugs)
    data["description"] = company.description or None
    data["subsidiaries"] = [c.slug for c in companies if c.parent_id == company.pk]
    return _cacheable(request, data)
