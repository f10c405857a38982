"""The letter page: /letters/<slug>/ (and /es/…): text, counts by company, the public list."""

from __future__ import annotations

import pytest

from tests.support.cast import (  # noqa: F401 (fixtures)
    ENGLISH_TITLE, SPANISH_TITLE, companies, letter, mailbox, organizer_action, signed,
)
from tests.support.pages import page_text, read_letter_page
from undersigned.letters.models import Letter
from undersigned.signatures.models import Signature

pytestmark = pytest.mark.django_db


def page(client, letter, query: str = "", language: str = "en") -> dict:
    prefix = "" if language == "en" else f"/{language}"
    response = client.get(f"{prefix}/letters/{letter.slug}/{query}")
    assert response.status_code == 200, response.content[:500]
    return read_letter_page(response.content.decode())


def test_it_shows_the_letter_in_english_and_spanish(client, letter):
    english = client.get(f"/letters/{letter.slug}/")
    html = english.content.decode()
    assert f"<h1>{ENGLISH_TITLE}</h1>" in html
    assert "<strong>cancel</strong>" in html  # Markdown rendered
    assert "Cancel the contracts." in html and "The chief executives." in html
    assert f'href="/letters/{letter.slug}/sign/"' in html
    # The language switch.
    assert f'href="/es/letters/{letter.slug}/"' in html

    spanish = client.get(f"/es/letters/{letter.slug}/").content.decode()
    assert '<html lang="es">' in spanish
    assert f"<h1>{SPANISH_TITLE}</h1>" in spanish
    assert "<strong>cancelen</strong>" in spanish
    assert f'href="/es/letters/{letter.slug}/sign/"' in spanish
    assert f'href="/letters/{letter.slug}/"' in spanish



def test_the_language_switch_keeps_the_page_and_its_query(client, letter):
    html = client.get(f"/letters/{letter.slug}/?page=1").content.decode()
    assert f'href="/es/letters/{letter.slug}/?page=1"' in html
    spanish = client.get(f"/es/letters/{letter.slug}/sign/").content.decode()
    assert f'href="/letters/{letter.slug}/sign/"' in spanish


def test_it_sends_a_strict_content_security_policy(client, letter):
    response = client.get(f"/letters/{letter.slug}/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "http" not in policy  # no other host is allowed
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_counts_subsidiaries_under_their_parent_and_lists_what_was_written(client, letter, mailbox):
    signed(client, letter, mailbox, email="a@amazon.com", company="AWS")
    signed(client, letter, mailbox, email="b@amazon.com", company="amazon web services")
    signed(client, letter, mailbox, email="c@amazon.com", company="Amazon")
    signed(client, letter, mailbox, email="d@google.com", company="Google LLC")

    shown = page(client, letter)
    assert shown["total"] == 4
    assert list(shown["by_company"].items()) == [("Amazon", (0, 3, 3)), ("Alphabet", (0, 1, 1))]
    # The list keeps the company the signer named, at the level they named it.
    assert shown["signatures"] == [
        "Anonymous, Amazon Web Services", "Anonymous, Amazon Web Services", "Anonymous, Amazon", "Anonymous, Google",
    ]
    assert list(Signature.objects.order_by("id").values_list("company_as_written", flat=True)) == [
        "AWS", "amazon web services", "Amazon", "Google LLC",
    ]


def test_it_shows_names_only_when_chosen_and_approved(client, letter, mailbox, admin_client):
    signed(client, letter, mailbox, email="jane@google.com", visibility="named", name="Jane Doe",
           role="Staff Engineer", comment="Cancel them now.")
    signed(client, letter, mailbox, email="anon@google.com", visibility="anonymous", name="Secret Person",
           role="Manager")
    assert page(client, letter)["signatures"] == ["Anonymous, Google", "Anonymous, Google"]

    organizer_action(admin_client, "approve", Signature.objects.all())
    shown = page(client, letter)
    assert shown["signatures"] == ["Jane Doe, Staff Engineer, Google Cancel them now.", "Anonymous, Google"]
    assert "Secret Person" not in client.get(f"/letters/{letter.slug}/").content.decode()

    # Hidden by an organizer: still counted, shown as "Anonymous".
    organizer_action(admin_client, "hide", Signature.objects.filter(name="Jane Doe"))
    shown = page(client, letter)
    assert shown["signatures"] == ["Anonymous, Google", "Anonymous, Google"]
    assert shown["total"] == 2 and shown["by_company"]["Alphabet"] == (0, 2, 2)
    assert "Cancel them now." not in client.get(f"/letters/{letter.slug}/").content.decode()


def test_it_shows_an_unknown_company_as_written_only_after_approval(client, letter, mailbox, admin_client):
    signed(client, letter, mailbox, email="x@acme.example", company="Acme Widgets")
    shown = page(client, letter)
    assert shown["total"] == 1
    assert "Acme" not in client.get(f"/letters/{letter.slug}/").content.decode()
    assert shown["signatures"] == ["Anonymous, another company"]
    assert list(shown["by_company"]) == ["Other companies (not yet reviewed)"]

    organizer_action(admin_client, "approve", Signature.objects.all())
    shown = page(client, letter)
    assert shown["signatures"] == ["Anonymous, Acme Widgets"]
    assert shown["by_company"] == {"Acme Widgets": (0, 1, 1)}


def test_it_shows_html_and_script_as_text(client, letter, mailbox, admin_client):
    fields = {
        "name": "<script>alert('name')</script>",
        "role": '<img src=x onerror="alert(1)">',
        "comment": "<b>bold</b> & <a href='https://evil.example'>link</a>",
        "company": "<i>Evil</i> Corp",
    }
    signed(client, letter, mailbox, email="x@evil.example", visibility="named", **fields)
    organizer_action(admin_client, "approve", Signature.objects.all())
    html = client.get(f"/letters/{letter.slug}/").content.decode()
    for value in fields.values():
        assert value not in html
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in html
    assert "<img" not in html and "<i>Evil" not in html and "evil.example'>" not in html
    # What a reader sees is exactly what was typed.
    shown = page(client, letter)["signatures"][0]
    for value in ("<script>alert('name')</script>", '<img src=x onerror="alert(1)">', "<b>bold</b> &"):
        assert value in shown
    assert [name.lower() for name in page(client, letter)["by_company"]] == ["<i>evil</i> corp"]


def test_it_paginates_the_list(client, letter, mailbox, settings):
    settings.SIGNATURES_PER_PAGE = 2
    for number in range(5):
        signed(client, letter, mailbox, email=f"p{number}@google.com", company="Google" if number % 2 else "AWS")
    first, second, third = (page(client, letter, f"?page={n}") for n in (1, 2, 3))
    assert [len(p["signatures"]) for p in (first, second, third)] == [2, 2, 1]
    assert first == page(client, letter)
    assert all(p["total"] == 5 for p in (first, second, third))
    html = client.get(f"/letters/{letter.slug}/?page=2").content.decode()
    assert 'start="3"' in html
    assert 'href="?page=1"' in html and 'href="?page=3"' in html
    assert "Page 2 of 3" in page_text(html)


@pytest.mark.parametrize("bad", ["0", "4", "-1", "abc", "1.5", "9" * 30, "%00", "1%20"])
def test_it_answers_400_for_a_page_that_does_not_exist(client, letter, mailbox, bad):
    signed(client, letter, mailbox)
    response = client.get(f"/letters/{letter.slug}/?page={bad}")
    assert response.status_code == 400
    assert response.content  # says what is wrong, briefly


def test_it_counts_nothing_on_an_empty_letter(client, letter):
    shown = page(client, letter)
    assert shown == {"total": 0, "by_company": {}, "signatures": []}
    assert "Nobody has signed yet." in client.get(f"/letters/{letter.slug}/").content.decode()


def test_it_shows_a_closed_letter_without_the_form(client, letter, mailbox):
    signed(client, letter, mailbox)
    letter.close()
    html = client.get(f"/letters/{letter.slug}/").content.decode()
    assert "/sign/" not in html
    assert "no longer takes signatures" in html
    assert read_letter_page(html)["total"] == 1


def test_it_answers_404_for_an_unknown_or_draft_letter(client, letter):
    assert client.get("/letters/no-such-letter/").status_code == 404
    Letter.objects.create(slug="draft", title="Draft", body="Not yet.")
    assert client.get("/letters/draft/").status_code == 404
    assert client.get("/es/letters/draft/").status_code == 404


def test_it_lists_open_letters_on_the_front_page(client, letter):
    Letter.objects.create(slug="draft", title="A draft nobody sees", body="Not yet.")
    html = client.get("/").content.decode()
    assert ENGLISH_TITLE in html and f'href="/letters/{letter.slug}/"' in html
    assert "A draft nobody sees" not in html
    assert SPANISH_TITLE in client.get("/es/").content.decode()
