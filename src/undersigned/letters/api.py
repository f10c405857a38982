"""The public JSON API for letters and their signatures (documented in openapi.json beside this file)."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import EmptyPage
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from undersigned.letters.queries import public_letter_or_404, public_letters
from undersigned.lib.api import ApiError, cacheable, read_json_object
from undersigned.lib.network import client_address
from undersigned.signatures import actions
from undersigned.signatures.counts import letter_counts
from undersigned.signatures.forms import SignatureForm
from undersigned.signatures.queries import page_number, public_signatures, signature_json
from undersigned.signatures.views import submission_from


def letter_json(request, letter) -> dict:
    text = letter.text(request.GET.get("language") or letter.language)
    return {
        "slug": letter.slug,
        "title": text.title,
        "summary": text.summary,
        "language": text.language,
        "languages": letter.languages,
        "status": letter.status,
        "opens_at": letter.opens_at,
        "closes_at": letter.closes_at,
        "body_html": text.body_html,
        "demands_html": text.demands_html,
        "addressees_html": text.addressees_html,
        "url": request.build_absolute_uri(reverse("letters:detail", args=[letter.slug])),
        "counts": letter_counts(letter).as_json(),
    }


def _letter(slug, *, with_secret: bool = False):
    try:
        return public_letter_or_404(slug, with_secret=with_secret)
    except Http404:
        raise ApiError(404, f"There is no public letter '{slug}'.") from None


def api_view(view):
    """Turn ApiError into a JSON error response; answers to writes are never stored by a cache.

    (A write's answer can carry a secret: a blind signature, a receipt with its withdrawal secret.)
    """
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except ApiError as error:
            response = error.response()
        if request.method not in ("GET", "HEAD") and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@require_safe
@api_view
def letters(request):
    return cacheable(JsonResponse({"letters": [letter_json(request, letter) for letter in public_letters()]}))


@require_safe
@api_view
def letter(request, slug):
    return cacheable(JsonResponse(letter_json(request, _letter(slug))))


@csrf_exempt  # JSON only (a cross-site form cannot send application/json), and no cookie is used
@require_http_methods(["GET", "HEAD", "POST"])
@api_view
def signatures(request, slug):
    letter = _letter(slug, with_secret=request.method == "POST")
    if request.method == "POST":
        return _sign(request, letter)
    try:
        number = page_number(request.GET.get("page"))
    except ValueError:
        raise ApiError(400, "page must be a positive whole number.") from None
    paginator = public_signatures(letter)
    try:
        page = paginator.page(number)
    except EmptyPage:
        raise ApiError(404, f"There is no page {number}; the last page is {paginator.num_pages}.") from None
    return cacheable(JsonResponse({
        "page": page.number,
        "pages": paginator.num_pages,
        "count": paginator.count,
        "signatures": [signature_json(signature) for signature in page.object_list],
    }))


def _sign(request, letter):
    data = read_json_object(request)
    if "token" in data:  # a verified signature from a blind-signed token
        from undersigned.verification.api import redeem

        return redeem(request, letter, data)
    unknown = sorted(set(data) - {"name", "company", "role", "comment", "show_name", "email", "language"})
    if unknown:
        raise ApiError(400, f"Unknown field(s): {', '.join(unknown)}.")
    if not isinstance(data.get("show_name", False), bool):
        raise ApiError(400, "show_name must be true or false.")
    language = data.pop("language", "en")
    if language not in dict(settings.LANGUAGES):
        raise ApiError(400, f"language must be one of: {', '.join(dict(settings.LANGUAGES))}.")
    fields = {key: value for key, value in data.items() if key != "show_name"}
    if any(not isinstance(value, str) for value in fields.values()):
        raise ApiError(400, "name, company, role, comment and email must be strings.")
    form = SignatureForm({**fields, "visibility": "named" if data.get("show_name") else "anonymous"})
    if not form.is_valid():
        errors = {field: [error["message"] for error in errors] for field, errors in form.errors.get_json_data().items()}
        raise ApiError(400, "Some fields are not valid.", fields=errors)
    if not letter.is_signable:
        raise ApiError(409, f"The letter '{letter.slug}' is {letter.status} and does not take signatures.")
    with translation.override(language):  # the confirmation email's language
        actions.submit_signature(letter, submission_from(form), network_address=client_address(request))
    return JsonResponse(
        {"status": "pending_confirmation",
         "message": "If the address can receive mail, a confirmation link is on its way. The signature counts once it is followed."},
        status=202,
    )
