"""Rate limiting with keyed digests that rotate daily.

A network address or email domain is never stored: each day has its own random key, and the counter
row holds HMAC(key, value). Once a day's key and counters are pruned, nothing connects them to anyone.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from undersigned.lib.tokens import keyed_digest
from undersigned.moderation.models import DailySecret, RateCounter, RateLimit


def _secret_for(day: date) -> bytes:
    secret = DailySecret.objects.filter(day=day).values_list("secret", flat=True).first()
    if secret is None:
        try:
            with transaction.atomic():
                secret = DailySecret.objects.create(day=day).secret
        except IntegrityError:  # another process created it first
            secret = DailySecret.objects.get(day=day).secret
    return bytes(secret)


def _limit_for(letter, scope: str) -> int | None:
    limits = RateLimit.objects.filter(scope=scope, enabled=True).filter(Q(letter=letter) | Q(letter__isnull=True))
    # A letter's own limit wins over the general one.
    limit = limits.order_by(F("letter").asc(nulls_last=True)).values_list("max_per_day", flat=True).first()
    return limit


def _count(scope: str, day: date, digest: bytes) -> int:
    """Add one to the counter and return the new value (one conditional UPDATE; INSERT the first time)."""
    updated = RateCounter.objects.filter(scope=scope, day=day, digest=digest).update(count=F("count") + 1)
    if not updated:
        try:
            with transaction.atomic():
                RateCounter.objects.create(scope=scope, day=day, digest=digest, count=1)
                return 1
        except IntegrityError:
            RateCounter.objects.filter(scope=scope, day=day, digest=digest).update(count=F("count") + 1)
    return RateCounter.objects.filter(scope=scope, day=day, digest=digest).values_list("count", flat=True).get()


def over_limit(letter, *, network_address: str | None, email_domain: str | None) -> bool:
    """Count one signing attempt; True if it goes over any limit that applies."""
    day = timezone.now().date()
    secret = _secret_for(day)
    over = False
    for scope, value in ((RateLimit.Scope.NETWORK, network_address), (RateLimit.Scope.EMAIL_DOMAIN, email_domain)):
        if not value:
            continue
        limit = _limit_for(letter, scope)
        if limit is None:
            continue
        count = _count(scope, day, keyed_digest(secret, f"{scope}:{value.lower()}"))
        over = over or count > limit
    return over


def prune(today: date | None = None) -> int:
    """Delete the keys and counters of days before yesterday."""
    cutoff = (today or timezone.now().date()) - timedelta(days=1)
    deleted, _ = RateCounter.objects.filter(day__lt=cutoff).delete()
    DailySecret.objects.filter(day__lt=cutoff).delete()
    return deleted
