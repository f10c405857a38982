from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from undersigned.companies.matching import registry_fingerprint
from undersigned.companies.models import Company
from undersigned.letters.queries import public_letter_or_404
from undersigned.lib.crossorigin import same_origin_only
from undersigned.lib.network import client_address
from undersigned.signatures import actions
from undersigned.signatures.forms import SignatureForm


def submission_from(form: SignatureForm) -> actions.Submission:
    data = form.cleaned_data
    return actions.Submission(
        name=data["name"], company=data["company"], role=data["role"], comment=data["comment"],
        show_name=data["visibility"] == "named", email=data["email"],
    )


def _company_suggestions() -> list[str]:
    names = set()
    for name, aliases in Company.objects.values_list("name", "aliases"):
        names.add(name)
        names.update(alias for alias in aliases or [] if len(alias) < 60)
    return sorted(names, key=str.lower)


_suggestions_html: tuple[str, str] | None = None


def _company_suggestions_html() -> str:
    """The company field's datalist options, rendered once per version of the registry: hundreds of
    options cost more to render than the rest of the signing page."""
    global _suggestions_html
    fingerprint = registry_fingerprint()
    if _suggestions_html is None or _suggestions_html[0] != fingerprint:
        options = format_html_join("", '<option value="{}"></option>', ((name,) for name in _company_suggestions()))
        _suggestions_html = (fingerprint, options)
    return _suggestions_html[1]


@never_cache
@same_origin_only
@require_http_methods(["GET", "HEAD", "POST"])
def sign(request, slug):
    letter = public_letter_or_404(slug, with_secret=request.method == "POST")
    if not letter.is_signable:
        return render(request, "signatures/closed.html", {"letter": letter, "text": letter.text()}, status=403)
    form = SignatureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.submit_signature(letter, submission_from(form), network_address=client_address(request))
        return redirect("signatures:check_email", slug=letter.slug)
    return render(request, "signatures/sign.html", {
        "letter": letter, "text": letter.text(), "form": form, "company_suggestions": _company_suggestions_html(),
    }, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "HEAD"])
def check_email(request, slug):
    letter = public_letter_or_404(slug)
    return render(request, "signatures/check_email.html", {"letter": letter, "text": letter.text()})


@never_cache
@same_origin_only
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    # Following the link shows a button; only pressing it confirms. Corporate mail gateways open
    # links to scan them, and that must not sign anybody's name.
    signature = actions.find_by_confirmation(token)
    if signature is None:
        return render(request, "signatures/link_invalid.html", status=404)
    letter = signature.letter
    withdraw_url = reverse("signatures:withdraw", args=[actions.withdrawal_token_for(token)])
    context = {"letter": letter, "text": letter.text(), "signature": signature, "token": token,
               "withdraw_url": withdraw_url}
    if signature.status == signature.Status.WITHDRAWN:
        return render(request, "signatures/withdrawn.html", context)
    if signature.status != signature.Status.PENDING:
        return render(request, "signatures/confirmed.html", context)
    if signature.confirmation_expired:
        return render(request, "signatures/confirm_expired.html", context, status=410)
    if not letter.is_signable:
        return render(request, "signatures/closed.html", context, status=403)
    if request.method == "POST":
        actions.confirm_signature(signature)
        return render(request, "signatures/confirmed.html", context)
    return render(request, "signatures/confirm.html", context)


@never_cache
@same_origin_only
@require_http_methods(["GET", "HEAD", "POST"])
def withdraw(request, token):
    signature = actions.find_by_withdrawal(token)
    if signature is None:
        raise Http404("No such signature.")
    context = {"letter": signature.letter, "text": signature.letter.text(), "signature": signature, "token": token}
    if signature.status not in signature.LIVE_STATUSES:
        return render(request, "signatures/withdrawn.html", context)
    if request.method == "POST":
        actions.withdraw_signature(signature, withdrawal_secret=token)  # for a verified one, the token is the secret
        return render(request, "signatures/withdrawn.html", context)
    return render(request, "signatures/withdraw.html", context)
