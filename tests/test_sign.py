"""The signing form: /letters/<slug>/sign/ (and /es/…)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.support.cast import (  # noqa: F401 (fixtures)
    ENGLISH_TITLE, SPANISH_TITLE, companies, confirm, form_data, letter, mailbox, organizer_action, sign, sign_path,
    signed,
)
from tests.support.pages import page_text, read_letter_page
from undersigned.letters.models import Letter
from undersigned.messaging.models import OutgoingEmail
from undersigned.moderation.models import RateLimit
from undersigned.signatures.models import Signature

pytestmark = pytest.mark.django_db


def total(client, letter) -> int:
    return read_letter_page(client.get(f"/letters/{letter.slug}/").content.decode())["total"]


def test_it_shows_the_form_with_company_suggestions(client, letter):
    response = client.get(sign_path(letter))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'list="company-suggestions"' in html
    assert '<option value="Google">' in html and '<option value="AWS">' in html
    # Anonymous is the default.
    assert re.search(r'<input[^>]*value="anonymous"[^>]*checked', html)
    assert not re.search(r'<input[^>]*value="named"[^>]*checked', html)


@pytest.mark.parametrize("language, advice", [
    ("en", ["Use a personal address, not your work one", "Sign from a device and a network of your own"]),
    ("es", ["Usa una dirección personal, no la del trabajo", "Firma desde un dispositivo y una red propios"]),
])
def test_it_advises_a_personal_address_device_and_network(client, letter, language, advice):
    # The confirmation email names the letter; a work mailbox, laptop or network is the employer's to read.
    text = page_text(client.get(sign_path(letter, language)).content.decode())
    for words in advice:
        assert words in text


def test_it_counts_a_signature_only_after_the_link_is_followed(client, letter, mailbox):
    response = sign(client, letter, email="jane.doe@google.com")
    assert response.status_code == 302
    assert response["Location"] == f"/letters/{letter.slug}/sign/check-your-email/"
    assert client.get(response["Location"]).status_code == 200
    assert total(client, letter) == 0

    message = mailbox.deliver_one("jane.doe@google.com")
    assert ENGLISH_TITLE in message.subject
    confirm_path = mailbox.path(message, "confirm")
    assert mailbox.path(message, "withdraw")

    # Following the link (as a mail scanner does) shows a button and signs nobody.
    assert client.get(confirm_path).status_code == 200
    assert client.head(confirm_path).status_code == 200
    assert total(client, letter) == 0

    assert client.post(confirm_path).status_code == 200
    page = read_letter_page(client.get(f"/letters/{letter.slug}/").content.decode())
    assert page["total"] == 1
    assert page["by_company"]["Alphabet"] == (0, 1, 1)
    assert page["signatures"] == ["Anonymous, Google"]


def test_it_keeps_no_email_address_after_signing(client, letter, mailbox):
    signed(client, letter, mailbox, email="jane.doe@google.com")
    assert not OutgoingEmail.objects.exists()  # sent, then forgotten
    for signature in Signature.objects.all():
        for field in signature._meta.concrete_fields:
            value = field.value_from_object(signature)
            if isinstance(value, memoryview | bytes):
                value = bytes(value).decode("latin-1")
            assert "jane.doe" not in str(value)


@pytest.mark.parametrize("second_address", ["jane.doe@google.com", "JANE.DOE@Google.COM", "jane.doe+letters@google.com"])
def test_it_answers_a_second_signature_from_the_same_address_by_email_only(client, letter, mailbox, second_address):
    signed(client, letter, mailbox, email="jane.doe@google.com")

    fresh = sign(client, letter, email="somebody.else@google.com")
    again = sign(client, letter, email=second_address, visibility="named", name="Jane Doe")
    # The page says exactly the same thing either way: it never reveals who has signed.
    assert (again.status_code, again["Location"], again.content) == (fresh.status_code, fresh["Location"], fresh.content)

    messages = {message.to[0]: message for message in mailbox.deliver()}
    assert set(messages) == {"somebody.else@google.com", second_address}
    assert messages[second_address].subject.startswith("You have already signed")
    assert "/signatures/confirm/" not in messages[second_address].body
    assert "/signatures/confirm/" in messages["somebody.else@google.com"].body
    assert Signature.objects.filter(status=Signature.Status.CONFIRMED).count() == 1
    assert total(client, letter) == 1


def test_it_lets_a_withdrawn_signer_sign_again(client, letter, mailbox):
    confirmed = signed(client, letter, mailbox, email="jane.doe@google.com")
    withdraw_path = confirmed.content.decode().split('id="withdraw-link" href="')[1].split('"')[0]
    assert client.post(withdraw_path).status_code == 200
    assert total(client, letter) == 0
    signed(client, letter, mailbox, email="jane.doe@google.com")
    assert total(client, letter) == 1


def test_it_replaces_the_link_when_a_pending_signer_submits_again(client, letter, mailbox):
    sign(client, letter, email="jane.doe@google.com", company="Google")
    first = mailbox.path(mailbox.deliver_one("jane.doe@google.com"), "confirm")
    sign(client, letter, email="Jane.Doe@google.com", company="AWS")
    second_message = mailbox.deliver_one("Jane.Doe@google.com")
    assert "confirm" in second_message.subject.lower()
    second = mailbox.path(second_message, "confirm")
    assert first != second

    assert client.get(first).status_code == 404
    assert client.post(first).status_code == 404
    assert total(client, letter) == 0
    assert client.post(second).status_code == 200
    page = read_letter_page(client.get(f"/letters/{letter.slug}/").content.decode())
    # The newest form wins.
    assert page["signatures"] == ["Anonymous, Amazon Web Services"]
    assert Signature.objects.count() == 1


LONG = "x" * 1000


@pytest.mark.parametrize("fields, field", [
    ({"email": "not-an-address"}, "email"),
    ({"email": ""}, "email"),
    ({"email": "jane@" + "x" * 260 + ".com"}, "email"),
    ({"company": ""}, "company"),
    ({"company": LONG}, "company"),
    ({"name": LONG, "visibility": "named"}, "name"),
    ({"role": LONG}, "role"),
    ({"comment": "y" * 501}, "comment"),
    ({"visibility": "named", "name": ""}, "name"),
    ({"visibility": "everyone"}, "visibility"),
    ({"name": "Jane\x07Doe", "visibility": "named"}, "name"),
    ({"company": "Goo\u202egle"}, "company"),
    ({"comment": "null\x00byte"}, "comment"),
    ({"role": "zero\u200bwidth"}, "role"),
])
def test_it_refuses_bad_input_with_a_clear_400(client, letter, mailbox, fields, field):
    response = sign(client, letter, **fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(rf'id="id_{field}_error"|<ul class="errorlist[^"]*" id="id_{field}_error"', html), html
    assert not OutgoingEmail.objects.exists()
    assert not Signature.objects.exists()


def test_it_keeps_what_was_typed_when_the_form_has_errors(client, letter):
    response = sign(client, letter, company="AWS", role="SRE", email="nope")
    html = response.content.decode()
    assert 'value="AWS"' in html and 'value="SRE"' in html


def test_it_refuses_forms_sent_from_another_site(letter, mailbox):
    # No CSRF cookie on signers' pages (it would link their visits): a cross-site POST is refused by its
    # Sec-Fetch-Site / Origin headers instead (undersigned.lib.crossorigin; every public form in
    # tests/test_cross_origin.py).
    client = Client(enforce_csrf_checks=True)
    page = client.get(sign_path(letter))
    assert "csrfmiddlewaretoken" not in page.content.decode() and not page.cookies
    assert client.post(sign_path(letter), form_data(), HTTP_ORIGIN="https://evil.example").status_code == 403
    assert client.post(sign_path(letter), form_data(), HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert not OutgoingEmail.objects.exists()

    assert client.post(sign_path(letter), form_data(), HTTP_ORIGIN="http://testserver").status_code == 302
    confirm_path = mailbox.path(mailbox.deliver_one("jane.doe@google.com"), "confirm")

    # The confirmation and withdrawal buttons are forms too.
    assert client.post(confirm_path, HTTP_ORIGIN="https://evil.example").status_code == 403
    confirmed = client.post(confirm_path, HTTP_SEC_FETCH_SITE="same-origin")
    assert confirmed.status_code == 200
    withdraw_path = confirmed.content.decode().split('id="withdraw-link" href="')[1].split('"')[0]
    assert client.post(withdraw_path, HTTP_SEC_FETCH_SITE="same-site").status_code == 403
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


def test_it_answers_403_for_a_closed_letter(client, letter, mailbox):
    letter.close()
    for response in (client.get(sign_path(letter)), sign(client, letter)):
        assert response.status_code == 403
        assert "no longer takes signatures" in page_text(response.content.decode())
    assert not OutgoingEmail.objects.exists()


def test_it_answers_404_for_an_unknown_or_draft_letter(client, letter, mailbox):
    assert client.get("/letters/no-such-letter/sign/").status_code == 404
    assert client.post("/letters/no-such-letter/sign/", form_data()).status_code == 404
    Letter.objects.create(slug="draft", title="Draft", body="Not yet.")
    assert client.get("/letters/draft/sign/").status_code == 404
    assert client.post("/letters/draft/sign/", form_data()).status_code == 404


def test_it_refuses_other_methods(client, letter):
    assert client.put(sign_path(letter)).status_code == 405
    assert client.delete(sign_path(letter)).status_code == 405


def test_it_signs_in_spanish(client, letter, mailbox):
    response = sign(client, letter, language="es", email="maria@google.com")
    assert response.status_code == 302
    assert response["Location"] == f"/es/letters/{letter.slug}/sign/check-your-email/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and '<html lang="es">' in page.content.decode()

    message = mailbox.deliver_one("maria@google.com")
    assert SPANISH_TITLE in message.subject
    assert SPANISH_TITLE in message.body
    confirm_path = mailbox.path(message, "confirm")
    assert confirm_path.startswith("/es/signatures/confirm/")
    assert mailbox.path(message, "withdraw").startswith("/es/signatures/withdraw/")
    confirmed = client.post(confirm_path)
    assert confirmed.status_code == 200 and SPANISH_TITLE in confirmed.content.decode()
    assert read_letter_page(client.get(f"/es/letters/{letter.slug}/").content.decode())["total"] == 1


def test_it_holds_signatures_over_the_network_address_limit(client, letter, mailbox, admin_client):
    RateLimit.objects.update_or_create(scope=RateLimit.Scope.NETWORK, letter=None, defaults={"max_per_day": 2})
    for number in range(3):
        signed(client, letter, mailbox, email=f"person{number}@google.com")
    # The third is confirmed (nothing is dropped) but waits for an organizer instead of counting.
    statuses = list(Signature.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["confirmed", "confirmed", "held"]
    assert total(client, letter) == 2

    held_page = admin_client.get("/organizer/signatures/signature/", {"status__exact": "held"})
    assert held_page.status_code == 200
    held = Signature.objects.get(status=Signature.Status.HELD)
    assert f'/organizer/signatures/signature/{held.pk}/change/' in held_page.content.decode()

    organizer_action(admin_client, "release", [held])
    assert total(client, letter) == 3


def test_it_tells_a_held_signer_that_an_organizer_will_look(client, letter, mailbox):
    RateLimit.objects.update_or_create(scope=RateLimit.Scope.NETWORK, letter=None, defaults={"max_per_day": 0})
    confirmed = signed(client, letter, mailbox, email="jane.doe@google.com")
    assert "organizer will look at it" in page_text(confirmed.content.decode())
    assert total(client, letter) == 0


def test_it_holds_signatures_over_the_email_domain_limit(client, letter, mailbox):
    RateLimit.objects.update_or_create(scope=RateLimit.Scope.EMAIL_DOMAIN, letter=None, defaults={"max_per_day": 1})
    signed(client, letter, mailbox, email="one@google.com")
    signed(client, letter, mailbox, email="two@GOOGLE.com")
    signed(client, letter, mailbox, email="three@amazon.com", company="Amazon")
    assert list(Signature.objects.order_by("id").values_list("status", flat=True)) == ["confirmed", "held", "confirmed"]
    assert total(client, letter) == 2


def test_it_uses_a_letters_own_limit_before_the_general_one(client, letter, mailbox):
    RateLimit.objects.update_or_create(scope=RateLimit.Scope.NETWORK, letter=None, defaults={"max_per_day": 0})
    RateLimit.objects.create(scope=RateLimit.Scope.NETWORK, letter=letter, max_per_day=5)
    signed(client, letter, mailbox, email="jane.doe@google.com")
    assert total(client, letter) == 1


def test_it_lets_browsers_send_their_origin_with_the_form(letter, mailbox):
    # Under "Referrer-Policy: no-referrer" browsers send "Origin: null" with every form POST, which
    # the cross-site check refuses when Sec-Fetch-Site is absent: the form would not work in browsers
    # without Sec-Fetch-Site (found by the browser test, then with Django's CSRF check).
    client = Client(enforce_csrf_checks=True)
    page = client.get(sign_path(letter))
    assert page["Referrer-Policy"] not in ("no-referrer", "")
    assert 'name="referrer" content="no-referrer"' not in page.content.decode()
    response = client.post(sign_path(letter), form_data(), HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302


def test_a_closing_letter_gets_no_new_digest_secret():
    # A request read the letter while it was open; it closed before the first signature made its
    # secret. No secret may appear after the closing deleted them (nobody could then test an address).
    from undersigned.letters.models import LetterSecret
    from undersigned.signatures.actions import SigningClosed, email_digest
    from undersigned.verification.actions import Closed, address_digest
    from undersigned.verification.models import VerificationSecret

    letter = Letter.objects.create(slug="closing", title="Closing", body="Text", status=Letter.Status.OPEN)
    seen_open = Letter.objects.get(pk=letter.pk)
    letter.close()
    with pytest.raises(SigningClosed):
        email_digest(seen_open, "jane@example.org")
    with pytest.raises(Closed):
        address_digest(seen_open, "jane@google.com")
    assert not LetterSecret.objects.exists() and not VerificationSecret.objects.exists()
