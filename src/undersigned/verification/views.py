"""The verified signing pages. They work without JavaScript; static/js/verify.js upgrades them so
that the browser blinds the token (the server then never sees it before it is redeemed).

Without JavaScript (or without WebCrypto, outside a secure context) the server performs the client's
side of RFC 9474 itself in one request, and forgets the token when the page is sent: a weaker promise,
said on the page.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from undersigned.companies.matching import company_for_email
from undersigned.companies.models import Company
from undersigned.letters.queries import public_letter_or_404
from undersigned.lib import blindrsa
from undersigned.lib.crossorigin import same_origin_only
from undersigned.lib.network import client_address
from undersigned.verification import actions, protocol
from undersigned.verification.api import VARIANT, receipt_for
from undersigned.verification.models import TokenKey


def _context(letter, **extra) -> dict:
    return {"letter": letter, "text": letter.text(), "variant": VARIANT, **extra}


def _error(request, template, letter, error: actions.VerificationError, **extra):
    return render(request, template, _context(letter, error=error.message, **extra), status=error.status)


@never_cache
@require_http_methods(["GET", "HEAD"])
def verify(request, slug):
    letter = public_letter_or_404(slug)
    return render(request, "verification/verify.html", _context(letter), status=200 if letter.is_signable else 403)


@never_cache
@same_origin_only
@require_POST
def request_code(request, slug):
    letter = public_letter_or_404(slug)
    email = request.POST.get("email", "")
    try:
        actions.request_code(letter, email, network_address=client_address(request))
    except actions.VerificationError as error:
        return _error(request, "verification/verify.html", letter, error, email=email)
    return render(request, "verification/code.html", _context(letter, email=email.strip()))


def _server_side_token(letter, *, email: str, code: str, invitation: str) -> dict:
    """The weaker fallback: the server plays the client's part, returns the receipt and keeps nothing."""
    if invitation:
        slug = actions.company_slug_of_invitation(invitation)
        company = Company.objects.filter(slug=slug).first()
    else:
        actions.check_address(email)
        company = company_for_email(email)
    key = TokenKey.objects.filter(letter=letter, company=company, destroyed_on__isnull=True).first() if company else None
    if key is None:
        if invitation:
            raise actions.VerificationError(400, "invitation_invalid", actions.INVITATION_INVALID)
        raise actions.VerificationError(400, "wrong_code", actions.WRONG_CODE)
    public = blindrsa.decode_public_key(key.public_key)
    secret = protocol.new_withdrawal_secret()
    prepared = blindrsa.prepare(protocol.token_message(letter.slug, secret))
    blinded, inv = blindrsa.blind(public, prepared)
    if invitation:
        issued = actions.issue_token_for_invitation(letter, invitation=invitation, key_id=key.key_id,
                                                    blinded_msg=blindrsa.b64u_encode(blinded))
    else:
        issued = actions.issue_token_for_code(letter, address=email, code=code, key_id=key.key_id,
                                              blinded_msg=blindrsa.b64u_encode(blinded))
    signature = blindrsa.finalize(public, prepared, issued.blind_signature, inv)
    return protocol.make_receipt(
        site=settings.SITE_URL, letter=letter.slug, company=key.company.slug, key_id=key.key_id,
        message=blindrsa.b64u_encode(prepared), signature=blindrsa.b64u_encode(signature), withdrawal_secret=secret,
    )


@never_cache
@same_origin_only
@require_POST
def get_token(request, slug):
    letter = public_letter_or_404(slug)
    email = request.POST.get("email", "").strip()
    code = request.POST.get("code", "")
    invitation = request.POST.get("invitation", "").strip()
    try:
        if not invitation and not code:
            raise actions.VerificationError(400, "wrong_code", actions.WRONG_CODE)
        receipt = _server_side_token(letter, email=email, code=code, invitation=invitation)
    except actions.VerificationError as error:
        template = "verification/verify.html" if invitation else "verification/code.html"
        return _error(request, template, letter, error, email=email)
    return render(request, "verification/token.html", _context(
        letter, receipt_text=protocol.receipt_text(receipt), company=Company.objects.get(slug=receipt["company"]),
        server_side=True,
    ))


def _receipt_for_letter(letter, text: str) -> dict:
    """The pasted receipt, read; VerificationError if it is not one, or is for another letter."""
    try:
        receipt = protocol.read_receipt(text)
    except protocol.BadToken:
        # The parser's own words are for programs (it runs without Django too); a person gets these.
        raise actions.VerificationError(
            400, "token_invalid", _("This is not a complete receipt: paste the whole text, starting with “undersigned-receipt:v1:”.")
        ) from None
    if receipt["letter"] != letter.slug:
        raise actions.VerificationError(400, "token_invalid", _("This receipt is for another letter."))
    return receipt


def _display_from_post(post) -> actions.Display:
    return actions.Display.from_data({
        "name": post.get("name", ""), "role": post.get("role", ""), "comment": post.get("comment", ""),
        "show_name": post.get("visibility") == "named",
    })


@never_cache
@same_origin_only
@require_http_methods(["GET", "HEAD", "POST"])
def submit(request, slug):
    """Submit a token: from the token page, or by pasting a receipt saved earlier (e.g. in Tor Browser)."""
    letter = public_letter_or_404(slug)
    if request.method != "POST":
        return render(request, "verification/submit.html", _context(letter))
    text = request.POST.get("receipt", "")
    try:
        receipt = _receipt_for_letter(letter, text)
        signature = actions.redeem_token(letter, key_id=receipt["key_id"], message=receipt["message"],
                                         signature=receipt["signature"], display=_display_from_post(request.POST))
    except actions.VerificationError as error:
        return _error(request, "verification/submit.html", letter, error, receipt_text=text)
    final = {**receipt_for(letter, signature), "withdrawal_secret": receipt.get("withdrawal_secret")}
    return render(request, "verification/signed.html", _context(
        letter, signature=signature, receipt_text=protocol.receipt_text({k: v for k, v in final.items() if v is not None}),
    ), status=201)


@never_cache
@same_origin_only
@require_http_methods(["GET", "HEAD", "POST"])
def withdraw(request, slug):
    letter = public_letter_or_404(slug)
    if request.method != "POST":
        return render(request, "verification/withdraw.html", _context(letter))
    text = request.POST.get("receipt", "")
    try:
        receipt = _receipt_for_letter(letter, text)
        actions.withdraw_token(letter, receipt.get("withdrawal_secret"))
    except actions.VerificationError as error:
        return _error(request, "verification/withdraw.html", letter, error, receipt_text=text)
    return render(request, "verification/withdrawn.html", _context(letter))
