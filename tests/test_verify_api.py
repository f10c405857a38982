"""Verified signing through the JSON API: keys, code requests, tokens, redemption, withdrawal."""

from __future__ import annotations

import json

from undersigned.lib import blindrsa
from undersigned.signatures.models import Signature
from undersigned.verification.client import check_receipt
from undersigned.verification.models import Challenge, Issuance, TokenKey

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def counts(client, letter):
    return client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]


def test_it_signs_as_a_verified_employee(client, letter, signer, mailbox):
    receipt = signer.sign("Jane.Doe@google.com")
    assert receipt["status"] == "confirmed" and receipt["company"] == "google"
    key = client.get(f"/api/v1/letters/{letter.slug}/keys").json()["keys"][0]
    assert key["variant"] == "RSABSSA-SHA384-PSS-Randomized" and key["company"] == "google"
    assert check_receipt(receipt, key["public_key"])
    data = counts(client, letter)
    assert (data["verified"], data["self_reported"]) == (1, 0)
    assert data["by_company"] == [{"company": "alphabet", "name": "Alphabet", "verified": 1, "self_reported": 0}]
    listed = client.get(f"/api/v1/letters/{letter.slug}/signatures").json()["signatures"]
    assert listed == [{"name": "Anonymous", "role": None, "company": "Google", "company_slug": "google",
                       "kind": "verified", "comment": None}]
    # The issuance record has the day and a digest; the challenge is gone.
    assert Challenge.objects.count() == 0
    assert list(Issuance.objects.values_list("issued_on", flat=True)) == [Signature.objects.get().confirmed_on]


def test_it_sends_a_neutral_code_without_a_link(client, letter, signer, mailbox, settings):
    settings.NEUTRAL_FROM_EMAIL = "Notifications <n@mail.example>"
    signer.api.request_code("jane@google.com")
    message = mailbox.deliver_one("jane@google.com")
    html = message.alternatives[0][0] if message.alternatives else ""
    for text in (message.subject, message.body, html):
        assert "http" not in text and "href" not in text and "://" not in text
        assert letter.title not in text and "Workers" not in text and "contracts" not in text.lower()
    assert message.from_email == "Notifications <n@mail.example>"


def test_it_answers_the_same_for_every_address(client, letter, fast_keys, mailbox):
    answers = set()
    for email in ("jane@google.com", "jane@gmail.com", "joe@proton.me", "x@unknown-company.example",
                  "JANE@GOOGLE.COM"):
        response = post(client, f"/api/v1/letters/{letter.slug}/verifications", {"email": email})
        answers.add((response.status_code, response.content))
    assert len(answers) == 1 and answers.pop()[0] == 202
    # Mail goes only to the verifiable address (twice: the second request replaced the first code).
    assert sorted(m.to[0] for m in mailbox.deliver()) == ["JANE@GOOGLE.COM", "jane@google.com"]
    assert Challenge.objects.count() == 1


def test_it_publishes_keys_per_company_and_filters_by_domain(client, letter, signer, companies):
    signer.sign("jane@google.com")
    signer.sign("joe@amazon.com")
    keys = client.get(f"/api/v1/letters/{letter.slug}/keys").json()["keys"]
    assert [k["company"] for k in keys] == ["amazon", "google"]
    for key in keys:
        public = blindrsa.decode_public_key(key["public_key"])
        assert blindrsa.key_id(public) == key["key_id"] and key["signs_tokens"] is True
    only = client.get(f"/api/v1/letters/{letter.slug}/keys?domain=mail.google.com").json()["keys"]
    assert [k["company"] for k in only] == ["google"]
    assert client.get(f"/api/v1/letters/{letter.slug}/keys?domain=gmail.com").json()["keys"] == []
    assert TokenKey.objects.filter(sealed_private_key__contains="BEGIN").count() == 0


def test_it_withdraws_with_the_receipt_only(client, letter, signer):
    receipt = signer.sign("jane@google.com")
    assert counts(client, letter)["verified"] == 1
    wrong = post(client, f"/api/v1/letters/{letter.slug}/withdrawals", {"withdrawal_secret": "A" * 43})
    assert wrong.status_code == 404
    assert signer.api.withdraw(receipt)["status"] == "withdrawn"
    assert counts(client, letter)["verified"] == 0
    assert Signature.objects.get().status == Signature.Status.WITHDRAWN


def test_it_keeps_display_fields_for_review(client, letter, signer):
    signer.sign("jane@google.com", name="Jane Doe", role="SRE", comment="No more.", show_name=True)
    signature = Signature.objects.get()
    assert (signature.name, signature.role, signature.show_name, signature.review) == ("Jane Doe", "SRE", True, "pending")
    listed = client.get(f"/api/v1/letters/{letter.slug}/signatures").json()["signatures"][0]
    assert listed["name"] == "Anonymous"  # until an organizer approves it


def test_the_openapi_description_documents_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/letters/{slug}/keys", "/api/v1/letters/{slug}/verifications",
                 "/api/v1/letters/{slug}/tokens", "/api/v1/letters/{slug}/withdrawals"):
        assert path in paths, path
