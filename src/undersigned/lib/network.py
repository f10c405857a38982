"""The client's network address, for rate limiting only (it is never stored or logged)."""

from __future__ import annotations

from django.conf import settings


def client_address(request) -> str | None:
    """REMOTE_ADDR, or the address a trusted reverse proxy put in X-Forwarded-For.

    With PROXY_COUNT=N, the N-th address from the right of X-Forwarded-For is used: the ones further
    left were written by the client and cannot be trusted.
    """
    if settings.PROXY_COUNT:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= settings.PROXY_COUNT:
            return forwarded[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR") or None
