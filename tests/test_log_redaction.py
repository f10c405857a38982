"""Secrets in URLs (confirmation, withdrawal and sign-in links) never reach the logs."""

from __future__ import annotations

import io
import logging
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.support.cast import companies, form_data, letter, mailbox, sign_path  # noqa: F401 (fixtures)
from undersigned.lib.logredact import RedactSecrets, redact
from undersigned.signatures import actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def printed():
    """What the site's console log handler (settings.LOGGING) prints during the test."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def routes_with_a_token(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from routes_with_a_token(pattern, route)
        elif isinstance(pattern, URLPattern) and "<str:token>" in route:
            yield route


def test_every_url_with_a_secret_is_covered():
    routes = list(routes_with_a_token())
    assert len(routes) == 3, routes  # confirm, withdraw, organizer sign-in
    for route in routes:
        path = "/" + route.replace("^", "").replace("<str:token>", "S3cr3t-T0ken_value")
        for text in (path, f"/es{path}", f"Internal Server Error: {path}", f'"POST {path}?x=1 HTTP/1.1" 500'):
            assert "S3cr3t" not in redact(text) and "[redacted]" in redact(text), text


def test_a_server_error_on_a_confirmation_link_logs_no_token(letter, mailbox, monkeypatch, printed):
    client = Client(raise_request_exception=False)
    assert client.post(sign_path(letter), form_data()).status_code == 302
    path = mailbox.path(mailbox.deliver_one("jane.doe@google.com"), "confirm")
    token = path.rstrip("/").rsplit("/", 1)[1]

    def broken(token):
        raise RuntimeError(f"database unreachable while reading /signatures/confirm/{token}/")

    monkeypatch.setattr(actions, "find_by_confirmation", broken)
    assert client.post(path).status_code == 500
    log = printed.getvalue()
    assert "Internal Server Error: /signatures/confirm/[redacted]/" in log
    assert "RuntimeError" in log and "Traceback" in log
    assert token not in log


def test_a_csrf_failure_on_a_sign_in_link_logs_no_token(printed):
    client = Client(enforce_csrf_checks=True)
    client.post("/organizer/sign-in/Not-A-Real-Sign-In-Token/")
    log = printed.getvalue()
    assert "Forbidden (CSRF" in log and "/organizer/sign-in/[redacted]/" in log
    assert "Not-A-Real-Sign-In-Token" not in log


def test_gunicorn_errors_are_filtered_too(printed):
    # gunicorn logs "Error handling request <uri>" with its own handlers; the settings put the filter on
    # its logger, which keeps it whatever gunicorn does with handlers.
    assert any(isinstance(f, RedactSecrets) for f in logging.getLogger("gunicorn.error").filters)
    stream = io.StringIO()
    logger = logging.getLogger("gunicorn.error")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        logger.error("Error handling request %s %s", "POST", "/es/signatures/withdraw/Wd-Secret/")
    finally:
        logger.removeHandler(handler)
    assert re.search(r"withdraw/\[redacted\]/", stream.getvalue()) and "Wd-Secret" not in stream.getvalue()


def test_gunicorn_names_no_network_address(printed):
    stream = io.StringIO()
    logger = logging.getLogger("gunicorn.error")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        for address in ("203.0.113.9", "2001:db8::1"):
            logger.warning("Invalid request from ip={ip}: {error}".format(ip=address, error="Invalid HTTP Version"))
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().count("Invalid request from ip=[redacted]: Invalid HTTP Version") == 2
    assert "203.0.113.9" not in stream.getvalue() and "2001:db8" not in stream.getvalue()
