"""The client side of verified signing, in Python: what the browser does, for `undersigned sign` and tests.

It speaks to the JSON API through two callables, so that the same code runs over HTTP (httpx, in the
command-line program) and through Django's test client::

    get(path) -> (status, json)        post(path, json) -> (status, json)

Blinding, finalising and checking use :mod:`undersigned.lib.blindrsa` (RFC 9474, checked against the
RFC's Appendix A vectors and against the browser library).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from undersigned.lib import blindrsa
from undersigned.lib.logproof import InclusionError, check_key_entry, verify_inclusion_answer
from undersigned.verification import protocol

Get = Callable[[str], tuple[int, dict]]
Post = Callable[[str, dict], tuple[int, dict]]


class ClientError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"{message} (HTTP {status})" if status else message)
        self.status, self.message = status, message


class Unanswered(ClientError):
    """No answer at all (refused, timed out, a proxy failed): worth asking again."""


class KeyNotLoggedYet(ClientError):
    """The token's key is not in the letter's public log yet (logs are published in batches): wait."""


class KeyNotTrustworthy(ClientError):
    """The site's answers about the token's key contradict the log: redeeming could identify the signer."""


@dataclass
class SigningClient:
    site: str  # e.g. "https://letters.example.org", for the receipt
    letter: str  # the letter's slug
    get: Get
    post: Post

    @property
    def base(self) -> str:
        return f"/api/v1/letters/{quote(self.letter)}"

    def _check(self, status: int, data: dict, expected: int) -> dict:
        if status != expected:
            raise ClientError(status, (data or {}).get("error") or "unexpected answer")
        return data

    def request_code(self, email: str) -> None:
        status, data = self.post(f"{self.base}/verifications", {"email": email})
        self._check(status, data, 202)

    def keys(self, **query: str) -> list[dict]:
        params = "&".join(f"{name}={quote(value)}" for name, value in query.items())
        status, data = self.get(f"{self.base}/keys" + (f"?{params}" if params else ""))
        return self._check(status, data, 200)["keys"]

    def key_for_email(self, email: str) -> dict:
        found = self.keys(domain=email.rpartition("@")[2].strip())
        if not found:
            raise ClientError(0, "This address is not at a company in the registry (or it is free mail): it cannot be verified.")
        return found[0]

    def key_for_invitation(self, invitation: str) -> dict:
        found = self.keys(company=invitation.strip().lower().rpartition("-")[0])
        if not found:
            raise ClientError(0, "This invitation code is not valid for this letter.")
        return found[0]

    def token(self, key: dict, credentials: dict) -> dict:
        """Blind a fresh token message, have it signed, finalise it: an unsubmitted receipt."""
        if key.get("variant") != blindrsa.RSABSSA_SHA384_PSS_RANDOMIZED.name:
            raise ClientError(0, f"Unsupported variant {key.get('variant')!r}.")
        public = blindrsa.decode_public_key(key["public_key"])
        if blindrsa.key_id(public) != key["key_id"]:
            raise ClientError(0, "The key id does not match the public key.")
        secret = protocol.new_withdrawal_secret()
        prepared = blindrsa.prepare(protocol.token_message(self.letter, secret))
        blinded, inv = blindrsa.blind(public, prepared)
        status, data = self.post(f"{self.base}/tokens", {
            **credentials, "key_id": key["key_id"], "blinded_msg": blindrsa.b64u_encode(blinded),
        })
        data = self._check(status, data, 200)
        signature = blindrsa.finalize(public, prepared, blindrsa.b64u_decode(data["blind_signature"]), inv)
        return protocol.make_receipt(
            site=self.site, letter=self.letter, company=key["company"], key_id=key["key_id"],
            message=blindrsa.b64u_encode(prepared), signature=blindrsa.b64u_encode(signature),
            withdrawal_secret=secret,
        )

    def token_with_code(self, email: str, code: str, key: dict | None = None) -> dict:
        return self.token(key or self.key_for_email(email), {"email": email, "code": code})

    def token_with_invitation(self, invitation: str) -> dict:
        return self.token(self.key_for_invitation(invitation), {"invitation": invitation})

    def key_log_proof(self, receipt: dict, log_key: str | None = None) -> dict:
        """Check, before redeeming, that the token's key is the one key the site lists for its company and
        that this letter's public log holds it; the key entry's inclusion proof, to keep with the receipt.

        Why: a site that gave one signer a key of their own would recognise that signer's token when it
        is redeemed, whatever the delay or network. This does not prevent that; it makes it leave
        evidence. The key must be in the letter's log, under a tree head signed with the log's key
        (``log_key``: pinned by the signer from elsewhere, or else the site's own ``/api/v1/log/key``), where
        any audit flags a second key for a company; the signer keeps the signed proof. A site that shows one
        signer a log of their own (a split view) is caught only when someone compares tree heads
        (``undersigned audit --receipt`` later, or other auditors).

        KeyNotLoggedYet: not published yet (or the log's key was just rotated): ask again after the next
        batch. KeyNotTrustworthy: the answers contradict each other or the log. ClientError: the letter
        no longer takes signatures, or the receipt is malformed.
        """
        company, key_id = receipt.get("company"), receipt.get("key_id")
        try:
            message, signature = blindrsa.b64u_decode(receipt["message"]), blindrsa.b64u_decode(receipt["signature"])
        except (KeyError, TypeError, blindrsa.BlindRSAError):
            message = signature = None
        if not isinstance(company, str) or not isinstance(key_id, str) or message is None:
            raise ClientError(0, "The receipt is incomplete (company, key_id, message or signature).")
        try:
            # Every key of the letter, destroyed ones included: a closed letter says so plainly.
            of_company = [key for key in self.keys() if key["company"] == company]
            mine = [key for key in of_company if key["key_id"] == key_id]
            if mine and mine[0]["signs_tokens"] is False:
                raise ClientError(0, "The letter no longer takes signatures: its keys were destroyed when it closed.")
            live = [key for key in of_company if key["signs_tokens"] is not False]
            index = mine[0]["log_index"] if mine else None
        except (KeyError, TypeError, AttributeError):
            raise KeyNotTrustworthy(0, "The site's list of keys is malformed.") from None
        if not mine:
            raise KeyNotTrustworthy(0, f"The site does not list this token's key for {company}.")
        if len(live) != 1:
            raise KeyNotTrustworthy(0, f"The site lists {len(live)} keys for {company}, not one.")
        if index is None:
            raise KeyNotLoggedYet(0, "The token's key is not in the letter's public log yet.")
        if type(index) is not int or index < 0:
            raise KeyNotTrustworthy(0, "The site's log_index for the key is not a leaf index.")
        status, answer = self.get(f"{self.base}/log/proof/inclusion?index={index}")
        if status in (404, 503):  # not covered by a signed tree head yet, or a proof waits for the next batch
            raise KeyNotLoggedYet(status, "The token's key is not in a signed tree head of the public log yet.")
        answer = self._check(status, answer, 200)
        served = self._check(*self.get("/api/v1/log/key"), 200)
        if not isinstance(answer, dict) or not isinstance(served, dict):
            raise KeyNotTrustworthy(0, "The site's answer about its log is malformed.")
        try:
            verify_inclusion_answer(answer, log_key or served.get("public_key"), self.letter)
            if answer["leaf_index"] != index:
                raise InclusionError(f"the proof is for leaf {answer['leaf_index']}, not {index}")
            check_key_entry(answer["entry"], company=company, key_id=key_id, message=message, signature=signature)
        except InclusionError as error:
            head = answer.get("tree_head")
            head_key = head.get("key_id") if isinstance(head, dict) else None
            retired_keys = served.get("retired_keys")
            retired = {k.get("key_id") for k in retired_keys if isinstance(k, dict)} if isinstance(retired_keys, list) else set()
            if log_key is None and head_key in retired:  # rotated since the last batch: its next head uses the new key
                raise KeyNotLoggedYet(0, "The log's key was just replaced; the next batch is signed with the new one.") from None
            raise KeyNotTrustworthy(0, f"The log's proof for the token's key does not hold: {error}.") from None
        return {name: answer[name] for name in ("leaf_index", "entry", "proof", "tree_head")}

    def submit(self, receipt: dict, *, name: str = "", role: str = "", comment: str = "", show_name: bool = False) -> dict:
        """Redeem the token; the server's receipt, with our withdrawal secret added."""
        token = {field: receipt[field] for field in ("key_id", "message", "signature")}
        status, data = self.post(f"{self.base}/signatures", {
            "token": token, "name": name, "role": role, "comment": comment, "show_name": show_name,
        })
        data = self._check(status, data, 201)
        return {**data, "withdrawal_secret": receipt["withdrawal_secret"]}

    def withdraw(self, receipt: dict) -> dict:
        status, data = self.post(f"{self.base}/withdrawals", {"withdrawal_secret": receipt["withdrawal_secret"]})
        return self._check(status, data, 200)


def check_receipt(receipt: dict, public_key_b64: str) -> bool:
    """True if the receipt's token verifies under the key and commits to its withdrawal secret."""
    public = blindrsa.decode_public_key(public_key_b64)
    prepared = blindrsa.b64u_decode(receipt["message"])
    parsed = protocol.parse_prepared(prepared)
    return (
        blindrsa.verify(public, prepared, blindrsa.b64u_decode(receipt["signature"]))
        and parsed.letter_slug == receipt["letter"]
        and parsed.commitment == protocol.commitment(receipt["withdrawal_secret"])
    )
