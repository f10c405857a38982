"""The client's network address, for rate limiting only (it is never stored or logged)."""

from __future__ import annotations

import ipaddress

from django.conf import settings

IPV6_PREFIX = 64  # what one subscriber line or one machine usually gets: count them as one address


def client_address(request) -> str | None:
    """REMOTE_ADDR, or the address a trusted reverse proxy put in X-Forwarded-For.

    With PROXY_COUNT=N, the N-th address from the right of X-Forwarded-For is used: the ones further
    left were written by the client and cannot be trusted. Rate limits count it by :func:`network_key`.
    """
    if settings.PROXY_COUNT:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= settings.PROXY_COUNT:
            return forwarded[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR") or None


def network_key(address: str) -> str:
    """What one rate-limit counter stands for: an IPv4 address, or an IPv6 /64 network.

    A single IPv6 subscriber or server usually has a whole /64 (2^64 addresses): counted one by one,
    each of its addresses would have a limit of its own. IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``,
    what a dual-stack socket reports) count as the IPv4 address. Anything that is not an address
    (a proxy's placeholder) is kept as it is, lower case.
    """
    text = address.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    text = text.split("%", 1)[0]  # a zone index ("fe80::1%eth0")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        try:
            network = ipaddress.ip_network(text, strict=False)  # already a key ("2001:db8::/64")
        except ValueError:
            return address.strip().lower()
        if network.version == 6 and network.prefixlen > IPV6_PREFIX:
            network = network.supernet(new_prefix=IPV6_PREFIX)
        return str(network)
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: a host (or client address) only this machine reaches."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
