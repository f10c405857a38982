"""The demo outbox: without a mail server, messages are written to files and shown here.

Only when no EMAIL_URL is configured (the demo); with a real mail server this page does not exist.
"""

from __future__ import annotations

import email
import email.policy

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from undersigned.lib.network import is_loopback

MAX_SHOWN = 50


SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # Django's file backend writes several messages per file


def _read(path):
    messages = []
    for chunk in path.read_bytes().split(SEPARATOR):
        if not chunk.strip():
            continue
        message = email.message_from_bytes(chunk, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        messages.append({
            "to": message["To"],
            "subject": message["Subject"],
            "date": message["Date"],
            "body": text.get_content() if text else "",
        })
    return messages


@never_cache
def outbox(request):
    if not settings.DEMO_OUTBOX:
        raise Http404("There is no demo outbox: this site sends real email.")
    # It shows every address and code sent: only to the newcomer at this machine, even when the demo
    # listens on all interfaces (`serve --bind 0.0.0.0`) or sits behind a proxy.
    if not is_loopback(request.META.get("REMOTE_ADDR", "")) or "HTTP_X_FORWARDED_FOR" in request.META:
        raise Http404("The demo outbox is shown only on the machine that runs the site.")
    directory = settings.OUTBOX_DIR
    paths = sorted(directory.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True) if directory.exists() else []
    messages = []
    for path in paths:
        messages.extend(reversed(_read(path)))
        if len(messages) >= MAX_SHOWN:
            break
    return render(request, "messaging/outbox.html", {"messages": messages[:MAX_SHOWN]})
