"""The confirmation link: /signatures/confirm/<token>/ (a button; only pressing it confirms)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.cast import companies, letter, mailbox, sign  # noqa: F401 (fixtures)
from tests.support.pages import page_text, read_letter_page
from undersigned.messaging.worker import run_scheduled_jobs
from undersigned.signatures.models import Signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirm_path(client, letter, mailbox) -> str:
    sign(client, letter, email="jane.doe@google.com")
    return mailbox.path(mailbox.deliver_one("jane.doe@google.com"), "confirm")


def total(client, letter) -> int:
    return read_letter_page(client.get(f"/letters/{letter.slug}/").content.decode())["total"]


def test_it_shows_a_button_and_does_not_confirm_on_get(client, letter, confirm_path):
    for _ in range(3):  # a mail gateway scanning the link, a preview, the person
        response = client.get(confirm_path)
        assert response.status_code == 200
        assert "<form method=\"post\"" in response.content.decode()
        assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert total(client, letter) == 0


def test_it_confirms_on_post_and_shows_the_withdrawal_link(client, letter, confirm_path):
    response = client.post(confirm_path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="withdraw-link" href="/signatures/withdraw/' in html
    assert "confirmed and counted" in page_text(html)
    assert total(client, letter) == 1


def test_it_shows_what_is_being_confirmed(client, letter, mailbox):
    # Anyone who knows an address can submit the form with it; the newest submission is what the link
    # confirms. The page shows it, so that a person does not confirm someone else's words as their own.
    sign(client, letter, email="victim@google.com")  # anonymous, as the person chose
    first = page_text(client.get(mailbox.path(mailbox.deliver_one("victim@google.com"), "confirm")).content.decode())
    assert "What you are confirming" in first and "Shown as Anonymous" in first

    sign(client, letter, email="victim@google.com", visibility="named", name="Victim Realname",
         role="Manager", comment="Words put in my mouth")
    path = mailbox.path(mailbox.deliver_one("victim@google.com"), "confirm")
    shown = page_text(client.get(path).content.decode())
    for text in ("Victim Realname", "Manager", "Words put in my mouth", "do not confirm"):
        assert text in shown, text


def test_it_confirms_once(client, letter, confirm_path):
    client.post(confirm_path)
    again = client.post(confirm_path)
    assert again.status_code == 200
    assert 'id="withdraw-link"' in again.content.decode()  # the same page: the signer may have lost it
    assert client.get(confirm_path).status_code == 200
    assert total(client, letter) == 1


def test_it_explains_an_expired_link_with_410(client, letter, confirm_path):
    Signature.objects.update(confirmation_expires_at=timezone.now() - timedelta(hours=1, minutes=1))  # stored rounded up to the hour
    for response in (client.get(confirm_path), client.post(confirm_path)):
        assert response.status_code == 410
        text = page_text(response.content.decode())
        assert "expired" in text
        assert "fill in the form again" in text
        assert f'href="/letters/{letter.slug}/sign/"' in response.content.decode()
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert total(client, letter) == 0


def test_it_lets_an_expired_signer_sign_again(client, letter, mailbox, confirm_path):
    Signature.objects.update(confirmation_expires_at=timezone.now() - timedelta(hours=1, minutes=1))  # stored rounded up to the hour
    sign(client, letter, email="jane.doe@google.com")
    fresh = mailbox.path(mailbox.deliver_one("jane.doe@google.com"), "confirm")
    assert client.post(fresh).status_code == 200
    assert total(client, letter) == 1


def test_it_forgets_long_expired_signatures(client, letter, confirm_path):
    Signature.objects.update(confirmation_expires_at=timezone.now() - timedelta(days=8))
    run_scheduled_jobs()
    assert not Signature.objects.exists()
    assert client.get(confirm_path).status_code == 404


@pytest.mark.parametrize("token", ["nonsense", "x" * 43, "%00", "..", "a" * 2000])
def test_it_answers_404_for_an_unknown_link(client, letter, token):
    response = client.get(f"/signatures/confirm/{token}/")
    assert response.status_code == 404
    assert client.post(f"/signatures/confirm/{token}/").status_code == 404


def test_it_does_not_confirm_once_the_letter_is_closed(client, letter, confirm_path):
    letter.close()
    response = client.post(confirm_path)
    assert response.status_code == 403
    assert Signature.objects.get().status == Signature.Status.PENDING


def test_it_shows_the_confirmation_in_spanish(client, letter, mailbox):
    sign(client, letter, language="es", email="maria@google.com")
    path = mailbox.path(mailbox.deliver_one("maria@google.com"), "confirm")
    page = client.get(path)
    assert '<html lang="es">' in page.content.decode()
    confirmed = client.post(path)
    assert f'id="withdraw-link" href="/es/signatures/withdraw/' in confirmed.content.decode()
