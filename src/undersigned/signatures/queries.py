from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator

from undersigned.signatures.models import Signature


def public_signatures(letter) -> Paginator:
    """The public list: counted signatures (as the log counts them), in the log's order, paginated.

    The log's order, not the order of submission: a batch is shuffled when it is published, so that
    nobody can pair a name in the list with the moment someone visited the site.
    """
    signatures = (
        Signature.objects.filter(letter=letter, publication__removed=False)
        .select_related("company")
        .only("id", "kind", "company__name", "company__slug", "company_as_written", "name", "role", "comment",
              "show_name", "review")
        .order_by("publication__leaf_index")
    )
    return Paginator(signatures, settings.SIGNATURES_PER_PAGE)


def page_number(value: str | None) -> int:
    """The page asked for in ``?page=``; ValueError if it is not a positive whole number."""
    if value in (None, ""):
        return 1
    if not value.isdigit() or int(value) < 1 or len(value) > 9:
        raise ValueError(value)
    return int(value)


def signature_json(signature: Signature) -> dict:
    return {
        "name": signature.display_name,
        "role": signature.display_role or None,
        "company": signature.display_company,
        "company_slug": signature.company.slug if signature.company_id else None,
        "kind": signature.kind,
        "comment": signature.display_comment or None,
    }
