"""POST /api/v1/letters/<slug>/signatures: signing without a browser (JSON in, 202 out, email to confirm)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.support.cast import (  # noqa: F401 (fixtures)
    companies, confirm, letter, mailbox, organizer_action, sign_api,
)
from undersigned.letters.models import Letter
from undersigned.messaging.models import OutgoingEmail
from undersigned.moderation.models import RateLimit
from undersigned.signatures.models import Signature

pytestmark = pytest.mark.django_db


def counts(client, letter) -> dict:
    return client.get(f"/api/v1/letters/{letter.slug}").json()["counts"]


def post_raw(client, letter, body, content_type="application/json", **extra):
    return client.generic("POST", f"/api/v1/letters/{letter.slug}/signatures", body, content_type=content_type, **extra)


def assert_nothing_recorded():
    assert not Signature.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_it_accepts_a_signature_and_counts_it_once_confirmed(client, letter, mailbox):
    response = sign_api(client, letter, name="Jane Doe", show_name=True, role="SRE", company="AWS",
                        email="jane.doe@amazon.com", comment="Cancel them.")
    assert response.status_code == 202
    assert response.json()["status"] == "pending_confirmation"
    assert counts(client, letter)["total"] == 0

    confirm(client, mailbox, "jane.doe@amazon.com")
    now = counts(client, letter)
    assert now["total"] == 1
    assert now["by_company"] == [{"company": "amazon", "name": "Amazon", "verified": 0, "self_reported": 1}]
    signature = Signature.objects.get()
    assert (signature.name, signature.show_name, signature.company_as_written) == ("Jane Doe", True, "AWS")


def test_it_needs_only_company_and_email(client, letter, mailbox):
    assert sign_api(client, letter).status_code == 202
    confirm(client, mailbox, "jane.doe@google.com")
    assert counts(client, letter)["total"] == 1


def test_it_does_not_keep_a_name_the_signer_chose_not_to_show(client, letter):
    sign_api(client, letter, name="Jane Doe", show_name=False)
    assert Signature.objects.get().name == ""


def test_it_answers_a_second_signature_from_the_same_address_exactly_like_a_first(client, letter, mailbox):
    sign_api(client, letter, email="jane.doe@google.com")
    confirm(client, mailbox, "jane.doe@google.com")

    fresh = sign_api(client, letter, email="new.person@google.com")
    again = sign_api(client, letter, email="Jane.Doe+api@Google.com")
    assert (again.status_code, again.content, again["Content-Type"]) == (fresh.status_code, fresh.content, fresh["Content-Type"])
    subjects = {message.to[0]: message.subject for message in mailbox.deliver()}
    assert subjects["Jane.Doe+api@Google.com"].startswith("You have already signed")
    assert subjects["new.person@google.com"].startswith("Confirm your signature")
    assert counts(client, letter)["total"] == 1


def test_it_needs_no_csrf_token_because_it_only_takes_json(letter, mailbox):
    client = Client(enforce_csrf_checks=True)
    assert sign_api(client, letter).status_code == 202
    # What a cross-site HTML form can send is refused.
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"):
        response = post_raw(client, letter, "email=jane@google.com&company=Google", content_type=content_type)
        assert response.status_code == 415


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded", "text/plain", "text/html", "application/xml", "application/json-patch+json", "",
])
def test_it_answers_415_for_anything_but_json(client, letter, content_type):
    response = post_raw(client, letter, json.dumps({"company": "Google", "email": "a@google.com"}), content_type)
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    assert_nothing_recorded()


def test_it_accepts_a_charset_in_the_content_type(client, letter):
    response = post_raw(client, letter, json.dumps({"company": "Google", "email": "a@google.com"}),
                        "application/json; charset=utf-8")
    assert response.status_code == 202


@pytest.mark.parametrize("body", [b"{", b"{'company': 'Google'}", b"\xff\xfe", b"NaN", b"{\"a\": 1,}"])
def test_it_answers_400_for_a_body_that_is_not_json(client, letter, body):
    response = post_raw(client, letter, body)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]
    assert_nothing_recorded()


@pytest.mark.parametrize("body", ["[]", "[{\"email\": \"a@google.com\"}]", "\"text\"", "42", "null", "true"])
def test_it_answers_400_for_json_that_is_not_an_object(client, letter, body):
    response = post_raw(client, letter, body)
    assert response.status_code == 400
    assert "object" in response.json()["error"]
    assert_nothing_recorded()


def test_it_answers_400_for_unknown_fields(client, letter):
    response = sign_api(client, letter, visibility="named", status="confirmed")
    assert response.status_code == 400
    assert "status" in response.json()["error"] and "visibility" in response.json()["error"]
    assert_nothing_recorded()


@pytest.mark.parametrize("fields, field", [
    ({"email": "not-an-address"}, "email"),
    ({"email": ""}, "email"),
    ({"email": "a@" + "b" * 250 + ".com"}, "email"),
    ({"company": ""}, "company"),
    ({"company": "c" * 121}, "company"),
    ({"name": "n" * 101, "show_name": True}, "name"),
    ({"role": "r" * 121}, "role"),
    ({"comment": "c" * 501}, "comment"),
    ({"show_name": True}, "name"),
    ({"name": "Jane\x1bDoe", "show_name": True}, "name"),
    ({"company": "Google\u200e"}, "company"),
    ({"comment": "a\x00b"}, "comment"),
])
def test_it_answers_400_naming_the_field_that_is_wrong(client, letter, fields, field):
    response = sign_api(client, letter, **fields)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] and body["fields"][field]
    assert_nothing_recorded()


@pytest.mark.parametrize("fields", [
    {"show_name": "yes"}, {"show_name": 1}, {"name": 5}, {"email": ["a@google.com"]}, {"company": None},
    {"comment": {"text": "hi"}},
])
def test_it_answers_400_for_fields_of_the_wrong_type(client, letter, fields):
    response = sign_api(client, letter, **fields)
    assert response.status_code == 400
    assert response.json()["error"]
    assert_nothing_recorded()


def test_it_answers_400_when_email_or_company_is_missing(client, letter):
    for body in ({"company": "Google"}, {"email": "a@google.com"}, {}):
        response = post_raw(client, letter, json.dumps(body))
        assert response.status_code == 400
        assert response.json()["fields"]
    assert_nothing_recorded()


def test_it_answers_413_for_an_oversized_body(client, letter):
    response = sign_api(client, letter, comment="x" * 20_000)
    assert response.status_code == 413
    assert_nothing_recorded()


def test_it_answers_404_for_an_unknown_or_draft_letter(client, letter):
    Letter.objects.create(slug="draft", title="Draft", body="Not yet.")
    for slug in ("no-such-letter", "draft"):
        response = client.post(f"/api/v1/letters/{slug}/signatures", json.dumps({"company": "Google", "email": "a@google.com"}),
                               content_type="application/json")
        assert response.status_code == 404
        assert response.json()["error"]
    assert_nothing_recorded()


def test_it_answers_409_for_a_closed_letter(client, letter):
    letter.close()
    response = sign_api(client, letter)
    assert response.status_code == 409
    assert "closed" in response.json()["error"]
    assert_nothing_recorded()


def test_it_keeps_html_as_text(client, letter, mailbox, admin_client):
    sign_api(client, letter, name="<img src=x onerror=alert(1)>", show_name=True, company="Google",
             comment="</script><script>alert(2)</script>")
    confirm(client, mailbox, "jane.doe@google.com")
    organizer_action(admin_client, "approve", Signature.objects.all())
    html = client.get(f"/letters/{letter.slug}/").content.decode()
    assert "<img src=x" not in html and "<script>alert(2)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    listed = client.get(f"/api/v1/letters/{letter.slug}/signatures").json()["signatures"][0]
    assert listed["name"] == "<img src=x onerror=alert(1)>"
    assert listed["comment"] == "</script><script>alert(2)</script>"


def test_it_holds_signatures_over_the_network_limit_without_dropping_them(client, letter, mailbox):
    RateLimit.objects.update_or_create(scope=RateLimit.Scope.NETWORK, letter=None, defaults={"max_per_day": 1})
    for number in range(3):
        # Every answer is the same 202, and every signer gets the email.
        body = json.dumps({"company": "Google", "email": f"p{number}@google.com"})
        response = post_raw(client, letter, body, REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 202
        confirm(client, mailbox, f"p{number}@google.com")
    body = json.dumps({"company": "Google", "email": "other@google.com"})
    assert post_raw(client, letter, body, REMOTE_ADDR="198.51.100.7").status_code == 202
    confirm(client, mailbox, "other@google.com")

    assert sorted(Signature.objects.values_list("status", flat=True)) == ["confirmed", "confirmed", "held", "held"]
    assert counts(client, letter)["total"] == 2


def test_it_sends_the_confirmation_in_the_language_asked_for(client, letter, mailbox):
    response = client.post(
        f"/api/v1/letters/{letter.slug}/signatures",
        {"company": "Google", "email": "lucia@google.com", "language": "es"}, content_type="application/json",
    )
    assert response.status_code == 202
    assert "Confirma" in mailbox.deliver_one("lucia@google.com").subject


def test_it_refuses_an_unknown_language(client, letter):
    response = client.post(
        f"/api/v1/letters/{letter.slug}/signatures",
        {"company": "Google", "email": "lucia@google.com", "language": "xx"}, content_type="application/json",
    )
    assert response.status_code == 400 and "language" in response.json()["error"]


def test_answers_to_writes_are_never_cached(client, letter, mailbox):
    # A write's answer can carry a secret (a blind signature, a receipt): no cache may keep it.
    assert sign_api(client, letter)["Cache-Control"] == "no-store"
    refused = post_raw(client, letter, "{}", content_type="application/json")
    assert refused.status_code == 400 and refused["Cache-Control"] == "no-store"
    assert client.get(f"/api/v1/letters/{letter.slug}")["Cache-Control"].startswith("public")
