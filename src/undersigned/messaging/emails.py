"""Every email the site sends: one function per message, each with text and HTML templates
(``emails/<name>-subject.txt``, ``-body-text.txt``, ``-body-html.html``).

Messages are queued in the outbox and sent by the worker, never inside a web request. They are
rendered in the language active when queued (the signer's).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import get_language

from undersigned.lib.sealing import seal
from undersigned.messaging.models import OutgoingEmail

# Rendering a message's three templates cost about a quarter of the CPU of the request that queues it
# (a signing's, under load). What a message says depends on its template, the language and a few public
# values (the letter's title, how long a link works); only its links or code differ from one recipient
# to the next. So each message is rendered once per (template, language, public values), with a
# stand-in for each private value, and the stand-ins are replaced for each recipient. The cache holds
# only that public text: never a link, a code or an address.
_STAND_IN = f"private{secrets.token_hex(8)}"  # random: no title can contain it by accident
_rendered: dict[tuple, tuple[str, str, str]] = {}
MAX_RENDERED = 256


def _render(template: str, context: dict) -> tuple[str, str, str]:
    subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
    return (subject[:200], render_to_string(f"emails/{template}-body-text.txt", context),
            render_to_string(f"emails/{template}-body-html.html", context))


def _render_with_private(template: str, public: dict, private: dict) -> tuple[str, str, str]:
    """(subject, text, html) of ``template`` with ``public`` and ``private`` values, the public part cached.

    Private values go in the bodies only (never in a subject), and only values that HTML escaping
    leaves alone (links made of URL-safe tokens, digit codes) take the shortcut: the same text then
    replaces a stand-in whether the template escapes it or not.
    """
    if any(escape(value) != value for value in private.values()):
        return _render(template, {**public, **private})
    key = (template, get_language(), *sorted(public.items()))
    parts = _rendered.get(key)
    if parts is None:
        stand_ins = {name: f"{_STAND_IN}.{name}." for name in private}
        parts = _render(template, {**public, **stand_ins})
        if len(_rendered) >= MAX_RENDERED:
            _rendered.clear()
        _rendered[key] = parts
    subject, text, html = parts
    for name, value in private.items():
        text = text.replace(f"{_STAND_IN}.{name}.", value)
        html = html.replace(f"{_STAND_IN}.{name}.", value)
    return subject, text, html


def _queue(to: str, template: str, context: dict, *, private: dict | None = None, from_email: str | None = None) -> None:
    public = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    subject, text, html = _render_with_private(template, public, private) if private else _render(template, public)
    OutgoingEmail.objects.create(
        sealed_recipient=seal(to),
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        subject=subject,
        body_text=text,
        body_html=html,
        next_attempt_at=timezone.now(),
    )


def signature_confirmation(to: str, *, letter_title: str, confirm_url: str, withdraw_url: str, hours: int) -> None:
    _queue(to, "confirm-signature", {"letter_title": letter_title, "hours": hours},
           private={"confirm_url": confirm_url, "withdraw_url": withdraw_url})


def already_signed(to: str, *, letter_title: str, letter_url: str) -> None:
    _queue(to, "already-signed", {"letter_title": letter_title, "letter_url": letter_url})


def verification_code(to: str, *, code: str, minutes: int) -> None:
    # No link, no letter title, no site name, a neutral sender: corporate mail gateways log and scan
    # mail, and rewrite links.
    _queue(to, "verification-code", {"minutes": minutes}, private={"code": code}, from_email=settings.NEUTRAL_FROM_EMAIL)
