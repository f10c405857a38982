"""The messages queued in the outbox (undersigned.messaging.emails): each recipient's links and codes in
the text rendered for everyone, identical to rendering the templates for that recipient alone."""

from __future__ import annotations

import pytest
from django.utils import translation

from undersigned.lib.sealing import unseal
from undersigned.messaging import emails
from undersigned.messaging.models import OutgoingEmail

pytestmark = pytest.mark.django_db

TITLE = "Stop <the> contracts & \"more\""


def confirmation(number: int) -> dict:
    return {"letter_title": TITLE, "hours": 72, "confirm_url": f"https://letters.example/signatures/confirm/c-{number}_x/",
            "withdraw_url": f"https://letters.example/signatures/withdraw/w-{number}_y/"}


def rendered_alone(template: str, context: dict) -> tuple[str, str, str]:
    return emails._render(template, {"SITE_NAME": "undersigned", "SITE_URL": "http://127.0.0.1:8000", **context})


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_gives_each_signer_their_own_links_in_the_text_everyone_gets(settings, language):
    settings.SITE_NAME, settings.SITE_URL = "undersigned", "http://127.0.0.1:8000"
    with translation.override(language):
        for number in range(3):
            emails.signature_confirmation(f"signer{number}@example.org", **confirmation(number))
        expected = [rendered_alone("confirm-signature", confirmation(number)) for number in range(3)]
    queued = list(OutgoingEmail.objects.order_by("id"))
    assert [(message.subject, message.body_text, message.body_html) for message in queued] == expected
    assert [unseal(message.sealed_recipient) for message in queued] == [f"signer{n}@example.org" for n in range(3)]
    assert "c-1_x" in queued[1].body_text and "c-1_x" in queued[1].body_html and "c-0_x" not in queued[1].body_text
    assert "&lt;the&gt;" in queued[0].body_html and "<the>" in queued[0].body_text  # escaped where HTML


def test_a_value_that_html_escaping_would_change_is_rendered_in_full(settings):
    settings.SITE_NAME, settings.SITE_URL = "undersigned", "http://127.0.0.1:8000"
    context = {**confirmation(1), "confirm_url": "https://letters.example/confirm/?a=1&b=<2>"}
    emails.signature_confirmation("signer@example.org", **context)
    message = OutgoingEmail.objects.get()
    assert (message.subject, message.body_text, message.body_html) == rendered_alone("confirm-signature", context)


def test_a_verification_code_goes_to_its_recipient_only(settings):
    settings.SITE_NAME, settings.SITE_URL = "undersigned", "http://127.0.0.1:8000"
    emails.verification_code("a@example.org", code="123456", minutes=15)
    emails.verification_code("b@example.org", code="654321", minutes=15)
    first, second = OutgoingEmail.objects.order_by("id")
    assert (first.subject, first.body_text, first.body_html) == rendered_alone("verification-code", {"code": "123456", "minutes": 15})
    assert "654321" in second.body_text and "654321" in second.body_html and "123456" not in second.body_html
