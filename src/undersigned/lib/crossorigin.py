"""Cross-site request protection for the public forms, without a cookie.

Django's CSRF protection needs a token tied to a cookie, and that cookie is a stable identifier: a live
operator could see the same value on the page that got a verification code and, later, on the page that
submits the token, and link the two (see "Honest limits" in the design). So the pages signers use set no
cookie at all, and their forms are protected by a stateless check of the headers every browser sends
instead — the approach of Go 1.25's net/http CrossOriginProtection and of OWASP's "Verifying Origin With
Standard Headers" (Cross-Site Request Forgery Prevention Cheat Sheet):

1. GET, HEAD and OPTIONS are never refused (they change nothing).
2. If ``Sec-Fetch-Site`` is present (all browsers since 2023), the request is allowed only if it says
   ``same-origin`` (a form on this site) or ``none`` (typed in the address bar, a bookmark).
3. Otherwise, if ``Origin`` is present (all browsers since about 2020 send it with a POST), it must be
   this site's origin: the scheme, host and port as this request sees them (``request.scheme`` follows
   ``SECURE_PROXY_SSL_HEADER``, which the settings configure for an https SITE_URL behind a
   TLS-terminating proxy), or SITE_URL's (for a proxy that does not say the request came over TLS or
   rewrites Host; PROXY_COUNT only concerns X-Forwarded-For and plays no part here).
4. A request with neither header is not from a browser (curl, the CLI signer, a test client) and is
   allowed: a cross-site attacker can only make a victim's browser send requests, and that browser
   sends at least one of them.

The organizer area keeps Django's token (it has a session worth protecting and no signer uses it);
``CSRF_COOKIE_PATH`` keeps that cookie there.
"""

from __future__ import annotations

import logging
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

log = logging.getLogger("undersigned.security")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL, normalised; None if it is not an http(s) origin."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:  # a bad port
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def allowed_origins(request) -> set[tuple[str, str, int]]:
    origins = {_origin(f"{request.scheme}://{request.get_host()}"), _origin(settings.SITE_URL)}
    return {origin for origin in origins if origin is not None}


def is_cross_origin(request) -> bool:
    """True if a browser sent this request from a page of another site (see the module's docstring)."""
    if request.method in SAFE_METHODS:
        return False
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    # "null" (an opaque origin: a sandboxed frame, a data: URL, a "no-referrer" page) is refused too.
    parsed = _origin(origin)
    return parsed is None or parsed not in allowed_origins(request)


def same_origin_only(view):
    """Refuse cross-site POSTs to a public form with a 403 page in the page's language; exempt the view
    from Django's cookie-based CSRF check, which this replaces (so never one without the other)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if is_cross_origin(request):
            # No path (it may carry a secret token) and no header values in the log: the view's name.
            match = getattr(request, "resolver_match", None)
            log.warning("Refused a cross-site %s to %s", request.method, match.view_name if match else "a public form")
            response = render(request, "cross_site.html", status=403)
            response["Cache-Control"] = "no-store"
            return response
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)
