"""What a copy of the database alone gives away, and what the server keeps about the time of things.

* The keys of keyed digests (a letter's verification secret and email-digest key, each day's rate-limit
  key) are stored sealed with a key derived from ENCRYPTION_KEY: a dump without it cannot test an email
  address or a network address against the digests beside them.
* Rate limits count an IPv6 client by its /64 network (one subscriber's), an IPv4-mapped address as IPv4.
* An invitation records whether it was used, not when.
* A pending self-reported signature's confirmation deadline is stored rounded up to the hour.
"""

from __future__ import annotations

import datetime
import json
from datetime import timedelta

import pytest
from cryptography.fernet import InvalidToken
from django.apps import apps
from django.utils import timezone

from undersigned.letters.models import LetterSecret
from undersigned.lib import sealing
from undersigned.lib.network import network_key
from undersigned.moderation import limits
from undersigned.moderation.models import DailySecret, RateCounter, RateLimit
from undersigned.signatures.models import Signature
from undersigned.verification.actions import mint_invitations
from undersigned.verification.models import Invitation, VerificationSecret

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def every_stored_value() -> bytes:
    """Every value of every row of every table, as bytes (text as UTF-8, binary as it is)."""
    parts = []
    for model in apps.get_models():
        for row in model.objects.values_list(*[field.attname for field in model._meta.concrete_fields]):
            for value in row:
                if isinstance(value, memoryview | bytes):
                    parts.append(bytes(value))
                elif value is not None:
                    parts.append(str(value).encode())
    return b"\n".join(parts)


def test_a_database_dump_holds_no_usable_digest_key(client, letter, signer, settings):
    limits._secrets.clear()
    signer.sign("jane.doe@google.com")
    client.post(f"/letters/{letter.slug}/sign/", {"company": "Google", "email": "joe@google.com", "visibility": "anonymous"},
                REMOTE_ADDR="192.0.2.7")
    limits.count_over_limit(letter, RateLimit.Scope.NETWORK, "192.0.2.8")
    keys = {
        "verification secret": VerificationSecret.objects.get(letter=letter).digest_key,
        "email-digest key": LetterSecret.objects.get(letter=letter).email_digest_key,
        "rate-limit key": DailySecret.objects.get(day=timezone.now().date()).secret,
    }
    assert RateCounter.objects.exists()
    dump = every_stored_value()
    for name, key in keys.items():
        assert len(key) == 32, name
        assert key not in dump and key.hex().encode() not in dump, name  # only sealed

    # Without ENCRYPTION_KEY the sealed keys are noise.
    settings.ENCRYPTION_KEY = "another instance's key"
    for sealed in (VerificationSecret.objects.get().sealed_digest_key, LetterSecret.objects.get().sealed_email_digest_key,
                   DailySecret.objects.get().sealed_secret):
        with pytest.raises(InvalidToken):
            sealing.unseal_secret(sealed)


def test_the_keys_are_sealed_apart_from_other_sealed_values(settings):
    """A sealed outbox address cannot be read as a secret, nor the reverse (each use has its own key)."""
    with pytest.raises(InvalidToken):
        sealing.unseal_secret(sealing.seal("jane@google.com"))
    with pytest.raises(InvalidToken):
        sealing.unseal(sealing.seal_secret(b"k" * 32))
    assert sealing.unseal_secret(sealing.seal_secret(b"k" * 32)) == b"k" * 32


def test_the_daily_rate_limit_key_is_still_forgotten_after_a_day(letter):
    yesterday_but_one = timezone.now().date() - timedelta(days=2)
    DailySecret.objects.create(day=yesterday_but_one)
    limits._secrets.clear()  # this process's copy of today's key, from an earlier test
    limits.count_over_limit(letter, RateLimit.Scope.NETWORK, "192.0.2.8")
    limits.prune()
    assert list(DailySecret.objects.values_list("day", flat=True)) == [timezone.now().date()]


@pytest.mark.parametrize(("address", "key"), [
    ("192.0.2.1", "192.0.2.1"),
    ("::ffff:192.0.2.1", "192.0.2.1"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
    ("[2001:db8:1:2::1]:443", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("2001:db8:1:2::/64", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::/128", "2001:db8:1:2::/64"),
    ("unknown", "unknown"),
])
def test_it_counts_networks_not_single_addresses(address, key):
    assert network_key(address) == key


def request_code(client, letter, address: str, remote: str) -> int:
    return client.post(f"/api/v1/letters/{letter.slug}/verifications", json.dumps({"email": address}),
                       content_type="application/json", REMOTE_ADDR=remote).status_code


def test_one_ipv6_subscriber_gets_one_limit_not_one_per_address(client, letter, fast_keys):
    RateLimit.objects.create(scope=RateLimit.Scope.NETWORK, letter=letter, max_per_day=2)
    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"]
    assert [request_code(client, letter, f"p{i}@gmail.com", remote) for i, remote in enumerate(same_64)] == [202, 202, 429]
    assert request_code(client, letter, "q@gmail.com", "2001:db8:1:3::1") == 202  # another /64
    # A dual-stack socket's IPv4-mapped form is the IPv4 address, counted once.
    assert [request_code(client, letter, f"r{i}@gmail.com", remote)
            for i, remote in enumerate(["192.0.2.9", "::ffff:192.0.2.9", "192.0.2.9"])] == [202, 202, 429]


def test_an_invitation_records_that_it_was_used_not_when(letter, companies, fast_keys, signer):
    used, unused = mint_invitations(letter, companies["google"], count=2)
    signer.api.submit(signer.api.token_with_invitation(used))
    assert sorted(Invitation.objects.values_list("used", flat=True)) == [False, True]
    assert not any(isinstance(field, models_date_fields()) and field.name not in ("created_on", "expires_at")
                   for field in Invitation._meta.concrete_fields)
    letter.close()
    assert [invitation.status for invitation in Invitation.objects.all()] == ["used"]


def models_date_fields():
    from django.db import models

    return (models.DateField, models.DateTimeField)


def test_a_pending_signature_keeps_its_deadline_to_the_hour_only(client, letter, settings):
    before = timezone.now()
    client.post(f"/letters/{letter.slug}/sign/", {"company": "Google", "email": "joe@google.com", "visibility": "anonymous"})
    deadline = Signature.objects.get().confirmation_expires_at
    assert (deadline.minute, deadline.second, deadline.microsecond) == (0, 0, 0)
    promised = before + timedelta(hours=settings.CONFIRMATION_HOURS)
    assert promised <= deadline < promised + timedelta(hours=1)  # never shorter than the email says


def test_an_update_of_the_deadline_is_rounded_too(letter):
    Signature.objects.create(letter=letter, company_as_written="Google")
    moment = datetime.datetime(2026, 11, 29, 18, 0, 0, tzinfo=datetime.UTC)
    Signature.objects.update(confirmation_expires_at=moment)
    assert Signature.objects.get().confirmation_expires_at == moment  # on the hour: kept
    Signature.objects.update(confirmation_expires_at=moment + timedelta(microseconds=1))
    assert Signature.objects.get().confirmation_expires_at == moment + timedelta(hours=1)
