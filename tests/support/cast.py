"""The cast of the signing tests, defined in code: a letter (English, with a Spanish translation), the
companies Google (parent Alphabet) and Amazon Web Services (parent Amazon), and a mailbox that the
outbox worker delivers to (Django's locmem backend).

Test modules import the fixtures they use::

    from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)

Signing goes through the stable interfaces (the form, the JSON API, the links in the emails); the
helpers here only spare each test the typing.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from undersigned.companies.models import Company, EmailDomain
from undersigned.letters.models import Letter, LetterTranslation
from undersigned.messaging.worker import deliver_due_emails

LETTER_SLUG = "stop-the-contracts"
ENGLISH_TITLE = "Workers against the contracts"
SPANISH_TITLE = "Trabajadores contra los contratos"


@pytest.fixture
def companies(db) -> dict[str, Company]:
    """Alphabet ← Google (google.com) and Amazon ← Amazon Web Services ("AWS"), by slug."""

    def company(slug, name, parent=None, aliases=(), domains=()):
        made, _ = Company.objects.update_or_create(
            slug=slug, defaults={"name": name, "parent": parent, "aliases": list(aliases)}
        )
        for domain in domains:
            EmailDomain.objects.update_or_create(domain=domain, defaults={"company": made})
        return made

    alphabet = company("alphabet", "Alphabet")
    amazon = company("amazon", "Amazon", domains=["amazon.com"])
    return {
        "alphabet": alphabet,
        "google": company("google", "Google", parent=alphabet, aliases=["Google LLC"], domains=["google.com"]),
        "amazon": amazon,
        "aws": company("aws", "Amazon Web Services", parent=amazon, aliases=["AWS"]),
    }


@pytest.fixture
def letter(db, companies, settings) -> Letter:
    """An open letter with a Spanish translation. Signatures count as soon as they are confirmed."""
    settings.PUBLICATION_INTERVAL = 0
    letter = Letter.objects.create(
        slug=LETTER_SLUG, language="en", status=Letter.Status.OPEN, title=ENGLISH_TITLE,
        summary="Cancel them.", body="We ask our employers to **cancel** their contracts with ICE.",
        demands="1. Cancel the contracts.", addressees="The chief executives.",
    )
    LetterTranslation.objects.create(
        letter=letter, language="es", title=SPANISH_TITLE, summary="Cancélenlos.",
        body="Pedimos a nuestras empresas que **cancelen** sus contratos con ICE.",
        demands="1. Cancelar los contratos.", addressees="Los directores ejecutivos.",
    )
    return letter


class Mailbox:
    """What the outbox worker sent, through Django's locmem email backend."""

    def __init__(self):
        self.seen = 0

    def deliver(self) -> list:
        """Run the worker once; the messages it sent."""
        deliver_due_emails()
        new = mail.outbox[self.seen:]
        self.seen = len(mail.outbox)
        return new

    def deliver_one(self, to: str):
        messages = self.deliver()
        assert [m.to for m in messages] == [[to]], [(m.to, m.subject) for m in messages]
        return messages[0]

    @staticmethod
    def path(message, kind: str) -> str:
        """The path of the ``kind`` ("confirm" or "withdraw") link in a message's text."""
        found = re.search(rf"https?://\S+/signatures/{kind}/[\w-]+/", message.body)
        assert found, f"no {kind} link in:\n{message.body}"
        return urlsplit(found.group(0)).path


@pytest.fixture
def mailbox(settings) -> Mailbox:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return Mailbox()


def form_data(**fields) -> dict:
    data = {"visibility": "anonymous", "name": "", "company": "Google", "role": "", "comment": "",
            "email": "jane.doe@google.com"}
    data.update(fields)
    return data


def sign_path(letter, language: str = "en") -> str:
    prefix = "" if language == "en" else f"/{language}"
    return f"{prefix}/letters/{letter.slug}/sign/"


def sign(client, letter, *, language: str = "en", **fields):
    """Submit the signing form."""
    return client.post(sign_path(letter, language), form_data(**fields))


def sign_api(client, letter, **fields):
    body = {"company": "Google", "email": "jane.doe@google.com"}
    body.update(fields)
    return client.post(f"/api/v1/letters/{letter.slug}/signatures", json.dumps(body), content_type="application/json")


def confirm(client, mailbox: Mailbox, email: str):
    """Follow the confirmation link sent to ``email`` and press the button; the confirmed page."""
    path = mailbox.path(mailbox.deliver_one(email), "confirm")
    assert client.get(path).status_code == 200
    response = client.post(path)
    assert response.status_code == 200, response.content
    return response


def signed(client, letter, mailbox: Mailbox, **fields):
    """A complete signing through the form: submit, then confirm. The confirmed page."""
    email = form_data(**fields)["email"]
    response = sign(client, letter, **fields)
    assert response.status_code == 302, response.content.decode()
    return confirm(client, mailbox, email)


def organizer_action(admin_client, action: str, signatures) -> None:
    """An organizer applies a moderation action (approve, hide, release…) in the organizer area."""
    response = admin_client.post("/organizer/signatures/signature/", {
        "action": action, "_selected_action": [signature.pk for signature in signatures], "index": 0,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
