"""The public log API: entries, signed tree heads, proofs, the instance key and the export.

Documented in ``openapi.json`` beside this file. Everything here is public and computed from the log
tables only; nothing in it refers to a person. Proofs are built from stored subtree hashes
(``subtrees.py``): O(log n) rows read per proof, whatever the log's size.
"""

from __future__ import annotations

import logging

from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_safe

from undersigned.ledger import subtrees
from undersigned.ledger.export import export_lines, gzip_chunks, public_key_json, tree_head_json
from undersigned.ledger.models import LogEntry, PublishedSignature, TreeHeadRecord
from undersigned.ledger.publish import letter_log, publish_pending
from undersigned.letters.api import _letter, api_view
from undersigned.lib.api import ApiError, cacheable
from undersigned.lib.blindrsa import BlindRSAError, b64u_decode, b64u_encode
from undersigned.lib.canonical import parse_json
from undersigned.lib.queries import one_or_none

log = logging.getLogger("undersigned.ledger")

MAX_RANGE = 1000


def _int(request, name: str, default: int | None = None) -> int:
    value = request.GET.get(name)
    if value in (None, ""):
        if default is None:
            raise ApiError(400, f"{name} is required (a whole number).")
        return default
    if not value.isdigit() or len(value) > 15:
        raise ApiError(400, f"{name} must be a whole number, not {value[:20]!r}.")
    return int(value)


def _state(slug):
    letter = _letter(slug)
    state = letter_log(letter)
    if not TreeHeadRecord.objects.filter(log=state).exists():
        publish_pending(letter)
    latest = TreeHeadRecord.objects.filter(log=state).order_by("-tree_size").first()
    return letter, state, latest


def _unavailable(error: subtrees.MissingSubtrees) -> ApiError:
    log.warning("proof unavailable until the next publication: %s", error)
    return ApiError(503, "This proof cannot be built until the next publication; try again in a few minutes.")


@require_safe
@api_view
def log_summary(request, slug):
    letter, state, latest = _state(slug)
    base = request.build_absolute_uri(f"/api/v1/letters/{letter.slug}/log")
    return cacheable(JsonResponse({
        "letter": letter.slug,
        "log_id": state.identifier,
        "tree_size": latest.tree_size,
        "tree_head": tree_head_json(latest, state),
        "entries": f"{base}/entries",
        "export": f"{base}/export.jsonl.gz",
        "key": request.build_absolute_uri("/api/v1/log/key"),
    }))


@require_safe
@api_view
def entries(request, slug):
    letter, state, latest = _state(slug)
    size = latest.tree_size
    start = _int(request, "start", 0)
    end = _int(request, "end", min(size, start + MAX_RANGE))
    if start > end:
        raise ApiError(400, f"start ({start}) is after end ({end}).")
    if end > size:
        raise ApiError(400, f"end ({end}) is past the log's signed size ({size}).")
    if end - start > MAX_RANGE:
        raise ApiError(400, f"at most {MAX_RANGE} entries at a time.")
    rows = LogEntry.objects.filter(log=state, index__gte=start, index__lt=end).order_by("index")
    return cacheable(JsonResponse({
        "start": start, "end": end, "tree_size": size,
        "entries": [{"index": index, "leaf_hash": b64u_encode(bytes(leaf)), "entry": parse_json(bytes(data))}
                    for index, leaf, data in rows.values_list("index", "leaf_hash", "data")],
    }))


@require_safe
@api_view
def tree_head(request, slug):
    letter, state, latest = _state(slug)
    if "size" in request.GET:
        size = _int(request, "size")
        record = TreeHeadRecord.objects.filter(log=state, tree_size=size).first()
        if record is None:
            raise ApiError(404, f"No tree head of size {size} was signed.")
        return cacheable(JsonResponse(tree_head_json(record, state)), 3600)
    return cacheable(JsonResponse(tree_head_json(latest, state)))


@require_safe
@api_view
def tree_heads(request, slug):
    letter, state, latest = _state(slug)
    start = _int(request, "start", 0)
    records = TreeHeadRecord.objects.filter(log=state, tree_size__gte=start).order_by("tree_size")[:MAX_RANGE]
    return cacheable(JsonResponse({"tree_heads": [tree_head_json(r, state) for r in records]}))


@require_safe
@api_view
def inclusion(request, slug):
    """The inclusion proof of a leaf (by index, leaf hash or token message) in the latest or a given tree."""
    letter, state, latest = _state(slug)
    record = latest
    if "tree_size" in request.GET:
        record = TreeHeadRecord.objects.filter(log=state, tree_size=_int(request, "tree_size")).first()
        if record is None:
            raise ApiError(404, "No tree head of this size was signed.")
    given = [name for name in ("index", "leaf_hash", "message") if request.GET.get(name)]
    if len(given) != 1:
        raise ApiError(400, "Give exactly one of index, leaf_hash (base64url) or message (base64url token message).")
    if given[0] == "index":
        entry = LogEntry.objects.filter(log=state, index=_int(request, "index")).first()
    else:
        try:
            value = b64u_decode(request.GET[given[0]])
        except BlindRSAError:
            raise ApiError(400, f"{given[0]} is not base64url.") from None
        if given[0] == "leaf_hash":
            entry = LogEntry.objects.filter(log=state, leaf_hash=value).first()
        else:
            published = PublishedSignature.objects.filter(letter=letter, signature__token_message=value).first()
            entry = published and LogEntry.objects.filter(log=state, index=published.leaf_index).first()
    if entry is None:
        raise ApiError(404, "This entry is not in the log (yet: entries are published in batches).")
    if entry.index >= record.tree_size:
        raise ApiError(404, "This entry is not covered by that tree head yet; ask again after the next publication.")
    try:
        proof = subtrees.inclusion_proof(state.pk, entry.index, record.tree_size)
    except subtrees.MissingSubtrees as error:
        raise _unavailable(error) from None
    return JsonResponse({**inclusion_of(entry, proof, record, state), "tree_size": record.tree_size,
                         "leaf_hash": b64u_encode(bytes(entry.leaf_hash))})


@require_safe
@api_view
def consistency(request, slug):
    letter, state, latest = _state(slug)
    first = _int(request, "first")
    second = _int(request, "second", latest.tree_size)
    if not 0 < first <= second:
        raise ApiError(400, "Need 0 < first ≤ second.")
    records = {r.tree_size: r for r in TreeHeadRecord.objects.filter(log=state, tree_size__in=[first, second])}
    if second not in records:
        raise ApiError(404, f"No tree head of size {second} was signed.")
    try:
        proof = subtrees.consistency_proof(state.pk, first, second)
    except subtrees.MissingSubtrees as error:
        raise _unavailable(error) from None
    return JsonResponse({
        "first": first, "second": second, "proof": [b64u_encode(h) for h in proof],
        "second_tree_head": tree_head_json(records[second], state),
    })


@require_safe
@api_view
def instance_key(request):
    return cacheable(JsonResponse(public_key_json()), 300)


@require_safe
@api_view
def export(request, slug):
    letter, state, latest = _state(slug)
    response = StreamingHttpResponse(gzip_chunks(export_lines(letter)), content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="{letter.slug}.log.jsonl.gz"'
    response["Cache-Control"] = "public, max-age=30"
    return response


def receipt_proof(letter, signature) -> dict | None:
    """What a verified signer's receipt carries about the log (None until the signature is published)."""
    published = one_or_none(PublishedSignature.objects.filter(signature=signature))
    if published is None:  # the usual case for a new signature: it enters the log with the next batch
        return None
    state = letter_log(letter)
    latest = TreeHeadRecord.objects.filter(log=state).order_by("-tree_size").first()
    if latest is None or published.leaf_index >= latest.tree_size:
        return None
    entry = LogEntry.objects.get(log=state, index=published.leaf_index)
    try:
        proof = subtrees.inclusion_proof(state.pk, entry.index, latest.tree_size)
    except subtrees.MissingSubtrees as error:  # the receipt is still given; the proof comes with a later check
        log.warning("receipt without its proof until the next publication: %s", error)
        return None
    return inclusion_of(entry, proof, latest, state)


def inclusion_of(entry: LogEntry, proof: list[bytes], record: TreeHeadRecord, state) -> dict:
    """An entry's inclusion proof against a signed tree head, as a receipt's ``log`` holds it."""
    return {
        "leaf_index": entry.index,
        "entry": parse_json(bytes(entry.data)),
        "proof": [b64u_encode(h) for h in proof],
        "tree_head": tree_head_json(record, state),
    }

