"""Every email the site sends: one function per message, each with text and HTML templates
(``emails/<name>-subject.txt``, ``-body-text.txt``, ``-body-html.html``).

Messages are queued in the outbox and sent by the worker, never inside a web request. They are
rendered in the language active when queued (the signer's).
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from undersigned.lib.sealing import seal
from undersigned.messaging.models import OutgoingEmail


def _queue(to: str, template: str, context: dict, *, from_email: str | None = None) -> None:
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
    OutgoingEmail.objects.create(
        sealed_recipient=seal(to),
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        subject=subject[:200],
        body_text=render_to_string(f"emails/{template}-body-text.txt", context),
        body_html=render_to_string(f"emails/{template}-body-html.html", context),
        next_attempt_at=timezone.now(),
    )


def signature_confirmation(to: str, *, letter_title: str, confirm_url: str, withdraw_url: str, hours: int) -> None:
    _queue(to, "confirm-signature", {"letter_title": letter_title, "confirm_url": confirm_url,
                                     "withdraw_url": withdraw_url, "hours": hours})


def already_signed(to: str, *, letter_title: str, letter_url: str) -> None:
    _queue(to, "already-signed", {"letter_title": letter_title, "letter_url": letter_url})


def verification_code(to: str, *, code: str, minutes: int) -> None:
    # No link, no letter title, no site name, a neutral sender: corporate mail gateways log and scan
    # mail, and rewrite links.
    _queue(to, "verification-code", {"code": code, "minutes": minutes}, from_email=settings.NEUTRAL_FROM_EMAIL)
