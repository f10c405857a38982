"""Pages: "How to check these numbers" and "Check my receipt" (server-rendered, no script needed)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from undersigned.ledger import subtrees
from undersigned.ledger.api import inclusion_of
from undersigned.ledger.export import public_key_json
from undersigned.ledger.models import LogEntry, PublishedSignature, TreeHeadRecord
from undersigned.ledger.publish import letter_log, publish_pending
from undersigned.letters.queries import public_letter_or_404
from undersigned.lib import merkle
from undersigned.lib.crossorigin import same_origin_only
from undersigned.lib.blindrsa import BlindRSAError, b64u_decode, b64u_encode

log = logging.getLogger("undersigned.ledger")


def _latest(letter):
    state = letter_log(letter)
    if not TreeHeadRecord.objects.filter(log=state).exists():
        publish_pending(letter)
    return state, TreeHeadRecord.objects.filter(log=state).order_by("-tree_size").first()


@require_safe
def how_to_check(request, slug):
    letter = public_letter_or_404(slug)
    _state, latest = _latest(letter)
    page_url = f"{settings.SITE_URL}/letters/{letter.slug}/"
    return render(request, "ledger/how_to_check.html", {
        "letter": letter, "text": letter.text(), "latest": latest, "root_hash": b64u_encode(bytes(latest.root_hash)),
        "key": public_key_json(), "page_url": page_url,
        "export_url": reverse("api-letter-log-export", args=[letter.slug]),
        "interval_minutes": max(1, settings.PUBLICATION_INTERVAL // 60),
    })


@never_cache  # it shows the pasted receipt, withdrawal secret included
@same_origin_only
@require_http_methods(["GET", "HEAD", "POST"])
def check_receipt(request, slug):
    """Paste a receipt: the page finds its entry and checks the inclusion proof against the latest head."""
    from undersigned.verification.protocol import read_receipt, receipt_text

    letter = public_letter_or_404(slug)
    state, latest = _latest(letter)
    context = {"letter": letter, "text": letter.text(), "latest": latest}
    if request.method == "POST":
        text = request.POST.get("receipt", "")[:20000]
        context["receipt_text"] = text
        try:
            receipt = read_receipt(text)
            message = b64u_decode(receipt["message"])
        except (ValueError, KeyError, TypeError, BlindRSAError):
            context["error"] = "unreadable"
            return render(request, "ledger/check_receipt.html", context, status=400)
        published = PublishedSignature.objects.filter(letter=letter, signature__token_message=message).first()
        proof = None
        if published is not None and published.leaf_index < latest.tree_size:
            try:
                proof = subtrees.inclusion_proof(state.pk, published.leaf_index, latest.tree_size)
            except subtrees.MissingSubtrees as error:  # refilled by the next publication (subtrees.py)
                log.warning("receipt check without a proof until the next publication: %s", error)
        if published is not None and proof is None and published.leaf_index < latest.tree_size:
            # In the log, but a subtree hash the proof needs is not stored yet (see subtrees.py).
            context["result"] = "unavailable"
            return render(request, "ledger/check_receipt.html", context, status=503)
        if proof is None:
            context["result"] = "not_yet"
        else:
            entry = LogEntry.objects.get(log=state, index=published.leaf_index)
            merkle.verify_inclusion(entry.index, latest.tree_size, bytes(entry.leaf_hash), proof, bytes(latest.root_hash))
            context.update({
                "result": "withdrawn" if published.removed else "included", "leaf_index": entry.index,
                "proof": [b64u_encode(h) for h in proof], "root_hash": b64u_encode(bytes(latest.root_hash)),
            })
            if not receipt.get("log"):
                # Made before its batch was published: offer the receipt with its proof, which then
                # proves inclusion by itself (as `undersigned audit --receipt` saves it).
                context["completed_receipt"] = receipt_text({**receipt, "log": inclusion_of(entry, proof, latest, state)})
    return render(request, "ledger/check_receipt.html", context)
