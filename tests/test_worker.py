"""`undersigned worker`: sends the outbox over real SMTP, retries temporary failures, forgets addresses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from django.utils import timezone

from undersigned.cli import main
from undersigned.letters.models import Letter
from undersigned.messaging import emails
from undersigned.messaging.models import OutgoingEmail
from undersigned.messaging.worker import deliver_due_emails
from tests.support.site import free_port

pytestmark = pytest.mark.django_db


class FlakyHandler:
    """Answers 451 (try again later) to the first ``failures`` messages, then accepts."""

    def __init__(self, failures: int, code: str = "451 4.3.0 Try again later"):
        self.failures, self.code, self.received = failures, code, []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.failures > 0:
            self.failures -= 1
            return self.code
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def flaky_smtp(settings):
    def start(failures, code="451 4.3.0 Try again later"):
        handler = FlakyHandler(failures, code)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        started.append(controller)
        return handler

    started = []
    yield start
    for controller in started:
        controller.stop()


def queue_one(address="ana@example.org"):
    emails.already_signed(address, letter_title="A letter", letter_url="http://127.0.0.1:8000/letters/a/")


def test_it_sends_and_then_forgets_the_address(flaky_smtp):
    handler = flaky_smtp(failures=0)
    queue_one()
    assert "ana@example.org" not in OutgoingEmail.objects.get().sealed_recipient  # sealed while waiting
    assert deliver_due_emails() == 1
    assert handler.received[0].rcpt_tos == ["ana@example.org"]
    assert not OutgoingEmail.objects.exists()


def test_it_retries_a_temporary_failure_later(flaky_smtp):
    handler = flaky_smtp(failures=1)
    queue_one()
    assert deliver_due_emails() == 0
    message = OutgoingEmail.objects.get()
    assert message.attempts == 1 and message.next_attempt_at > timezone.now()
    OutgoingEmail.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert deliver_due_emails() == 1
    assert len(handler.received) == 1


def test_it_drops_a_message_the_server_refuses_for_good(flaky_smtp, caplog):
    flaky_smtp(failures=1, code="550 5.1.1 No such user")
    queue_one("nobody@example.org")
    assert deliver_due_emails() == 0
    assert not OutgoingEmail.objects.exists()
    ours = [record.getMessage() for record in caplog.records if record.name.startswith("undersigned")]
    assert ours and not any("nobody@example.org" in line for line in ours)  # SMTP errors quote addresses


def test_it_retries_when_the_server_is_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens on 9
    queue_one()
    assert deliver_due_emails() == 0
    assert OutgoingEmail.objects.get().attempts == 1


def test_it_opens_and_closes_letters_on_schedule(flaky_smtp):
    flaky_smtp(failures=0)
    now = timezone.now()
    due = Letter.objects.create(slug="due", title="Due", body="x", opens_at=now - timedelta(minutes=1))
    ending = Letter.objects.create(slug="ending", title="Ending", body="x", status=Letter.Status.OPEN,
                                   closes_at=now - timedelta(minutes=1))
    later = Letter.objects.create(slug="later", title="Later", body="x", opens_at=now + timedelta(days=1))
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    due.refresh_from_db(); ending.refresh_from_db(); later.refresh_from_db()  # noqa: E702
    assert (due.status, ending.status, later.status) == ("open", "closed", "draft")
    assert not hasattr(ending, "secret") or not type(ending).objects.filter(pk=ending.pk, secret__isnull=False).exists()


def test_the_message_id_names_the_sender_s_domain_not_this_machine(flaky_smtp, settings):
    import socket

    handler = flaky_smtp(failures=0)
    settings.NEUTRAL_FROM_EMAIL = "Mail <noreply@neutral.example>"
    emails.verification_code("ana@example.org", code="12345678", minutes=15)
    assert deliver_due_emails() == 1
    headers = handler.received[0].content.split(b"\r\n\r\n", 1)[0].decode()
    message_id = next(line for line in headers.splitlines() if line.lower().startswith("message-id:"))
    assert message_id.rstrip().endswith("@neutral.example>"), message_id
    assert len(socket.getfqdn()) < 4 or socket.getfqdn() not in headers


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_sends_what_django_would_have_written(flaky_smtp, language):
    # The worker writes the common message shape itself (cheaper than the email package); a mail
    # client must read exactly what Django's EmailMultiAlternatives would have sent.
    import email
    import email.policy

    from django.utils import translation

    from undersigned.messaging.worker import _as_django_message

    handler = flaky_smtp(failures=0)
    long_title = "Cancel the contracts with ICE — now, and every one of them,\u2028across all the agencies " * 2
    with translation.override(language):
        emails.signature_confirmation("ana.o'neil+letters@example.org", letter_title=long_title, hours=72,
                                      confirm_url="http://127.0.0.1:8000/signatures/confirm/abc-_1/",
                                      withdraw_url="http://127.0.0.1:8000/signatures/withdraw/def-_2/")
        queue_one("bo@sub.example.org")
    queued = list(OutgoingEmail.objects.order_by("id"))
    expected = [_as_django_message(message, to, None).message().as_bytes(linesep="\r\n")
                for message, to in zip(queued, ["ana.o'neil+letters@example.org", "bo@sub.example.org"])]
    assert deliver_due_emails() == 2

    def read(data):
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        headers = [(name, str(value)) for name, value in parsed.items() if name not in ("Date", "Message-ID", "Content-Type")]
        parts = [(part.get_content_type(), part["Content-Transfer-Encoding"], part.get_content()) for part in parsed.iter_parts()]
        return parsed.get_content_type(), headers, parts, parsed["Message-ID"].endswith("@localhost>"), bool(parsed["Date"])

    received = sorted(handler.received, key=lambda envelope: envelope.rcpt_tos != ["ana.o'neil+letters@example.org"])
    assert [read(envelope.content) for envelope in received] == [read(data) for data in expected]
    assert [envelope.rcpt_tos for envelope in received] == [["ana.o'neil+letters@example.org"], ["bo@sub.example.org"]]
    assert b"abc-_1" in received[0].content


def test_it_leaves_unusual_messages_to_django(flaky_smtp):
    handler = flaky_smtp(failures=0)
    queue_one("zoë@bücher.example")  # an international address
    emails.already_signed("ana@example.org", letter_title="A" * 1200, letter_url="http://127.0.0.1:8000/letters/a/")
    assert deliver_due_emails() == 2
    received = sorted(handler.received, key=lambda envelope: envelope.rcpt_tos)
    assert [envelope.rcpt_tos for envelope in received] == [["ana@example.org"], ["zoë@xn--bcher-kva.example"]]
    assert b"quoted-printable" in received[0].content  # a line too long for 8-bit transfer
