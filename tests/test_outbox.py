"""The demo outbox: with no EMAIL_URL, a newcomer completes a signing by reading the email at /outbox/."""

from __future__ import annotations

import html
import re

import pytest

from tests.support.cast import companies, letter, sign  # noqa: F401 (fixtures)
from tests.support.pages import read_letter_page
from undersigned.messaging.worker import deliver_due_emails

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_outbox(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.DEMO_OUTBOX = True
    return settings.OUTBOX_DIR


def test_a_newcomer_signs_through_the_demo_outbox(client, letter, demo_outbox):
    assert client.get("/outbox/").status_code == 200
    assert sign(client, letter, email="newcomer@google.com").status_code == 302
    assert deliver_due_emails() == 1
    outbox = client.get("/outbox/")
    assert outbox.status_code == 200 and "no-store" in outbox["Cache-Control"]
    link = re.search(r"https?://[^\s<\"]+/signatures/confirm/[\w-]+/", html.unescape(outbox.content.decode())).group(0)
    path = "/" + link.split("/", 3)[3]
    assert client.post(path).status_code == 200
    assert read_letter_page(client.get(f"/letters/{letter.slug}/").content.decode())["total"] == 1


def test_there_is_no_outbox_when_a_mail_server_is_configured(client, settings):
    settings.DEMO_OUTBOX = False
    assert client.get("/outbox/").status_code == 404


def test_the_outbox_is_shown_only_to_this_machine(client, demo_outbox):
    # `serve --bind 0.0.0.0` without a mail server: others on the network must not read the codes.
    assert client.get("/outbox/").status_code == 200
    assert client.get("/outbox/", REMOTE_ADDR="192.0.2.7").status_code == 404
    assert client.get("/outbox/", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/outbox/", HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 404  # through a proxy
