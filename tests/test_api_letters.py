"""GET /api/v1/letters, /api/v1/letters/<slug> and /api/v1/letters/<slug>/signatures."""

from __future__ import annotations

import pytest

from tests.support.cast import (  # noqa: F401 (fixtures)
    ENGLISH_TITLE, SPANISH_TITLE, companies, letter, mailbox, organizer_action, signed,
)
from tests.support.pages import read_letter_page
from undersigned.ledger.publish import publish_pending
from undersigned.letters.models import Letter
from undersigned.signatures.actions import withdraw_signature
from undersigned.signatures.models import Signature

pytestmark = pytest.mark.django_db


def get_json(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_it_lists_public_letters(client, letter):
    Letter.objects.create(slug="draft", title="Draft", body="Not yet.")
    letters = get_json(client, "/api/v1/letters")["letters"]
    assert [item["slug"] for item in letters] == [letter.slug]
    item = letters[0]
    assert item["title"] == ENGLISH_TITLE
    assert item["status"] == "open"
    assert item["languages"] == ["en", "es"]
    assert item["url"].endswith(f"/letters/{letter.slug}/")
    assert item["counts"] == {"total": 0, "verified": 0, "self_reported": 0, "by_company": []}


def test_it_shows_one_letter_in_either_language(client, letter):
    english = get_json(client, f"/api/v1/letters/{letter.slug}")
    assert english["title"] == ENGLISH_TITLE and english["language"] == "en"
    assert "<strong>cancel</strong>" in english["body_html"]
    spanish = get_json(client, f"/api/v1/letters/{letter.slug}?language=es")
    assert spanish["title"] == SPANISH_TITLE and spanish["language"] == "es"


def test_it_says_when_responses_may_be_cached(client, letter):
    for path in ("/api/v1/letters", f"/api/v1/letters/{letter.slug}", f"/api/v1/letters/{letter.slug}/signatures"):
        cache_control = client.get(path)["Cache-Control"]
        assert "public" in cache_control
        max_age = int(cache_control.split("max-age=")[1].split(",")[0])
        assert 1 <= max_age <= 60


def test_it_rolls_subsidiaries_up_and_shows_the_same_counts_as_the_page(client, letter, mailbox, admin_client):
    signed(client, letter, mailbox, email="a@amazon.com", company="AWS")
    signed(client, letter, mailbox, email="b@amazon.com", company="Amazon")
    signed(client, letter, mailbox, email="c@google.com", company="Google")
    signed(client, letter, mailbox, email="d@acme.example", company="Acme Widgets")
    signed(client, letter, mailbox, email="e@other.example", company="Unreviewed Inc")
    organizer_action(admin_client, "approve", Signature.objects.filter(company_as_written="Acme Widgets"))
    signed(client, letter, mailbox, email="f@google.com", company="Google")  # then withdrawn
    withdraw_signature(Signature.objects.latest("id"))  # through the action: the withdrawal enters the log

    counts = get_json(client, f"/api/v1/letters/{letter.slug}")["counts"]
    assert counts["total"] == 5 and counts["self_reported"] == 5 and counts["verified"] == 0
    assert counts["by_company"][0] == {"company": "amazon", "name": "Amazon", "verified": 0, "self_reported": 2}
    assert {row["name"] for row in counts["by_company"]} == {
        "Amazon", "Alphabet", "Acme Widgets", "Other companies (not yet reviewed)",
    }
    assert "Unreviewed Inc" not in str(counts)

    shown = read_letter_page(client.get(f"/letters/{letter.slug}/").content.decode())
    assert shown["total"] == counts["total"]
    assert shown["by_company"] == {
        row["name"]: (row["verified"], row["self_reported"], row["verified"] + row["self_reported"])
        for row in counts["by_company"]
    }
    assert list(shown["by_company"]) == [row["name"] for row in counts["by_company"]]  # same order
    listed = get_json(client, f"/api/v1/letters/{letter.slug}/signatures")
    assert listed["count"] == counts["total"] == len(shown["signatures"])
    assert get_json(client, "/api/v1/letters")["letters"][0]["counts"] == counts


def test_it_lists_signatures_as_the_public_sees_them(client, letter, mailbox, admin_client):
    signed(client, letter, mailbox, email="jane@google.com", visibility="named", name="Jane Doe", role="SRE",
           comment="Cancel them.")
    signed(client, letter, mailbox, email="anon@amazon.com", company="AWS", visibility="anonymous")
    signed(client, letter, mailbox, email="hidden@google.com", visibility="named", name="Hidden Name")
    organizer_action(admin_client, "approve", Signature.objects.exclude(name="Hidden Name"))
    organizer_action(admin_client, "hide", Signature.objects.filter(name="Hidden Name"))

    listed = get_json(client, f"/api/v1/letters/{letter.slug}/signatures")
    assert listed["page"] == 1 and listed["pages"] == 1 and listed["count"] == 3
    assert listed["signatures"] == [
        {"name": "Jane Doe", "role": "SRE", "company": "Google", "company_slug": "google",
         "kind": "self_reported", "comment": "Cancel them."},
        {"name": "Anonymous", "role": None, "company": "Amazon Web Services", "company_slug": "aws",
         "kind": "self_reported", "comment": None},
        {"name": "Anonymous", "role": None, "company": "Google", "company_slug": "google",
         "kind": "self_reported", "comment": None},
    ]


def test_it_lists_signatures_in_the_order_of_the_log_not_of_submission(client, letter, mailbox, admin_client, settings):
    # Published in one batch, shuffled: the list must not give back the order in which people signed.
    settings.PUBLICATION_INTERVAL = 3600
    for number in range(12):
        signed(client, letter, mailbox, email=f"p{number}@google.com", visibility="named", name=f"Signer {number}")
    organizer_action(admin_client, "approve", Signature.objects.all())
    assert publish_pending(letter) == 12

    listed = [item["name"] for item in get_json(client, f"/api/v1/letters/{letter.slug}/signatures")["signatures"]]
    in_log_order = [signature.name for signature in Signature.objects.order_by("publication__leaf_index")]
    assert listed == in_log_order
    assert listed != [f"Signer {number}" for number in range(12)]  # shuffled (1 chance in 12! to fail)


def test_it_returns_html_and_script_as_plain_strings(client, letter, mailbox, admin_client):
    name = "<script>alert(1)</script>"
    signed(client, letter, mailbox, email="x@evil.example", visibility="named", name=name, company="<b>Evil</b>")
    organizer_action(admin_client, "approve", Signature.objects.all())
    response = client.get(f"/api/v1/letters/{letter.slug}/signatures")
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    signature = response.json()["signatures"][0]
    assert (signature["name"], signature["company"]) == (name, "<b>Evil</b>")


def test_it_paginates_signatures(client, letter, mailbox, settings):
    settings.SIGNATURES_PER_PAGE = 2
    for number in range(5):
        signed(client, letter, mailbox, email=f"p{number}@google.com")
    pages = [get_json(client, f"/api/v1/letters/{letter.slug}/signatures?page={n}") for n in (1, 2, 3)]
    assert [len(page["signatures"]) for page in pages] == [2, 2, 1]
    assert {(page["pages"], page["count"]) for page in pages} == {(3, 5)}
    assert get_json(client, f"/api/v1/letters/{letter.slug}/signatures?page=4", status=404)["error"]


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", "9" * 30, "%00"])
def test_it_answers_400_for_a_malformed_page(client, letter, bad):
    error = get_json(client, f"/api/v1/letters/{letter.slug}/signatures?page={bad}", status=400)
    assert "page" in error["error"]


def test_it_answers_404_in_json_for_an_unknown_or_draft_letter(client, letter):
    Letter.objects.create(slug="draft", title="Draft", body="Not yet.")
    for slug in ("no-such-letter", "draft"):
        assert "error" in get_json(client, f"/api/v1/letters/{slug}", status=404)
        assert "error" in get_json(client, f"/api/v1/letters/{slug}/signatures", status=404)


def test_it_refuses_writes_to_read_only_resources(client, letter):
    assert client.post("/api/v1/letters").status_code == 405
    assert client.delete(f"/api/v1/letters/{letter.slug}").status_code == 405
    assert client.put(f"/api/v1/letters/{letter.slug}/signatures").status_code == 405


def test_it_describes_these_endpoints_in_openapi(client):
    paths = get_json(client, "/api/v1/openapi.json")["paths"]
    for path in ("/api/v1/letters", "/api/v1/letters/{slug}", "/api/v1/letters/{slug}/signatures"):
        assert path in paths
    assert "post" in paths["/api/v1/letters/{slug}/signatures"]
