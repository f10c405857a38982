"""Every change with side effects in verified signing goes through one of these functions.

The views (HTML and JSON) only read input, call one function and turn :class:`VerificationError`
into an answer. Messages of the errors are plain, safe to show, and never say anything about an
address that the person asking could not already know.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from undersigned.companies.matching import canonical_email, company_for_email, split_email
from undersigned.letters.models import Letter
from undersigned.lib import blindrsa
from undersigned.lib.queries import one_or_none
from undersigned.lib.sealing import unseal_secret
from undersigned.lib.tokens import keyed_digest
from undersigned.messaging import emails
from undersigned.moderation import limits
from undersigned.moderation.models import RateLimit
from undersigned.verification import keys
from undersigned.verification.models import (
    Challenge,
    Invitation,
    Issuance,
    SecretsDestroyed,
    TokenKey,
    VerificationSecret,
)

log = logging.getLogger("undersigned.verification")

CODE_DIGITS = 8
CODE_MINUTES = 15
MAX_WRONG_CODES = 5
MAX_CODES_PER_ADDRESS_PER_DAY = 5
INVITATION_BYTES = 15  # 120 bits, 24 base32 characters
CODE_NETWORK_SCOPE = "code_network"  # RateCounter scope of code requests by network address

WRONG_CODE = _("The code is wrong or has expired. Check it, or ask for a new code.")
INVITATION_INVALID = _("This invitation code is not valid for this letter: it is wrong, used or expired.")


class VerificationError(Exception):
    """A refusal: its HTTP status, its stable code (the API's ``error_code``, listed in api.ERROR_CODES)
    and its message, a translatable text with its values, rendered in the language of whoever reads it:
    the pages (under /es/…) show it in theirs, the API, whose addresses have no language prefix, in English.
    """

    def __init__(self, status: int, code: str, text: str, /, **values):  # values may be named "status"
        super().__init__(text)
        self.status, self.code, self.text, self.values = status, code, text, values

    @property
    def message(self) -> str:
        """The message in the active language."""
        text = str(self.text)
        return text % self.values if self.values else text

    def message_in(self, language: str) -> str:
        with translation.override(language):
            return self.message


def _status_word(letter: Letter) -> str:
    return str(letter.get_status_display()).lower()


class Closed(VerificationError):
    def __init__(self, letter: Letter):
        super().__init__(409, "letter_closed", _("The letter '%(slug)s' is %(status)s and does not take signatures."),
                         slug=letter.slug, status=lazy(_status_word, str)(letter))


def _secret(letter: Letter) -> bytes:
    sealed = one_or_none(VerificationSecret.objects.filter(letter=letter).values_list("sealed_digest_key", flat=True))
    if sealed is None:
        try:
            with transaction.atomic():
                if not letter.lock_while_open():
                    raise Closed(letter)
                sealed = VerificationSecret.objects.create(letter=letter).sealed_digest_key
        except IntegrityError:
            sealed = VerificationSecret.objects.get(letter=letter).sealed_digest_key
    return unseal_secret(sealed)


def address_digest(letter: Letter, address: str, secret: bytes | None = None) -> bytes:
    """HMAC-SHA-256 of the canonical address under the letter's verification secret."""
    return keyed_digest(secret or _secret(letter), "address:" + canonical_email(address))


def _code_digest(secret: bytes, digest: bytes, code: str) -> bytes:
    return keyed_digest(secret, f"code:{digest.hex()}:{code}")


def _require_open(letter: Letter) -> None:
    if not letter.is_signable:
        raise Closed(letter)


def check_address(address: object) -> str:
    if not isinstance(address, str) or len(address) > 254:
        raise VerificationError(400, "invalid_email", _("email must be an email address."))
    try:
        split_email(address)
        canonical_email(address)
    except ValueError:
        raise VerificationError(400, "invalid_email", _("email must be an email address.")) from None
    return address.strip()


# --- 1. codes ---------------------------------------------------------------------------------------


def _count_network(letter: Letter, network_address: str | None) -> None:
    if limits.count_over_limit(letter, RateLimit.Scope.NETWORK, network_address, counter=CODE_NETWORK_SCOPE):
        raise VerificationError(429, "too_many_codes", _("Too many codes were asked for from your network today. Try again tomorrow, or ask an organizer for an invitation code."))


def request_code(letter: Letter, address: str, *, network_address: str | None) -> None:
    """Email a code to an address at a registry company. The caller answers the same in every case.

    Addresses at free-mail or unknown domains get nothing (and no row is written for them); the
    answer does not say so. The address itself is kept only in the sealed outbox row until sent.
    """
    _require_open(letter)
    address = check_address(address)
    _count_network(letter, network_address)
    company = company_for_email(address)
    if company is None:
        return
    keys.live_key(letter, company)  # published before the signer needs it
    secret = _secret(letter)
    digest = address_digest(letter, address, secret)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    today = timezone.localdate()
    fields = {"company": company, "code_digest": _code_digest(secret, digest, code),
              "expires_at": timezone.now() + timedelta(minutes=CODE_MINUTES), "wrong_attempts": 0}
    # The common case first, in one transaction of two INSERTs: no challenge for this address yet.
    try:
        with transaction.atomic():
            Challenge.objects.create(letter=letter, address_digest=digest, sent_on=today, sends=1, **fields)
            emails.verification_code(address, code=code, minutes=CODE_MINUTES)
        return
    except IntegrityError:
        pass
    with transaction.atomic():
        existing = one_or_none(Challenge.objects.select_for_update().filter(letter=letter, address_digest=digest))
        if existing is None:  # used or pruned in between: this request's code is one too many
            return
        sends = existing.sends + 1 if existing.sent_on == today else 1
        if sends > MAX_CODES_PER_ADDRESS_PER_DAY:
            return
        Challenge.objects.filter(pk=existing.pk).update(sends=sends, sent_on=today, **fields)
        emails.verification_code(address, code=code, minutes=CODE_MINUTES)


# --- 2. tokens --------------------------------------------------------------------------------------


@dataclass
class IssuedToken:
    blind_signature: bytes
    key: TokenKey


def _letter_key(letter: Letter, key_id: object) -> TokenKey:
    """One of this letter's token keys, live or not, by its id."""
    if not isinstance(key_id, str) or len(key_id) != 64:
        raise VerificationError(400, "wrong_key", _("key_id must be the 64-character id of one of this letter's keys."))
    key = one_or_none(TokenKey.objects.select_related("company").filter(key_id=key_id.lower()))
    if key is None or key.letter_id != letter.pk:
        raise VerificationError(400, "wrong_key", _("key_id is not a key of this letter (see /keys)."))
    return key


def _key_for(letter: Letter, key_id: object) -> TokenKey:
    """The letter's key that is to sign a token: it must still be live."""
    key = _letter_key(letter, key_id)
    if not key.is_live:
        raise VerificationError(409, "key_retired", _("This key no longer signs tokens."))
    return key


def _decode_blinded(key: TokenKey, blinded_msg: object) -> bytes:
    if not isinstance(blinded_msg, str):
        raise VerificationError(400, "bad_request", _("blinded_msg must be base64url text."))
    try:
        data = blindrsa.b64u_decode(blinded_msg)
    except blindrsa.BlindRSAError:
        raise VerificationError(400, "bad_request", _("blinded_msg is not valid base64url (no padding, URL-safe alphabet).")) from None
    public = blindrsa.decode_public_key(key.public_key)
    size = (public.key_size + 7) // 8
    if len(data) != size:
        raise VerificationError(400, "bad_request", _("blinded_msg must be %(size)d bytes for this key."), size=size)
    if int.from_bytes(data, "big") >= public.public_numbers().n:
        raise VerificationError(400, "bad_request", _("blinded_msg is out of range for this key (not below the modulus)."))
    return data


def _sign(key: TokenKey, blinded: bytes) -> bytes:
    try:
        return blindrsa.blind_sign(keys.private_key_of(key), blinded)
    except blindrsa.BlindRSAError as error:
        raise VerificationError(400, "bad_request", _("Cannot sign: %(error)s."), error=error) from None


def issue_token_for_code(letter: Letter, *, address: str, code: object, key_id: object, blinded_msg: object) -> IssuedToken:
    """Check the emailed code and sign one blinded token for this address, once per letter."""
    _require_open(letter)
    address = check_address(address)
    if not isinstance(code, str):
        raise VerificationError(400, "bad_request", _("code must be text."))
    code = "".join(code.split())
    key = _key_for(letter, key_id)
    blinded = _decode_blinded(key, blinded_msg)
    secret = _secret(letter)
    digest = address_digest(letter, address, secret)
    now = timezone.now()
    # Each refusal is decided inside the transaction and raised after it, so that what it changed
    # (one more wrong attempt, a voided challenge) is committed. The challenge's row lock makes
    # requests for the same address wait for each other.
    refusal = None
    with transaction.atomic():
        challenge = one_or_none(Challenge.objects.select_for_update().filter(letter=letter, address_digest=digest))
        if challenge is None:
            refusal = VerificationError(400, "wrong_code", WRONG_CODE)
        elif challenge.expires_at <= now or challenge.wrong_attempts >= MAX_WRONG_CODES:
            challenge.delete()
            refusal = VerificationError(400, "wrong_code", WRONG_CODE)
        elif not hmac.compare_digest(bytes(challenge.code_digest), _code_digest(secret, digest, code)):
            if challenge.wrong_attempts + 1 >= MAX_WRONG_CODES:
                challenge.delete()  # void: a new code must be asked for
            else:
                Challenge.objects.filter(pk=challenge.pk).update(wrong_attempts=F("wrong_attempts") + 1)
            refusal = VerificationError(400, "wrong_code", WRONG_CODE)
        elif challenge.company_id != key.company_id:
            refusal = VerificationError(400, "wrong_key", _("key_id is not the key of the company of this address; use the key listed for it."))
        else:
            try:
                with transaction.atomic():
                    Issuance.objects.create(letter=letter, address_digest=digest)
            except IntegrityError:  # one person, one token: this address had its token
                challenge.delete()
                refusal = VerificationError(409, "already_issued", _("This address has already received its token for this letter: one person, one token."))
            else:
                Challenge.objects.filter(pk=challenge.pk).delete()
                signature = _sign(key, blinded)  # an error here rolls the issuance back
    if refusal:
        raise refusal
    return IssuedToken(signature, key)


def _invitation_digest(code: str) -> bytes:
    return hashlib.sha256(("invitation:" + code.strip().lower()).encode("utf-8")).digest()


def issue_token_for_invitation(letter: Letter, *, invitation: object, key_id: object, blinded_msg: object) -> IssuedToken:
    """Redeem an organizer's one-time invitation code for one blinded token."""
    _require_open(letter)
    if not isinstance(invitation, str) or len(invitation) > 200:
        raise VerificationError(400, "bad_request", _("invitation must be the invitation code, as text."))
    key = _key_for(letter, key_id)
    blinded = _decode_blinded(key, blinded_msg)
    digest = _invitation_digest(invitation)
    with transaction.atomic():
        found = Invitation.objects.select_for_update().filter(code_digest=digest, letter=letter).first()
        if found is None or found.used or found.expires_at <= timezone.now():
            raise VerificationError(400, "invitation_invalid", INVITATION_INVALID)
        if found.company_id != key.company_id:
            raise VerificationError(400, "wrong_key", _("key_id is not the key of the invitation's company; use the key listed for it."))
        Invitation.objects.filter(pk=found.pk).update(used=True)  # not when: see models.Invitation
        signature = _sign(key, blinded)
    return IssuedToken(signature, key)


def mint_invitations(letter: Letter, company, *, count: int = 1, days: int = 14) -> list[str]:
    """New one-time invitation codes (shown once; only their digests are kept)."""
    if not letter.is_signable and letter.status != Letter.Status.DRAFT:
        raise Closed(letter)
    keys.live_key(letter, company)
    codes = []
    expires_at = timezone.now() + timedelta(days=days)
    for _number in range(count):
        random_part = base64.b32encode(secrets.token_bytes(INVITATION_BYTES)).decode().lower()
        code = f"{company.slug}-{random_part}"
        Invitation.objects.create(letter=letter, company=company, code_digest=_invitation_digest(code),
                                  hint=code[: len(company.slug) + 5], expires_at=expires_at)
        codes.append(code)
    return codes


def company_slug_of_invitation(code: str) -> str:
    """The company slug written at the start of an invitation code (the client picks its key with it)."""
    return code.strip().lower().rpartition("-")[0]


# --- 3. closing -------------------------------------------------------------------------------------


def destroy_letter_secrets(letter: Letter) -> SecretsDestroyed:
    """Called by Letter.close(): nobody can mint tokens for this letter or test an address any more."""
    today = timezone.localdate()
    live = list(TokenKey.objects.filter(letter=letter, destroyed_on__isnull=True).values_list("pk", "sealed_private_key"))
    TokenKey.objects.filter(pk__in=[pk for pk, _ in live]).update(sealed_private_key="", destroyed_on=today)
    keys.forget_decrypted(sealed for _, sealed in live)
    VerificationSecret.objects.filter(letter=letter).delete()
    issuance, _ = Issuance.objects.filter(letter=letter).delete()
    challenges, _ = Challenge.objects.filter(letter=letter).delete()
    invitations, _ = Invitation.objects.filter(letter=letter, used=False).delete()
    record = SecretsDestroyed.objects.create(
        letter=letter, keys_destroyed=len(live), issuance_records_deleted=issuance,
        challenges_deleted=challenges, invitations_deleted=invitations,
    )
    # Deleted rows leave copies of their pages in the database's write-ahead log: erase them once the
    # deletions are committed (and, if that cannot be done now, from the worker's scheduled jobs).
    transaction.on_commit(erase_remnants, robust=True)  # a failure is logged; the worker tries again
    return record


def prune_expired_challenges() -> int:
    deleted, _ = Challenge.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted


# --- remnants of deleted secrets --------------------------------------------------------------------

# The tables whose deleted rows held a letter's secrets (or, for the outbox, the addresses codes were
# sent to): rewritten on PostgreSQL after a closing.
SECRET_TABLES = ("verification_verificationsecret", "verification_tokenkey", "verification_issuance",
                 "verification_challenge", "verification_invitation", "letters_lettersecret",
                 "messaging_outgoingemail")
CHECKPOINT_TRIES = 10
CHECKPOINT_PAUSE_SECONDS = 0.2


def erase_remnants() -> bool:
    """Remove what the database keeps of deleted secrets outside the live rows, after a closing.

    SQLite (with ``secure_delete`` on, see apps.py) zeroes deleted rows in the database file, but the
    page images written before the deletion stay in the ``-wal`` file until it is overwritten, and a
    running server never removes it. ``PRAGMA wal_checkpoint(TRUNCATE)`` copies the current pages into
    the file and truncates the log to zero bytes; it cannot complete while another connection reads an
    older snapshot, so it is retried briefly, and again by the worker until it completes.

    PostgreSQL keeps deleted tuples in the tables' pages: ``VACUUM FULL`` of the tables that held the
    secrets rewrites them into new files. Its WAL segments, archives and backups are outside reach: see
    protocol.md. True when nothing is left to do.
    """
    from django.db import connection

    pending = SecretsDestroyed.objects.filter(remnants_erased_at__isnull=True)
    if not pending.exists():
        return True
    if connection.in_atomic_block:  # inside someone's transaction (a test): the worker will do it
        return False
    if connection.vendor == "sqlite":
        done = _checkpoint_sqlite(connection)
    elif connection.vendor == "postgresql":
        done = _vacuum_postgresql(connection)
    else:
        done = True
    if done:
        pending.update(remnants_erased_at=timezone.now())
    else:
        # No personal data here: only that the erasure is still to be done.
        log.warning("erasing the remnants of closed letters' secrets did not complete (the database is busy); "
                    "the worker will try again")
    return done


def _checkpoint_sqlite(connection) -> bool:
    import time

    with connection.cursor() as cursor:
        # The checkpoint waits for readers of older snapshots through the busy handler (20 s in
        # settings): wait a little at a time instead, so that a closing request is never held long.
        cursor.execute("PRAGMA busy_timeout")
        (busy_timeout,) = cursor.fetchone()
        cursor.execute("PRAGMA busy_timeout = 100")
        try:
            for attempt in range(CHECKPOINT_TRIES):
                try:
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    busy, _log_frames, _checkpointed = cursor.fetchone()
                except OperationalError:  # "database is locked"
                    busy = 1
                if not busy:
                    return True
                if attempt + 1 < CHECKPOINT_TRIES:
                    time.sleep(CHECKPOINT_PAUSE_SECONDS)
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout)}")
    return False


def _vacuum_postgresql(connection) -> bool:
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            # VACUUM FULL takes an exclusive lock on each table: wait a little for it, never for long.
            cursor.execute("SET lock_timeout = '5s'")
            try:
                for table in SECRET_TABLES:
                    cursor.execute(f"VACUUM FULL {connection.ops.quote_name(table)}")
            finally:
                cursor.execute("RESET lock_timeout")
    except DatabaseError as error:
        log.warning("VACUUM FULL after a closing failed (%s)", type(error).__name__)
        return False
    return True


# --- 4. signatures from tokens ----------------------------------------------------------------------


@dataclass
class Display:
    """What a verified signer chooses to show; anonymous unless they say otherwise."""

    name: str = ""
    role: str = ""
    comment: str = ""
    show_name: bool = False

    LIMITS = {"name": 100, "role": 120, "comment": 500}

    @classmethod
    def from_data(cls, data: dict) -> Display:
        import unicodedata

        values = {}
        for field, limit in cls.LIMITS.items():
            value = data.get(field, "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise VerificationError(400, "field_invalid", _("%(field)s must be text."), field=FIELD_NAMES[field])
            value = value.strip()
            if len(value) > limit:
                raise VerificationError(400, "field_too_long", _("%(field)s must be at most %(limit)d characters."), field=FIELD_NAMES[field], limit=limit)
            if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\r\t" for ch in value):
                raise VerificationError(400, "field_invalid", _("%(field)s contains invisible control characters."), field=FIELD_NAMES[field])
            values[field] = value
        show_name = data.get("show_name", False)
        if not isinstance(show_name, bool):
            raise VerificationError(400, "bad_request", _("show_name must be true or false."))
        if show_name and not values["name"]:
            raise VerificationError(400, "name_required", _("name is needed when show_name is true."))
        return cls(show_name=show_name, **values)


# The display fields by their API names, which the messages use, in the reader's language.
FIELD_NAMES = {"name": pgettext_lazy("signature field", "name"), "role": pgettext_lazy("signature field", "role"),
               "comment": pgettext_lazy("signature field", "comment")}


def _decode(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise VerificationError(400, "token_invalid", _("%(field)s must be base64url text."), field=what)
    try:
        return blindrsa.b64u_decode(value)
    except blindrsa.BlindRSAError:
        raise VerificationError(400, "token_invalid", _("%(field)s is not valid base64url (no padding, URL-safe alphabet)."), field=what) from None


def redeem_token(letter: Letter, *, key_id: object, message: object, signature: object, display: Display):
    """Turn a finalised token into a verified signature; nothing ties it to the issuance."""
    from undersigned.signatures import actions as signature_actions
    from undersigned.verification.protocol import BadToken, parse_prepared

    _require_open(letter)
    key = _letter_key(letter, key_id)
    prepared = _decode(message, "message")
    sig = _decode(signature, "signature")
    if len(prepared) > 512:
        raise VerificationError(400, "token_invalid", _("message is too long to be a token."))
    try:
        parsed = parse_prepared(prepared)
    except BadToken:
        raise VerificationError(400, "token_invalid", _("The token message is not an undersigned token.")) from None
    if parsed.letter_slug != letter.slug:
        raise VerificationError(400, "token_invalid", _("This token is for another letter."))
    if not blindrsa.verify(blindrsa.decode_public_key(key.public_key), prepared, sig):
        raise VerificationError(400, "token_invalid", _("The signature of this token does not verify under this key."))
    created = signature_actions.record_verified_signature(
        letter, company=key.company, token_key=key, token_message=prepared, token_signature=sig,
        withdrawal_digest=parsed.commitment, name=display.name, role=display.role, comment=display.comment,
        show_name=display.show_name,
    )
    if created is None:
        raise VerificationError(409, "token_used", _("This token has already been used."))
    return created


def withdraw_token(letter: Letter, withdrawal_secret: object):
    """Withdraw the verified signature whose token commits to this secret."""
    from undersigned.signatures import actions as signature_actions
    from undersigned.verification.protocol import BadToken, commitment

    try:
        digest = commitment(withdrawal_secret)
    except BadToken:
        raise VerificationError(400, "withdrawal_secret_invalid", _("The withdrawal secret must be 43 base64url characters.")) from None
    found = signature_actions.withdraw_verified_signature(letter, digest, withdrawal_secret)
    if found is None:
        raise VerificationError(404, "signature_not_found", _("No signature of this letter has a token with this withdrawal secret."))
    return found
