"""Bad input and attacks on verified signing: each gets a clear 4xx and changes no count."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from undersigned.letters.models import Letter
from undersigned.lib import blindrsa
from undersigned.signatures.models import Signature
from undersigned.verification import actions, protocol
from undersigned.verification.models import Challenge, Invitation

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.verified import client_for, code_in, fast_keys, signer  # noqa: F401 (fixtures)


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def counts(client, letter):
    return client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]


@pytest.fixture
def before(client, letter):
    """The counts before the attack; the test checks they did not change."""
    return counts(client, letter)


def token_request(client, letter, key, **credentials):
    """A well-formed blinded token request; returns (response, prepared, inv, public key)."""
    public = blindrsa.decode_public_key(key["public_key"])
    prepared = blindrsa.prepare(protocol.token_message(letter.slug, protocol.new_withdrawal_secret()))
    blinded, inv = blindrsa.blind(public, prepared)
    body = {**credentials, "key_id": key["key_id"], "blinded_msg": blindrsa.b64u_encode(blinded)}
    return post(client, f"/api/v1/letters/{letter.slug}/tokens", body), prepared, inv, public


def test_it_voids_the_code_after_five_wrong_attempts(client, letter, signer, before):
    code = signer.code_for("jane@google.com")
    key = signer.api.key_for_email("jane@google.com")
    wrong = "00000000" if code != "00000000" else "11111111"
    answers = [token_request(client, letter, key, email="jane@google.com", code=wrong)[0] for _ in range(5)]
    assert {(a.status_code, a.json()["error"]) for a in answers} == {(400, actions.WRONG_CODE)}
    response = token_request(client, letter, key, email="jane@google.com", code=code)[0]
    assert response.status_code == 400 and response.json()["error"] == actions.WRONG_CODE
    assert counts(client, letter) == before
    # A new code works.
    assert signer.api.submit(signer.token("jane@google.com"))["status"] == "confirmed"


def test_a_wrong_code_and_no_code_get_the_same_answer(client, letter, signer):
    signer.code_for("jane@google.com")
    key = signer.api.key_for_email("jane@google.com")
    asked = token_request(client, letter, key, email="jane@google.com", code="12345678")[0]
    never = token_request(client, letter, key, email="joe@google.com", code="12345678")[0]
    assert (asked.status_code, asked.content) == (never.status_code, never.content)


def test_it_refuses_an_expired_code(client, letter, signer, before):
    code = signer.code_for("jane@google.com")
    Challenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    key = signer.api.key_for_email("jane@google.com")
    response = token_request(client, letter, key, email="jane@google.com", code=code)[0]
    assert response.status_code == 400 and response.json()["error"] == actions.WRONG_CODE
    assert counts(client, letter) == before


def test_it_refuses_a_reused_token(client, letter, signer):
    receipt = signer.token("jane@google.com")
    signer.api.submit(receipt)
    after_first = counts(client, letter)
    token = {k: receipt[k] for k in ("key_id", "message", "signature")}
    again = post(client, f"/api/v1/letters/{letter.slug}/signatures", {"token": token})
    assert again.status_code == 409 and "already been used" in again.json()["error"]
    assert counts(client, letter) == after_first


def test_it_refuses_a_token_for_another_letter(client, letter, signer, companies):
    other = Letter.objects.create(slug="another-letter", title="Another", body="b", status=Letter.Status.OPEN)
    receipt = signer.token("jane@google.com")
    before_other = counts(client, other)
    token = {k: receipt[k] for k in ("key_id", "message", "signature")}
    response = post(client, f"/api/v1/letters/{other.slug}/signatures", {"token": token})
    assert response.status_code == 400 and "not a key of this letter" in response.json()["error"]
    assert counts(client, other) == before_other
    # A token message naming another letter, validly signed with this letter's key, is refused too.
    api = client_for(client, letter.slug)
    api.letter = other.slug  # the message says "another-letter"…
    api_code = signer.code_for("joe@google.com")
    key = signer.api.key_for_email("joe@google.com")
    public = blindrsa.decode_public_key(key["public_key"])
    prepared = blindrsa.prepare(protocol.token_message(other.slug, protocol.new_withdrawal_secret()))
    blinded, inv = blindrsa.blind(public, prepared)
    answer = post(client, f"/api/v1/letters/{letter.slug}/tokens", {
        "email": "joe@google.com", "code": api_code, "key_id": key["key_id"], "blinded_msg": blindrsa.b64u_encode(blinded)})
    signature = blindrsa.finalize(public, prepared, blindrsa.b64u_decode(answer.json()["blind_signature"]), inv)
    before = counts(client, letter)
    response = post(client, f"/api/v1/letters/{letter.slug}/signatures", {"token": {
        "key_id": key["key_id"], "message": blindrsa.b64u_encode(prepared), "signature": blindrsa.b64u_encode(signature)}})
    assert response.status_code == 400 and "another letter" in response.json()["error"]
    assert counts(client, letter) == before


def test_it_refuses_another_companys_key(client, letter, signer, before):
    code = signer.code_for("jane@google.com")
    signer.code_for("joe@amazon.com")
    amazon_key = signer.api.key_for_email("joe@amazon.com")
    response = token_request(client, letter, amazon_key, email="jane@google.com", code=code)[0]
    assert response.status_code == 400 and "company of this address" in response.json()["error"]
    assert counts(client, letter) == before


def test_it_refuses_a_token_presented_under_another_companys_key(client, letter, signer, before):
    receipt = signer.token("jane@google.com")
    signer.code_for("joe@amazon.com")
    amazon_key = signer.api.key_for_email("joe@amazon.com")
    response = post(client, f"/api/v1/letters/{letter.slug}/signatures", {"token": {
        "key_id": amazon_key["key_id"], "message": receipt["message"], "signature": receipt["signature"]}})
    assert response.status_code == 400 and "does not verify" in response.json()["error"]
    assert counts(client, letter) == before


@pytest.mark.parametrize("forgery", ["flipped", "random", "other-message", "short"])
def test_it_refuses_a_forged_signature(client, letter, signer, before, forgery):
    receipt = signer.token("jane@google.com")
    signature = bytearray(blindrsa.b64u_decode(receipt["signature"]))
    message = receipt["message"]
    if forgery == "flipped":
        signature[-1] ^= 1
    elif forgery == "random":
        signature = bytearray(len(signature))
    elif forgery == "other-message":
        message = blindrsa.b64u_encode(blindrsa.prepare(protocol.token_message(letter.slug, protocol.new_withdrawal_secret())))
    else:
        signature = signature[:-1]
    response = post(client, f"/api/v1/letters/{letter.slug}/signatures", {"token": {
        "key_id": receipt["key_id"], "message": message, "signature": blindrsa.b64u_encode(bytes(signature))}})
    assert response.status_code == 400 and "does not verify" in response.json()["error"]
    assert counts(client, letter) == before


@pytest.mark.parametrize("field,value", [
    ("blinded_msg", "abc+/def"), ("blinded_msg", "YWJj===="), ("blinded_msg", "not base64!"), ("blinded_msg", 12),
    ("blinded_msg", "YWJ"),  # non-canonical: unused bits set
])
def test_it_refuses_malformed_base64_in_a_token_request(client, letter, signer, before, field, value):
    code = signer.code_for("jane@google.com")
    key = signer.api.key_for_email("jane@google.com")
    response = post(client, f"/api/v1/letters/{letter.slug}/tokens",
                    {"email": "jane@google.com", "code": code, "key_id": key["key_id"], field: value})
    assert response.status_code == 400, response.content
    assert counts(client, letter) == before
    assert Challenge.objects.count() == 1  # nothing was used up: the right request still works
    assert token_request(client, letter, key, email="jane@google.com", code=code)[0].status_code == 200


@pytest.mark.parametrize("field", ["message", "signature", "key_id"])
def test_it_refuses_malformed_tokens(client, letter, signer, before, field):
    receipt = signer.token("jane@google.com")
    token = {k: receipt[k] for k in ("key_id", "message", "signature")}
    token[field] = token[field][:-2] + "+/"
    response = post(client, f"/api/v1/letters/{letter.slug}/signatures", {"token": token})
    assert response.status_code == 400, response.content
    assert counts(client, letter) == before


@pytest.mark.parametrize("value", ["modulus", "above", "too-long", "too-short"])
def test_it_refuses_a_blinded_message_out_of_range(client, letter, signer, before, value):
    code = signer.code_for("jane@google.com")
    key = signer.api.key_for_email("jane@google.com")
    n = blindrsa.decode_public_key(key["public_key"]).public_numbers().n
    size = (n.bit_length() + 7) // 8
    blinded = {"modulus": n.to_bytes(size, "big"), "above": (2 ** (8 * size) - 1).to_bytes(size, "big"),
               "too-long": b"\x00" + (n - 1).to_bytes(size, "big"), "too-short": b"\x01" * (size - 1)}[value]
    response = post(client, f"/api/v1/letters/{letter.slug}/tokens", {
        "email": "jane@google.com", "code": code, "key_id": key["key_id"], "blinded_msg": blindrsa.b64u_encode(blinded)})
    assert response.status_code == 400
    assert "range" in response.json()["error"] or "bytes" in response.json()["error"]
    assert counts(client, letter) == before
    assert token_request(client, letter, key, email="jane@google.com", code=code)[0].status_code == 200


@pytest.mark.parametrize("second", ["jane.doe@google.com", "JANE.DOE@GOOGLE.COM", "jane.doe+ice@google.com",
                                    "Jane.Doe+x@Google.Com."])
def test_one_address_gets_one_token(client, letter, signer, second):
    signer.sign("jane.doe@google.com")
    after_first = counts(client, letter)
    code = signer.code_for(second)
    key = signer.api.key_for_email(second)
    response = token_request(client, letter, key, email=second, code=code)[0]
    assert response.status_code == 409 and "one person, one token" in response.json()["error"]
    assert counts(client, letter) == after_first


def test_it_refuses_everything_after_the_letter_closed(client, letter, signer, before):
    receipt = signer.token("jane@google.com")
    code = signer.code_for("joe@google.com")
    key = signer.api.key_for_email("joe@google.com")
    assert letter.close()
    token = {k: receipt[k] for k in ("key_id", "message", "signature")}
    redeem = post(client, f"/api/v1/letters/{letter.slug}/signatures", {"token": token})
    assert redeem.status_code == 409 and "closed" in redeem.json()["error"]
    issue = token_request(client, letter, key, email="joe@google.com", code=code)[0]
    assert issue.status_code == 409
    ask = post(client, f"/api/v1/letters/{letter.slug}/verifications", {"email": "ann@google.com"})
    assert ask.status_code == 409
    assert counts(client, letter) == before
    keys = client.get(f"/api/v1/letters/{letter.slug}/keys").json()["keys"]
    assert keys and all(k["signs_tokens"] is False for k in keys)  # still published, for auditors


def test_an_invitation_code_works_once(client, letter, signer, companies):
    [code] = actions.mint_invitations(letter, companies["aws"], count=1, days=3)
    assert code.startswith("aws-")
    receipt = signer.api.token_with_invitation(code)
    signer.api.submit(receipt)
    data = counts(client, letter)
    assert data["verified"] == 1 and data["by_company"][0]["company"] == "amazon"  # rolled up to the parent
    key = signer.api.key_for_invitation(code)
    again = token_request(client, letter, key, invitation=code)[0]
    assert again.status_code == 400 and "used or expired" in again.json()["error"]
    assert counts(client, letter) == data
    assert Invitation.objects.get().status == Invitation.Status.USED


def test_an_invitation_code_expires_and_binds_its_company(client, letter, signer, companies, before):
    [code] = actions.mint_invitations(letter, companies["aws"], count=1, days=3)
    signer.code_for("jane@google.com")
    google_key = signer.api.key_for_email("jane@google.com")
    wrong_company = token_request(client, letter, google_key, invitation=code)[0]
    assert wrong_company.status_code == 400 and "invitation's company" in wrong_company.json()["error"]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = token_request(client, letter, signer.api.key_for_invitation(code), invitation=code)[0]
    assert expired.status_code == 400 and "used or expired" in expired.json()["error"]
    made_up = token_request(client, letter, signer.api.key_for_invitation(code), invitation="aws-" + "a" * 24)[0]
    assert made_up.status_code == 400
    assert counts(client, letter) == before


def test_it_refuses_unknown_fields_and_bad_json(client, letter, signer, before):
    base = f"/api/v1/letters/{letter.slug}"
    assert post(client, f"{base}/verifications", {"email": "jane@google.com", "x": 1}).status_code == 400
    assert post(client, f"{base}/verifications", {"email": "not an address"}).status_code == 400
    assert client.post(f"{base}/tokens", "{", content_type="application/json").status_code == 400
    assert post(client, f"{base}/tokens", {"email": "a@google.com"}).status_code == 400
    assert post(client, f"{base}/signatures", {"token": "x"}).status_code == 400
    assert post(client, f"{base}/signatures", {"token": {"key_id": "0" * 64, "message": "", "signature": ""}}).status_code == 400
    assert post(client, f"{base}/withdrawals", {"withdrawal_secret": "short"}).status_code == 400
    assert counts(client, letter) == before


def test_it_limits_codes_per_address_and_network(client, letter, signer, mailbox, settings):
    for _ in range(actions.MAX_CODES_PER_ADDRESS_PER_DAY + 2):
        signer.api.request_code("jane@google.com")
    assert len(mailbox.deliver()) == actions.MAX_CODES_PER_ADDRESS_PER_DAY
    from undersigned.moderation.models import RateLimit

    # The requests above counted for this network too.
    RateLimit.objects.create(scope=RateLimit.Scope.NETWORK, letter=letter, max_per_day=actions.MAX_CODES_PER_ADDRESS_PER_DAY + 4)
    answers = [post(client, f"/api/v1/letters/{letter.slug}/verifications", {"email": f"p{i}@gmail.com"}).status_code
               for i in range(3)]
    assert answers == [202, 202, 429]
