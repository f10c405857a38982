"""Rate limiting with keyed digests that rotate daily.

A network address or email domain is never stored: each day has its own random key, and the counter
row holds HMAC(key, value). Once a day's key and counters are pruned, nothing connects them to anyone.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from undersigned.lib.network import network_key
from undersigned.lib.sealing import unseal_secret
from undersigned.lib.tokens import keyed_digest
from undersigned.moderation.models import DailySecret, RateCounter, RateLimit


_secrets: dict[date, bytes] = {}
_limits: dict[tuple[int | None, str], tuple[float, int | None]] = {}
LIMIT_CACHE_SECONDS = 10.0  # an organizer's change to a limit reaches every process within this time


def _secret_for(day: date) -> bytes:
    if day in _secrets:
        return _secrets[day]
    sealed = DailySecret.objects.filter(day=day).values_list("sealed_secret", flat=True).first()
    if sealed is None:
        try:
            with transaction.atomic():
                sealed = DailySecret.objects.create(day=day).sealed_secret
        except IntegrityError:  # another process created it first
            sealed = DailySecret.objects.get(day=day).sealed_secret
    _secrets.clear()  # keep only today's key in memory
    _secrets[day] = unseal_secret(sealed)
    return _secrets[day]


def _limit_for(letter, scope: str) -> int | None:
    key = (letter.pk, scope)
    cached = _limits.get(key)
    if cached and time.monotonic() - cached[0] < getattr(settings, "RATE_LIMIT_CACHE_SECONDS", LIMIT_CACHE_SECONDS):
        return cached[1]
    limits = RateLimit.objects.filter(scope=scope, enabled=True).filter(Q(letter=letter) | Q(letter__isnull=True))
    # A letter's own limit wins over the general one.
    limit = limits.order_by(F("letter").asc(nulls_last=True)).values_list("max_per_day", flat=True).first()
    _limits[key] = (time.monotonic(), limit)
    return limit


def forget_cached_limits(**_signal_arguments) -> None:
    _limits.clear()


def _add_one(day: date, counters: dict[str, bytes]) -> dict[str, int]:
    """Add one to each ``{counter: digest}`` row of the day and return the new values, in one statement
    (an upsert: no lost update between processes, and one round trip for a signing's two counters)."""
    table = RateCounter._meta.db_table
    rows = ", ".join(["(%s, %s, %s, 1)"] * len(counters))
    values = [value for counter, digest in counters.items() for value in (counter, day, digest)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, day, digest, count) VALUES {rows} "
            f"ON CONFLICT (scope, day, digest) DO UPDATE SET count = {table}.count + 1 RETURNING scope, count",
            values,
        )
        return dict(cursor.fetchall())


def _count_over_limits(letter, attempts: list[tuple[str, str | None, str]]) -> bool:
    """Count one attempt for each ``(limit scope, value, counter)``; True if any goes over its limit."""
    limits = {}
    for scope, value, counter in attempts:
        limit = _limit_for(letter, scope) if value else None
        if limit is not None:
            # Network addresses are counted by network (IPv6: the /64): here, the one place that counts.
            limits[counter] = (limit, network_key(value) if scope == RateLimit.Scope.NETWORK else value)
    if not limits:
        return False
    day = timezone.now().date()
    secret = _secret_for(day)
    counts = _add_one(day, {counter: keyed_digest(secret, f"{counter}:{value.lower()}")
                            for counter, (_limit, value) in limits.items()})
    return any(counts[counter] > limit for counter, (limit, _value) in limits.items())


def count_over_limit(letter, scope: str, value: str | None, *, counter: str | None = None) -> bool:
    """Count one attempt from ``value`` under the organizers' ``scope`` limit; True if it goes over.

    ``counter`` names a separate counter with the same limit (verification codes are counted apart
    from signatures, under the network-address limit).
    """
    return _count_over_limits(letter, [(scope, value, counter or scope)])


def over_limit(letter, *, network_address: str | None, email_domain: str | None) -> bool:
    """Count one signing attempt; True if it goes over any limit that applies (both are counted)."""
    return _count_over_limits(letter, [
        (RateLimit.Scope.NETWORK, network_address, RateLimit.Scope.NETWORK),
        (RateLimit.Scope.EMAIL_DOMAIN, email_domain, RateLimit.Scope.EMAIL_DOMAIN),
    ])


def prune(today: date | None = None) -> int:
    """Delete the keys and counters of days before yesterday."""
    cutoff = (today or timezone.now().date()) - timedelta(days=1)
    deleted, _ = RateCounter.objects.filter(day__lt=cutoff).delete()
    DailySecret.objects.filter(day__lt=cutoff).delete()
    return deleted
