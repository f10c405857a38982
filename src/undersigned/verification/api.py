"""The JSON API of verified signing (documented in openapi.json beside this file).

    GET  /api/v1/letters/{slug}/keys            the letter's token keys (optionally for one email domain)
    POST /api/v1/letters/{slug}/verifications   {email, language?} → 202, the same answer for every address
    POST /api/v1/letters/{slug}/tokens          {email, code | invitation, key_id, blinded_msg} → blind signature
    POST /api/v1/letters/{slug}/signatures      {token: {key_id, message, signature}, name?, …} → 201 receipt
                                                (routed here by letters.api when the body has "token")
    POST /api/v1/letters/{slug}/withdrawals     {withdrawal_secret} → the signature is withdrawn

The API answers in English (its addresses have no language prefix). Every refusal also carries a stable
``error_code`` (ERROR_CODES below), so that a page in another language, such as the verify page's
script, shows its own translation of the refusal instead of the English ``error``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from undersigned.companies.matching import company_for_email
from undersigned.letters.api import _letter, api_view
from undersigned.lib import blindrsa
from undersigned.lib.api import ApiError, cacheable, read_json_object
from undersigned.lib.network import client_address
from undersigned.verification import actions
from undersigned.verification.models import TokenKey

VARIANT = blindrsa.RSABSSA_SHA384_PSS_RANDOMIZED.name
CODE_SENT = {
    "status": "code_requested",
    "message": "If this address can be verified (an address at a company in the registry, not free mail), "
               "a code is on its way. It works for 15 minutes.",
}


def key_json(key: TokenKey) -> dict:
    return {
        "key_id": key.key_id,
        "company": key.company.slug,
        "company_name": key.company.name,
        "variant": VARIANT,
        "public_key": key.public_key,
        "created_on": key.created_on.isoformat(),
        "signs_tokens": key.is_live,
        # Where the log holds this key: a client checks that entry (and its proof) before redeeming a token.
        "log_index": key.publication.leaf_index if hasattr(key, "publication") else None,
    }


# --- refusals and their codes ----------------------------------------------------------------------

# The stable codes of refusals (documented in openapi.json, schema VerificationRefusal). Clients match on
# these, never on the English text, which may change.
ERROR_CODES = {
    "bad_request": "The request is malformed: not JSON, unknown fields, wrong types or encodings.",
    "letter_not_found": "No public letter has this slug.",
    "letter_closed": "The letter is not open for signatures.",
    "invalid_language": "language is not one of the site's languages.",
    "invalid_email": "email is not an email address.",
    "too_many_codes": "Too many codes were asked for from this network today.",
    "wrong_code": "The code is wrong, expired, used up, or was never sent to this address.",
    "already_issued": "This address already received its token for this letter.",
    "invitation_invalid": "The invitation code is wrong, used or expired.",
    "wrong_key": "key_id is not a key of this letter, or not the key of the address's (or invitation's) company.",
    "key_retired": "The key no longer signs tokens.",
    "name_required": "show_name is true but name is empty.",
    "field_too_long": "name, role or comment is longer than its limit.",
    "field_invalid": "name, role or comment is not text, or contains invisible control characters.",
    "token_invalid": "The token is not a valid token of this letter (format, letter or signature).",
    "token_used": "The token has already been used.",
    "withdrawal_secret_invalid": "The withdrawal secret is not 43 base64url characters.",
    "signature_not_found": "No signature of this letter has a token with this withdrawal secret.",
    "refused": "Another refusal: see error.",
}

# Refusals without a code of their own (the API's checks of the request, letters.api's), by status.
CODES_BY_STATUS = {400: "bad_request", 404: "letter_not_found", 413: "bad_request", 415: "bad_request"}


def _refusal(error: actions.VerificationError) -> ApiError:
    """The API's answer to a refusal: its code, and its message in English, whatever language was active
    when it was made (the code request queues its email in the signer's language)."""
    return ApiError(error.status, error.message_in("en"), error_code=error.code)


def _fields(data: dict, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApiError(400, f"Unknown field(s): {', '.join(unknown)}.")


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except actions.VerificationError as error:
        raise _refusal(error) from None


def coded(view):
    """Give every refusal of ``view`` an error_code (those of actions.py have theirs already)."""
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApiError as error:
            if "error_code" not in error.details:
                error.details["error_code"] = CODES_BY_STATUS.get(error.status, "refused")
            raise
    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _language(data: dict) -> str | None:
    language = data.get("language")
    if language is not None and (not isinstance(language, str) or language not in dict(settings.LANGUAGES)):
        raise ApiError(400, f"language must be one of: {', '.join(dict(settings.LANGUAGES))}.", error_code="invalid_language")
    return language


@require_safe
@api_view
@coded
def letter_keys(request, slug):
    letter = _letter(slug)
    keys = TokenKey.objects.filter(letter=letter).select_related("company", "publication").order_by("company__slug", "created_on", "key_id")
    domain = request.GET.get("domain")
    if domain is not None:
        company = company_for_email(f"x@{domain}") if len(domain) <= 253 else None
        keys = keys.filter(company=company, destroyed_on__isnull=True) if company else keys.none()
    company_slug = request.GET.get("company")
    if company_slug is not None:
        keys = keys.filter(company__slug=company_slug, destroyed_on__isnull=True)
    return cacheable(JsonResponse({"letter": letter.slug, "variant": VARIANT, "keys": [key_json(k) for k in keys]}), 2)


@csrf_exempt  # JSON only, no cookie
@require_POST
@api_view
@coded
def verifications(request, slug):
    letter = _letter(slug)
    data = read_json_object(request)
    _fields(data, {"email", "language"})
    # The email is rendered in the language active when it is queued: the signer's, if they said.
    language = _language(data) or settings.LANGUAGE_CODE
    with translation.override(language):
        _call(actions.request_code, letter, data.get("email"), network_address=client_address(request))
    return JsonResponse(CODE_SENT, status=202)


@csrf_exempt
@require_POST
@api_view
@coded
def tokens(request, slug):
    letter = _letter(slug)
    data = read_json_object(request)
    _fields(data, {"email", "code", "invitation", "key_id", "blinded_msg"})
    if "invitation" in data:
        if "email" in data or "code" in data:
            raise ApiError(400, "Send either an invitation or an email and its code, not both.")
        issued = _call(actions.issue_token_for_invitation, letter, invitation=data["invitation"],
                       key_id=data.get("key_id"), blinded_msg=data.get("blinded_msg"))
    else:
        if "email" not in data or "code" not in data:
            raise ApiError(400, "Send email and code (or invitation), key_id and blinded_msg.")
        issued = _call(actions.issue_token_for_code, letter, address=data["email"], code=data["code"],
                       key_id=data.get("key_id"), blinded_msg=data.get("blinded_msg"))
    return JsonResponse({"key_id": issued.key.key_id, "variant": VARIANT,
                         "blind_signature": blindrsa.b64u_encode(issued.blind_signature)})


def receipt_for(letter, signature) -> dict:
    """What the server returns for a new verified signature (the client adds its withdrawal secret)."""
    from undersigned.ledger.api import receipt_proof

    return {
        "type": "undersigned-receipt",
        "version": 1,
        "site": settings.SITE_URL,
        "letter": letter.slug,
        "company": signature.company.slug,
        "key_id": signature.token_key.key_id,
        "message": blindrsa.b64u_encode(bytes(signature.token_message)),
        "signature": blindrsa.b64u_encode(bytes(signature.token_signature)),
        "status": signature.status,
        "confirmed_on": signature.confirmed_on.isoformat(),
        "withdraw": settings.SITE_URL + reverse("api-letter-withdrawals", args=[letter.slug]),
        # The transparency log's inclusion proof (ledger/api.py), or null until the next publication.
        "log": receipt_proof(letter, signature),
    }


@coded
def redeem(request, letter, data: dict):
    """POST /letters/{slug}/signatures with a token (called by letters.api)."""
    _fields(data, {"token", "name", "role", "comment", "show_name"})
    token = data.get("token")
    if not isinstance(token, dict):
        raise ApiError(400, "token must be an object with key_id, message and signature.")
    _fields(token, {"key_id", "message", "signature"})
    display = _call(actions.Display.from_data, data)
    signature = _call(actions.redeem_token, letter, key_id=token.get("key_id"), message=token.get("message"),
                      signature=token.get("signature"), display=display)
    return JsonResponse(receipt_for(letter, signature), status=201)


@csrf_exempt
@require_POST
@api_view
@coded
def withdrawals(request, slug):
    letter = _letter(slug)
    data = read_json_object(request)
    _fields(data, {"withdrawal_secret", "message", "key_id", "signature"})
    signature = _call(actions.withdraw_token, letter, data.get("withdrawal_secret"))
    return JsonResponse({"status": "withdrawn", "letter": letter.slug, "company": signature.company.slug})
