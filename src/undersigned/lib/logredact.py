"""Keep the secrets that travel in URLs out of the logs.

Confirmation, withdrawal and organizer sign-in links carry their secret in the path
(``/signatures/confirm/<token>/``, ``/signatures/withdraw/<token>/``, ``/organizer/sign-in/<token>/``).
Django logs the path of a request that failed (``Internal Server Error: /signatures/confirm/…``,
``Forbidden (CSRF cookie not set.): …``), and gunicorn logs it when an error escapes the application
(``Error handling request …``). Anyone who reads the logs could then confirm, withdraw or sign in. And
gunicorn names the network address of a malformed request's client, which the site never logs.

``RedactSecrets`` rewrites such a record's message, and its traceback text, with the secret replaced by
``[redacted]``. The settings put it on the console handler (every record the site's logging prints passes
there, ``django.request``, ``django.security.*`` and ``django.server`` included: a filter on a logger
would miss records of its child loggers) and on gunicorn's error logger, which has its own handlers.
"""

from __future__ import annotations

import logging
import re

# Path segments that are secrets, after an optional language prefix (/es/…). Keep in step with the
# URL patterns whose route has a <token> (tests/test_log_redaction.py checks every one is covered).
SECRET_SEGMENTS = re.compile(r"(/signatures/(?:confirm|withdraw)/|/organizer/sign-in/)[^/\s?#\"'<>]+")
REDACTED = r"\1[redacted]"

# gunicorn names the client of a malformed request ("Invalid request from ip=203.0.113.9: …"); the site
# logs no network address (DESIGN.md, privacy rules).
NETWORK_ADDRESS = re.compile(r"(\bip=)\[?[0-9A-Fa-f:.]*[0-9A-Fa-f](?:%\w+)?\]?")  # IPv4 or IPv6, not the ": " after


def redact(text: str) -> str:
    return NETWORK_ADDRESS.sub(REDACTED, SECRET_SEGMENTS.sub(REDACTED, text))


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a bad format string: leave it to the handler to report
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set: format the traceback once, redacted (an exception's
            # message may quote the path, e.g. Resolver404).
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def filter_gunicorn_error_log() -> None:
    """Put the filter on gunicorn's error logger (configured by gunicorn, not by Django's LOGGING).

    A logger's filters survive gunicorn's (re)configuration of its handlers, whichever comes first.
    """
    logger = logging.getLogger("gunicorn.error")
    if not any(isinstance(existing, RedactSecrets) for existing in logger.filters):
        logger.addFilter(RedactSecrets())
