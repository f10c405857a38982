"""Privacy of verified signing: what a full copy of the server holds, and what it can link.

1. After many verified signings (codes, tokens, signatures, a withdrawal, an invitation), no email
   address, local part or canonical address appears anywhere in the database (every table, every
   column) or in the log output, on SQLite and on PostgreSQL (the suite runs on both).
2. No signatures row can be joined to an issuance record: they share no value but the letter and the
   day, issuance records have no time finer than a day, and signatures hold no reference to issuance.
3. The adversarial linking test. The attacker gets, after the letter closed, a dump of every table,
   the instance's secrets (SECRET_KEY, ENCRYPTION_KEY) and the list of the addresses that were used,
   in the order their codes were sent (as a mail gateway's log would give it). The test runs the same
   signings twice with the tokens handed to the addresses in two different ways (world A: address i
   gets token i; world B: a random permutation), everything else equal, and checks that the two dumps
   are identical (after replacing row ids by their rank and times of day by the day). An attacker's
   guess is a function of what it is given; since that is the same in both worlds, its guess is the
   same, so over a uniformly random pairing it is right for each address with probability exactly
   1/n: no better than chance, whatever its strategy. A control run shows the comparison is not
   blind: changing the order in which tokens are redeemed changes the dump.

   What this does not cover (stated on the site, "honest limits"): the redemption order and time
   themselves. If a signer redeems right after getting the token, someone who watches both (a live,
   malicious operator, or the mail log plus the publication) can correlate them; that is why the page
   offers "submit later" and recommends Tor, and why publication is in shuffled batches. The test
   fixes the redemption order independently of the pairing, which is what delayed submission achieves.
   It checks the logical content of the database; dead rows in PostgreSQL pages until VACUUM are
   outside it (SQLite runs with secure_delete, see verification/apps.py).
"""

from __future__ import annotations

import datetime
import json
import logging
import random
import re

import pytest
from django.apps import apps
from django.db import connection, transaction

from undersigned.lib import blindrsa
from undersigned.moderation.limits import _secret_for
from undersigned.signatures.models import Signature
from undersigned.verification import actions, keys, protocol
from undersigned.verification.models import Issuance

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.verified import code_in, fast_keys, key_pool, signer  # noqa: F401 (fixtures)

ADDRESSES = [f"{name}@{domain}" for name, domain in [
    ("Ada.Lovelace", "google.com"), ("grace.hopper+ice", "google.com"), ("alan.turing", "amazon.com"),
    ("Edsger.Dijkstra", "google.com"), ("barbara.liskov", "amazon.com"), ("ken.thompson", "google.com"),
    ("radia.perlman", "amazon.com"), ("john.mccarthy", "google.com"), ("frances.allen", "google.com"),
    ("margaret.hamilton", "amazon.com"), ("donald.knuth", "google.com"), ("leslie.lamport", "google.com"),
]]


def needles(address: str) -> set[str]:
    local, _, domain = address.rpartition("@")
    canonical = f"{local.lower().split('+')[0]}@{domain}"
    words = {address, address.lower(), canonical, local.lower().split("+")[0]}
    return {w for w in words if len(w) >= 6}


def whole_database() -> str:
    """Every row of every table, as text (bytes also as hex and latin-1, so nothing hides in them)."""
    parts = []
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview):
                        value = bytes(value)
                    if isinstance(value, bytes):
                        parts.append(value.hex())
                        parts.append(value.decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts).lower()


def test_no_address_in_the_database_or_the_log(client, letter, signer, mailbox, companies, caplog):
    caplog.set_level(logging.DEBUG)
    receipts = [signer.sign(address, comment="", show_name=False) for address in ADDRESSES]
    signer.api.request_code("someone@gmail.com")  # free mail: nothing is sent, nothing kept
    signer.api.request_code("pending.person@google.com")  # a code never used
    mailbox.deliver()
    signer.api.withdraw(receipts[0])
    [invitation] = actions.mint_invitations(letter, companies["aws"])
    signer.api.submit(signer.api.token_with_invitation(invitation))
    dump = whole_database()
    log = caplog.text.lower()
    for address in [*ADDRESSES, "someone@gmail.com", "pending.person@google.com"]:
        for needle in needles(address):
            assert needle.lower() not in dump, needle
            assert needle.lower() not in log, needle
    assert invitation not in dump  # only its digest
    # While the letter is open, the pending challenge exists (digest only); issuance records too.
    assert Issuance.objects.count() == len(ADDRESSES)


def test_no_signature_row_joins_an_issuance_row(client, letter, signer):
    for address in ADDRESSES[:6]:
        signer.sign(address)
    issuance_fields = {f.name: type(f).__name__ for f in Issuance._meta.get_fields()}
    assert issuance_fields == {"id": "UUIDField", "letter": "ForeignKey", "address_digest": "BinaryField",
                               "issued_on": "DateField"}
    assert not any(f.is_relation and f.related_model is Issuance for f in Signature._meta.get_fields())
    signature_values = set()
    for row in Signature.objects.values():
        for name, value in row.items():
            if name not in ("letter_id", "confirmed_on") and value not in (None, "", False, True):
                signature_values.add(bytes(value) if isinstance(value, memoryview) else value)
    for row in Issuance.objects.values():
        for name, value in row.items():
            if name in ("letter_id", "issued_on"):
                continue
            value = bytes(value) if isinstance(value, memoryview) else value
            assert value not in signature_values, (name, value)
            if isinstance(value, bytes):
                assert not any(isinstance(v, bytes) and value in v for v in signature_values)
    # Verified signatures carry no time finer than a day.
    for signature in Signature.objects.all():
        assert signature.confirmation_expires_at is None and isinstance(signature.confirmed_on, datetime.date)


# --- the adversarial linking test -------------------------------------------------------------------


class Rollback(Exception):
    pass


def normalized_dump() -> dict:
    """Every model's rows, ids replaced by their rank in their table, datetimes by their day."""
    models = [m for m in apps.get_models(include_auto_created=True)]
    ranks = {}
    rows_by_model = {}
    for model in models:
        rows = list(model.objects.order_by("pk").values())
        rows_by_model[model] = rows
        ranks[model] = {row[model._meta.pk.attname]: rank for rank, row in enumerate(rows)}
    dump = {}
    for model in models:
        foreign = {f.attname: f.related_model for f in model._meta.concrete_fields if f.is_relation}
        table = []
        for row in rows_by_model[model]:
            out = {}
            for name, value in row.items():
                if name == model._meta.pk.attname and isinstance(value, int):
                    value = ranks[model][value]
                elif name in foreign and value is not None:
                    value = ranks[foreign[name]].get(value, ("outside", value))
                elif isinstance(value, memoryview | bytes):
                    value = bytes(value).hex()
                elif isinstance(value, datetime.datetime):
                    value = value.date().isoformat()
                elif isinstance(value, datetime.date):
                    value = value.isoformat()
                out[name] = value
            table.append(out)
        dump[model._meta.label] = table
    return json.loads(json.dumps(dump, default=str))


def fixed_tokens(n: int, seed: int) -> list[dict]:
    """n tokens' client-side randomness, fixed: withdrawal secret, prepare prefix, PSS salt."""
    rng = random.Random(seed)
    return [{"secret": blindrsa.b64u_encode(rng.randbytes(32)), "prefix": rng.randbytes(32), "salt": rng.randbytes(48)}
            for _ in range(n)]


def run_world(client, letter, mailbox, addresses, pairing, redemption_order, tokens, monkeypatch) -> dict:
    """Addresses ask for codes in the given order; address i gets token pairing[i]; tokens are redeemed
    in ``redemption_order``; the letter closes; the normalized dump is returned and everything undone."""
    from tests.support.verified import client_for

    pool = iter(key_pool())
    monkeypatch.setattr(keys, "generate_private_key", lambda bits=2048: next(pool))
    api = client_for(client, letter.slug)
    finished = {}
    result = {}
    try:
        with transaction.atomic():
            for i, address in enumerate(addresses):
                api.request_code(address)
                code = code_in(mailbox.deliver_one(address))
                key = api.key_for_email(address)
                public = blindrsa.decode_public_key(key["public_key"])
                token = tokens[pairing[i]]
                prepared = blindrsa.prepare(protocol.token_message(letter.slug, token["secret"]), prefix=token["prefix"])
                blinded, inv = blindrsa.blind(public, prepared, salt=token["salt"])
                status, data = api.post(f"{api.base}/tokens", {"email": address, "code": code, "key_id": key["key_id"],
                                                                "blinded_msg": blindrsa.b64u_encode(blinded)})
                assert status == 200, data
                signature = blindrsa.finalize(public, prepared, blindrsa.b64u_decode(data["blind_signature"]), inv)
                finished[pairing[i]] = {"key_id": key["key_id"], "message": blindrsa.b64u_encode(prepared),
                                        "signature": blindrsa.b64u_encode(signature), "withdrawal_secret": token["secret"]}
            for j in redemption_order:
                api.submit(finished[j])
            letter.refresh_from_db()
            assert letter.close()
            result["dump"] = normalized_dump()
            raise Rollback
    except Rollback:
        pass
    letter.refresh_from_db()
    return result["dump"]


def test_a_closed_letter_cannot_be_linked_better_than_chance(client, letter, mailbox, monkeypatch, settings):
    # The log's batch times are coarse (a minute or more); pin them so that both worlds fall in one batch.
    from undersigned.ledger import publish

    monkeypatch.setattr(publish, "batch_time", lambda now=None: "2026-01-01T00:00:00Z")
    _secret_for(datetime.date.today())  # the day's rate-limit key exists before, in both worlds
    from django.utils import timezone

    _secret_for(timezone.now().date())
    # The instance's log key exists before, in both worlds, and both worlds publish in the same batch
    # (a minute boundary between them would otherwise differ in the log's coarse times).
    from undersigned.ledger import keys as log_keys
    from undersigned.ledger import publish

    log_keys.current_key()
    batch = publish.batch_time()
    monkeypatch.setattr(publish, "batch_time", lambda now=None: batch)
    addresses = ADDRESSES[:8]
    n = len(addresses)
    tokens = fixed_tokens(n, seed=42)
    # Tokens that share a company must be interchangeable: pair within each company.
    by_company = {}
    for i, address in enumerate(addresses):
        by_company.setdefault(address.rpartition("@")[2], []).append(i)
    identity = list(range(n))
    shuffled = list(range(n))
    rng = random.Random(7)
    for members in by_company.values():
        targets = members[:]
        while targets == members:
            rng.shuffle(targets)
        for source, target in zip(members, targets):
            shuffled[source] = target
    redemption = [3, 0, 7, 5, 1, 6, 2, 4]  # the same in both worlds, unrelated to the code order

    world_a = run_world(client, letter, mailbox, addresses, identity, redemption, tokens, monkeypatch)
    world_b = run_world(client, letter, mailbox, addresses, shuffled, redemption, tokens, monkeypatch)
    assert world_a["signatures.Signature"] and len(world_a["signatures.Signature"]) == n
    assert world_a["verification.Issuance"] == [] and world_a["verification.VerificationSecret"] == []
    assert world_a["verification.Challenge"] == []
    assert all(k["sealed_private_key"] == "" for k in world_a["verification.TokenKey"])
    differences = [label for label in world_a if world_a[label] != world_b[label]]
    assert differences == [], differences

    # Control: the comparison sees what it should. Another redemption order gives another dump.
    world_c = run_world(client, letter, mailbox, addresses, identity, list(reversed(redemption)), tokens, monkeypatch)
    assert world_c["signatures.Signature"] != world_a["signatures.Signature"]


def test_the_secrets_that_could_link_are_gone_after_closing(client, letter, signer):
    receipts = [signer.sign(address) for address in ADDRESSES[:4]]
    address = ADDRESSES[0]
    digest_before = actions.address_digest(letter, address)
    assert Issuance.objects.filter(address_digest=digest_before).exists()
    assert letter.close()
    assert Issuance.objects.count() == 0
    # Testing an address again needs the letter's secret: it is gone, and no new one is made for a
    # closed letter.
    from undersigned.verification.models import VerificationSecret

    assert not VerificationSecret.objects.filter(letter=letter).exists()
    with pytest.raises(actions.Closed):
        actions.address_digest(letter, address)
    assert not VerificationSecret.objects.filter(letter=letter).exists()
    assert len(receipts) == Signature.objects.filter(kind="verified").count()
    assert re.fullmatch(r"[0-9a-f]{64}", receipts[0]["key_id"])
