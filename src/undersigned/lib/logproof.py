"""Checking what the log API says about one entry: the entry, its leaf index, the audit path and the
signed tree head it leads to (the answer of ``…/log/proof/inclusion``, and a receipt's ``log``).

One function, used by ``undersigned audit --receipt`` (is my signature in the log?) and by
``undersigned sign`` (is my token's key in the log, before I redeem the token?).
"""

from __future__ import annotations

from typing import Any

from undersigned.lib import merkle, treehead
from undersigned.lib.blindrsa import BlindRSAError, b64u_decode
from undersigned.lib.canonical import CanonicalJSONError, canonical_json


class InclusionError(ValueError):
    """The answer is malformed, the tree head's signature is wrong, or the proof does not verify."""


def verify_inclusion_answer(answer: Any, log_key: bytes | str) -> treehead.SignedTreeHead:
    """The signed tree head of ``answer`` once its signature by ``log_key`` (the instance's Ed25519 key)
    and the inclusion proof of ``answer["entry"]`` at ``answer["leaf_index"]`` both verify.

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
        treehead.verify_tree_head(log_key, signed)
        merkle.verify_inclusion(index, signed.tree_head.tree_size, merkle.leaf_hash(canonical_json(entry)),
                                [b64u_decode(h) for h in path], signed.tree_head.root_hash)
    except InclusionError:
        raise
    except KeyError as error:
        raise InclusionError(f"the answer has no {error.args[0]}") from None
    except (ValueError, TypeError, CanonicalJSONError, BlindRSAError) as error:  # TreeHeadError, ProofError …
        raise InclusionError(str(error)) from None
    return signed
