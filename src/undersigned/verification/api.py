"""The JSON API of verified signing (documented in openapi.json beside this file).

    GET  /api/v1/letters/{slug}/keys            the letter's token keys (optionally for one email domain)
    POST /api/v1/letters/{slug}/verifications   {email} → 202, the same answer for every address
    POST /api/v1/letters/{slug}/tokens          {email, code | invitation, key_id, blinded_msg} → blind signature
    POST /api/v1/letters/{slug}/signatures      {token: {key_id, message, signature}, name?, …} → 201 receipt
                                                (routed here by letters.api when the body has "token")
    POST /api/v1/letters/{slug}/withdrawals     {withdrawal_secret} → the signature is withdrawn
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
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
    }


def _fields(data: dict, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApiError(400, f"Unknown field(s): {', '.join(unknown)}.")


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except actions.VerificationError as error:
        raise ApiError(error.status, error.message) from None


@require_safe
@api_view
def letter_keys(request, slug):
    letter = _letter(slug)
    keys = TokenKey.objects.filter(letter=letter).select_related("company").order_by("company__slug", "created_on", "key_id")
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
def verifications(request, slug):
    letter = _letter(slug)
    data = read_json_object(request)
    _fields(data, {"email"})
    _call(actions.request_code, letter, data.get("email"), network_address=client_address(request))
    return JsonResponse(CODE_SENT, status=202)


@csrf_exempt
@require_POST
@api_view
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
def withdrawals(request, slug):
    letter = _letter(slug)
    data = read_json_object(request)
    _fields(data, {"withdrawal_secret", "message", "key_id", "signature"})
    signature = _call(actions.withdraw_token, letter, data.get("withdrawal_secret"))
    return JsonResponse({"status": "withdrawn", "letter": letter.slug, "company": signature.company.slug})
