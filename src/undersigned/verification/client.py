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
from undersigned.verification import protocol

Get = Callable[[str], tuple[int, dict]]
Post = Callable[[str, dict], tuple[int, dict]]


class ClientError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"{message} (HTTP {status})" if status else message)
        self.status, self.message = status, message


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
