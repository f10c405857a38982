"""The background worker: sends the outbox and runs scheduled jobs. No broker: it polls the database
and claims rows with conditional UPDATEs, so several workers can run side by side.
"""

from __future__ import annotations

import logging
import re
import secrets
import signal
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import Message
from email.utils import formatdate, make_msgid, parseaddr
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import forbid_multi_line_headers, sanitize_address
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from undersigned.lib.sealing import unseal
from undersigned.messaging.models import OutgoingEmail

log = logging.getLogger("undersigned.worker")

MAX_ATTEMPTS = 8
BATCH_SIZE = 200
CLAIM_SECONDS = 120
SCHEDULE_EVERY_SECONDS = 30


def _is_temporary(error: Exception) -> bool:
    """4xx SMTP answers and network trouble are worth retrying; 5xx answers are not."""
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    return isinstance(error, (OSError, smtplib.SMTPServerDisconnected))


def _claim(now) -> list[OutgoingEmail]:
    """Claim up to BATCH_SIZE due messages for CLAIM_SECONDS, in one UPDATE.

    On PostgreSQL, rows another worker is claiming are skipped (SKIP LOCKED); SQLite has one writer at a
    time anyway. A claimed message that is not sent (the worker died) is due again after CLAIM_SECONDS.
    """
    with transaction.atomic():
        ids = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(next_attempt_at__lte=now)
            .order_by("id")
            .values_list("id", flat=True)[:BATCH_SIZE]
        )
        if not ids:
            return []
        OutgoingEmail.objects.filter(pk__in=ids).update(
            attempts=F("attempts") + 1, next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)
        )
    return list(OutgoingEmail.objects.filter(pk__in=ids))


def deliver_due_emails() -> int:
    """Send what is due, over up to EMAIL_CONNECTIONS SMTP connections at once. Returns how many were sent.

    Sending one message takes three round trips to the mail server (MAIL, RCPT, DATA); one connection
    at a time caps delivery at a few dozen messages a second however idle the machine is, and people
    who just signed are waiting for their link. The connections only talk SMTP; this thread does every
    database write.
    """
    messages = _claim(timezone.now())
    if not messages:
        return 0
    count = min(settings.EMAIL_CONNECTIONS, len(messages))
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="smtp") as pool:
        results = list(pool.map(_send_over_one_connection, [messages[start::count] for start in range(count)]))
    sent_ids = [pk for sent, _failed in results for pk in sent]
    # Sent: the addresses are not needed any more.
    OutgoingEmail.objects.filter(pk__in=sent_ids).delete()
    for _sent, failed in results:
        for message, error in failed:
            _retry_or_drop(message, error)
    return len(sent_ids)


def _send_over_one_connection(messages: list[OutgoingEmail]) -> tuple[list[int], list[tuple[OutgoingEmail, Exception]]]:
    """Send ``messages`` over one connection: (ids sent, [(message, error)] not sent). No database access."""
    sent: list[int] = []
    failed: list[tuple[OutgoingEmail, Exception]] = []
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as error:  # noqa: BLE001 - the server is down: retry all of them later
        return sent, [(message, error) for message in messages]
    try:
        for position, message in enumerate(messages):
            to = unseal(message.sealed_recipient)
            try:
                data = _mime_bytes(message, to) if isinstance(connection, SMTPBackend) else None
                if data is not None:
                    connection.connection.sendmail(_envelope_sender(message.from_email), [to], data)
                else:
                    _as_django_message(message, to, connection).send()
            except Exception as error:  # noqa: BLE001
                failed.append((message, error))
                if isinstance(error, (smtplib.SMTPServerDisconnected, OSError)):
                    try:  # the connection is gone: one new one for the rest, else retry them all later
                        connection.close()
                        connection.open()
                    except Exception as reconnect_error:  # noqa: BLE001
                        failed.extend((waiting, reconnect_error) for waiting in messages[position + 1:])
                        break
                continue
            sent.append(message.pk)
    finally:
        connection.close()
    return sent, failed


def _as_django_message(message: OutgoingEmail, to: str, connection) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.body_text, from_email=message.from_email, to=[to],
        connection=connection, headers={"Message-ID": _message_id(message.from_email)},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


# Building a message with Django's EmailMultiAlternatives (the email package's MIME classes and its
# generator, which folds every header) cost the worker about 2 ms of CPU a message, more than the rest
# of sending it. Every message here has one shape: a short plain-text part and an HTML part in UTF-8,
# to one plain address. That shape is written out directly, with the same headers and parts as Django
# writes; the subject and sender, the same for every message of a kind, are encoded and folded by the
# email package once and kept. Anything else (an international address, a line too long for 8-bit
# transfer) goes through Django as before.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
MAX_LINE_BYTES = 998  # RFC 5322; Django switches to quoted-printable beyond it


@lru_cache(maxsize=256)
def _subject_and_sender(subject: str, from_email: str) -> bytes:
    """The Subject and From header lines as Django's message writes them (encoded, folded)."""
    headers = Message()
    for name, value in (("Subject", subject), ("From", from_email)):
        headers[name] = forbid_multi_line_headers(name, value, settings.DEFAULT_CHARSET)[1]
    return headers.as_bytes(policy=headers.policy.clone(linesep="\r\n")).rstrip(b"\r\n")  # no blank line after


@lru_cache(maxsize=64)
def _envelope_sender(from_email: str) -> str:
    return sanitize_address(from_email, settings.DEFAULT_CHARSET)


_LINE_END = re.compile(r"\r\n|\r|\n")  # as the email package splits lines (str.splitlines splits at more)


def _text_part(subtype: str, text: str, boundary: str) -> bytes | None:
    lines = _LINE_END.split(text)
    if boundary in text or any(len(line.encode()) > MAX_LINE_BYTES for line in lines):
        return None
    encoding = "7bit" if text.isascii() else "8bit"
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n" + "\r\n".join(lines)).encode()


def _mime_bytes(message: OutgoingEmail, to: str) -> bytes | None:
    """The message to ``to`` as Django would write it, or None if it is not of the common shape."""
    if not message.body_html or settings.DEFAULT_CHARSET.lower() != "utf-8" or not _PLAIN_ADDRESS.fullmatch(to):
        return None
    boundary = f"==============={secrets.randbelow(10**19):019d}=="
    text = _text_part("plain", message.body_text, boundary)
    html = _text_part("html", message.body_html, boundary)
    if text is None or html is None:
        return None
    date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
    head = (f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\nMIME-Version: 1.0\r\n').encode()
    tail = f"\r\nTo: {to}\r\nDate: {date}\r\nMessage-ID: {_message_id(message.from_email)}\r\n\r\n".encode()
    separator = f"\r\n--{boundary}\r\n".encode()
    return (head + _subject_and_sender(message.subject, message.from_email) + tail + separator[2:] + text
            + separator + html + f"\r\n--{boundary}--\r\n".encode())


def _message_id(from_email: str) -> str:
    """A Message-ID in the sender's domain. Django's default names this machine (socket.getfqdn()),
    which would put the server's host name into the logs of the signer's employer's mail gateway,
    next to the neutral sender of a verification code."""
    domain = parseaddr(from_email)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def _retry_or_drop(message: OutgoingEmail, error: Exception) -> None:
    # Log the kind of error and the message id only: SMTP errors can quote the recipient's address.
    if _is_temporary(error) and message.attempts < MAX_ATTEMPTS:
        delay = timedelta(seconds=min(3600, 30 * 2 ** (message.attempts - 1)))
        OutgoingEmail.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() + delay)
        log.warning("email %s: temporary failure (%s), retry in %ss", message.pk, type(error).__name__, int(delay.total_seconds()))
    else:
        message.delete()
        log.error("email %s: dropped after %s attempt(s) (%s)", message.pk, message.attempts, type(error).__name__)


def run_scheduled_jobs() -> None:
    from undersigned.letters.models import Letter
    from undersigned.moderation import limits
    from undersigned.signatures.actions import prune_expired_confirmations

    Letter.apply_schedules()
    prune_expired_confirmations()
    limits.prune()
    from undersigned.verification.actions import erase_remnants, prune_expired_challenges

    prune_expired_challenges()
    erase_remnants()  # finish any erasure a closing could not complete (a busy database)


def publish_log_batches() -> int:
    from undersigned.ledger.publish import publish_pending

    added = publish_pending()
    if added:
        log.info("published %s log entries", added)
    return added


def run_worker(*, once: bool = False, interval: float = 0.25) -> None:
    running = True

    def stop(signum, frame):  # noqa: ARG001
        nonlocal running
        running = False

    if not once:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    last_schedule = 0.0
    last_publication = 0.0
    log.info("worker started (%s)", "demo outbox" if settings.DEMO_OUTBOX else "SMTP")
    while True:
        if not once:
            # A long-running loop drops broken or too old connections between rounds, as a request would
            # (a single round keeps the caller's connection: it may be inside the caller's transaction).
            close_old_connections()
        if time.monotonic() - last_schedule >= SCHEDULE_EVERY_SECONDS or once:
            run_scheduled_jobs()
            last_schedule = time.monotonic()
        # The transparency log: one batch per letter every PUBLICATION_INTERVAL seconds (0: the actions
        # publish at once; the worker still catches up on anything left, e.g. after a failure).
        if time.monotonic() - last_publication >= max(settings.PUBLICATION_INTERVAL, SCHEDULE_EVERY_SECONDS) or once:
            publish_log_batches()
            last_publication = time.monotonic()
        sent = deliver_due_emails()
        if once:
            while sent:  # drain everything that is due
                sent = deliver_due_emails()
            return
        if not running:
            return
        if not sent:
            time.sleep(interval)
