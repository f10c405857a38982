"""Checking what the log API says about one entry: the entry, its leaf index, the audit path and the
signed tree head it leads to (the answer of ``…/log/proof/inclusion``, and a receipt's ``log`` and
``key_log``), and whether an entry is the token key a signer holds.

Used by ``undersigned audit --receipt`` (is my signature in the log?) and by ``undersigned sign`` (is my
token's key in this letter's log, before I redeem the token?).
"""

from __future__ import annotations

from typing import Any

from undersigned.lib import blindrsa, merkle, treehead
from undersigned.lib.canonical import CanonicalJSONError, canonical_json

KEY_ENTRY_MEMBERS = frozenset({"kind", "key_id", "company", "variant", "spki", "batch"})


class InclusionError(ValueError):
    """The answer is malformed, belongs to another log, or its signature or proof does not verify."""


def is_letter_log(log_id: Any, letter_slug: str) -> bool:
    """Whether a tree head's ``log_id`` names this letter's log. One instance key signs the tree heads of
    every letter, so a proof from another letter's log would otherwise verify just as well. (A log keeps
    the name it was given, ``SITE_URL/letters/SLUG``, if the site later moves: only the end is checked.)"""
    return isinstance(log_id, str) and log_id.endswith(f"/letters/{letter_slug}")


def verify_inclusion_answer(answer: Any, log_key: bytes | str, letter_slug: str) -> treehead.SignedTreeHead:
    """The signed tree head of ``answer`` once it names ``letter_slug``'s log, its signature by
    ``log_key`` (the instance's Ed25519 key) verifies, and so does the inclusion proof of
    ``answer["entry"]`` at ``answer["leaf_index"]``.

    The leaf hash is computed here from the entry (RFC 8785 canonical JSON, RFC 9162 leaf hash): the
    answer's own ``leaf_hash``, if any, is not trusted.
    """
    try:
        if not isinstance(answer, dict):
            raise InclusionError("the answer is not a JSON object")
        entry, index, path = answer["entry"], answer["leaf_index"], answer["proof"]
        if not isinstance(entry, dict) or type(index) is not int or not isinstance(path, list):
            raise InclusionError("entry, leaf_index or proof has the wrong type")
        signed = treehead.SignedTreeHead.from_dict(answer["tree_head"])
        if not is_letter_log(signed.tree_head.log_id, letter_slug):
            raise InclusionError(f"the tree head is of another log ({str(signed.tree_head.log_id)[:80]!r}), "
                                 f"not of the letter {letter_slug!r}")
        treehead.verify_tree_head(log_key, signed)
        merkle.verify_inclusion(index, signed.tree_head.tree_size, merkle.leaf_hash(canonical_json(entry)),
                                [blindrsa.b64u_decode(h) for h in path], signed.tree_head.root_hash)
    except InclusionError:
        raise
    except KeyError as error:
        raise InclusionError(f"the answer has no {error.args[0]}") from None
    except (ValueError, TypeError, CanonicalJSONError, blindrsa.BlindRSAError) as error:  # TreeHeadError, ProofError …
        raise InclusionError(str(error)) from None
    return signed


def check_key_entry(entry: Any, *, company: str, key_id: str, message: bytes, signature: bytes) -> None:
    """InclusionError unless ``entry`` is a well-formed key entry (as ``undersigned audit`` reads them) of
    this company's key ``key_id``, whose SPKI is that key and verifies the token (``message``,
    ``signature``): the key the log holds is the key the token was made with."""
    if not isinstance(entry, dict) or entry.keys() != KEY_ENTRY_MEMBERS or entry.get("kind") != "key":
        raise InclusionError("the entry is not a key entry")
    if entry["company"] != company or entry["key_id"] != key_id:
        raise InclusionError(f"the entry is the key {str(entry['key_id'])[:16]}… of {entry['company']!r}, "
                             f"not the token's key {key_id[:16]}… of {company!r}")
    if entry["variant"] != blindrsa.RSABSSA_SHA384_PSS_RANDOMIZED.name:
        raise InclusionError("the entry's variant is not the token's")
    try:
        public_key = blindrsa.decode_public_key(entry["spki"])
    except (blindrsa.BlindRSAError, TypeError, ValueError):
        raise InclusionError("the entry's spki is not an RSA public key") from None
    if blindrsa.key_id(public_key) != key_id:
        raise InclusionError("the entry's key_id is not the SHA-256 of its spki")
    if not blindrsa.verify(public_key, message, signature):
        raise InclusionError("the token does not verify under the key in the log")
