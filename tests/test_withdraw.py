"""The private withdrawal link: /signatures/withdraw/<token>/ (a button; pressing it withdraws)."""

from __future__ import annotations

import pytest

from tests.support.cast import companies, letter, mailbox, sign, signed  # noqa: F401 (fixtures)
from tests.support.pages import page_text, read_letter_page
from undersigned.signatures.models import Signature

pytestmark = pytest.mark.django_db


def page(client, letter) -> dict:
    return read_letter_page(client.get(f"/letters/{letter.slug}/").content.decode())


def withdraw_link(confirmed_page) -> str:
    return confirmed_page.content.decode().split('id="withdraw-link" href="')[1].split('"')[0]


def test_it_removes_the_signature_from_the_list_and_the_counts(client, letter, mailbox):
    signed(client, letter, mailbox, email="other@amazon.com", company="Amazon")
    confirmed = signed(client, letter, mailbox, email="jane.doe@google.com", visibility="named", name="Jane Doe")
    before = page(client, letter)
    assert before["total"] == 2 and "Alphabet" in before["by_company"]

    path = withdraw_link(confirmed)
    shown = client.get(path)
    assert shown.status_code == 200 and '<form method="post"' in shown.content.decode()
    assert page(client, letter)["total"] == 2  # following the link alone changes nothing

    done = client.post(path)
    assert done.status_code == 200
    assert "withdrawn" in page_text(done.content.decode())
    after = page(client, letter)
    assert after["total"] == 1
    assert "Alphabet" not in after["by_company"]
    assert after["signatures"] == ["Anonymous, Amazon"]


def test_it_works_from_the_email_link_too(client, letter, mailbox):
    sign(client, letter, email="jane.doe@google.com")
    message = mailbox.deliver_one("jane.doe@google.com")
    client.post(mailbox.path(message, "confirm"))
    # The link in the email is the one the confirmed page shows.
    assert client.post(mailbox.path(message, "withdraw")).status_code == 200
    assert page(client, letter)["total"] == 0


def test_it_erases_the_display_fields(client, letter, mailbox):
    confirmed = signed(client, letter, mailbox, email="jane.doe@google.com", visibility="named", name="Jane Doe",
                       role="Engineer", comment="Cancel them.")
    client.post(withdraw_link(confirmed))
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.WITHDRAWN
    assert (signature.name, signature.role, signature.comment) == ("", "", "")


def test_it_withdraws_a_pending_signature_before_it_counts(client, letter, mailbox):
    sign(client, letter, email="jane.doe@google.com")
    message = mailbox.deliver_one("jane.doe@google.com")
    assert client.post(mailbox.path(message, "withdraw")).status_code == 200
    confirm = client.post(mailbox.path(message, "confirm"))
    assert "withdrawn" in page_text(confirm.content.decode())
    assert page(client, letter)["total"] == 0


def test_it_is_idempotent(client, letter, mailbox):
    path = withdraw_link(signed(client, letter, mailbox))
    assert client.post(path).status_code == 200
    again = client.post(path)
    assert again.status_code == 200 and "withdrawn" in page_text(again.content.decode())
    assert client.get(path).status_code == 200
    assert page(client, letter)["total"] == 0


@pytest.mark.parametrize("token", ["nonsense", "x" * 43, "a" * 2000])
def test_it_answers_404_for_an_unknown_link(client, letter, token):
    assert client.get(f"/signatures/withdraw/{token}/").status_code == 404
    assert client.post(f"/signatures/withdraw/{token}/").status_code == 404


def test_it_withdraws_in_spanish(client, letter, mailbox):
    sign(client, letter, language="es", email="maria@google.com")
    message = mailbox.deliver_one("maria@google.com")
    client.post(mailbox.path(message, "confirm"))
    response = client.get(mailbox.path(message, "withdraw"))
    assert '<html lang="es">' in response.content.decode()
    assert client.post(mailbox.path(message, "withdraw")).status_code == 200
    assert page(client, letter)["total"] == 0
