"""RSA blind signatures (RFC 9474), variant RSABSSA-SHA384-PSS-Randomized.

The server holds one RSA key per letter and company. A signer's browser (``@cloudflare/blindrsa-ts``,
bundled in ``static/js/blindrsa.bundle.js``) or our Python client prepares and blinds a token message;
the server signs the blinded message without seeing it; the client finalises the result into an ordinary
RSASSA-PSS signature (SHA-384, MGF1-SHA-384, 48-byte salt) that anyone can verify with the public key::

    Client(pk, msg)                              Server(sk)
    prepared = prepare(msg)
    blinded, inv = blind(pk, prepared)
                              -- blinded -->
                                                 blind_sig = blind_sign(sk, blinded)
                              <-- blind_sig --
    sig = finalize(pk, prepared, blind_sig, inv)
    verify(pk, prepared, sig) is True

What is published and stored:

* Public key: the SubjectPublicKeyInfo (DER) with the plain ``rsaEncryption`` algorithm identifier,
  base64url without padding (:func:`encode_public_key`). That is the form WebCrypto's
  ``importKey("spki", …, {name: "RSA-PSS", hash: "SHA-384"})`` accepts, which is how the browser
  library receives a key. (RFC 9578, Privacy Pass, publishes these keys with the ``id-RSASSA-PSS``
  identifier and its SHA-384/MGF1/salt-48 parameters instead, which pins the key to this use; WebCrypto
  refuses that form with a DataError, as tests/test_blindrsa_interop.py checks, so we publish
  rsaEncryption and name the variant next to the key in the API. :func:`decode_public_key` accepts
  the rsaEncryption form only.)
* Key id: lowercase hex SHA-256 of that SPKI DER, 64 characters (:func:`key_id`).
* Every byte string on the wire (blinded message, blind signature, token message, signature):
  base64url without padding (:func:`b64u_encode`; :func:`b64u_decode` also accepts ``=`` padding,
  nothing else non-canonical).

The server's exponentiation uses GMP's ``mpz_powm_sec`` (gmpy2 ``powmod_sec``), whose running time and
memory access pattern do not depend on the exponent or the base, on both CRT halves; the result is
checked with the public exponent before it leaves (RFC 9474 §4.3 step 3–4), which also stops the
CRT fault attack (one wrong half would reveal a factor of n). The CRT recombination is ordinary GMP
arithmetic on public-size operands.

Only the small part that no library offers is written by hand: EMSA-PSS encoding for the blinding step
(RFC 8017 §9.1.1 with MGF1, §B.2.1). Verification uses ``cryptography``. The other three RFC 9474
variants are implemented too (they only change two parameters) so that all the RFC's test vectors run;
the product uses :data:`RSABSSA_SHA384_PSS_RANDOMIZED`.

Errors are instances of :class:`BlindRSAError` subclasses whose messages are fixed, short and safe to
return to a client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

import gmpy2
from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "RSABSSA_SHA384_PSS_RANDOMIZED",
    "RSABSSA_SHA384_PSSZERO_RANDOMIZED",
    "RSABSSA_SHA384_PSS_DETERMINISTIC",
    "RSABSSA_SHA384_PSSZERO_DETERMINISTIC",
    "VARIANTS",
    "Variant",
    "BlindRSAError",
    "MalformedInput",
    "WrongLength",
    "OutOfRange",
    "UnsupportedKey",
    "BlindingError",
    "SigningFailure",
    "InvalidSignature",
    "MIN_MODULUS_BITS",
    "PUBLIC_EXPONENT",
    "generate_private_key",
    "encode_public_key",
    "decode_public_key",
    "public_key_der",
    "key_id",
    "b64u_encode",
    "b64u_decode",
    "blind_sign",
    "prepare",
    "blind",
    "finalize",
    "verify",
]

MIN_MODULUS_BITS = 2048
PUBLIC_EXPONENT = 65537  # the only exponent WebCrypto implementations agree on besides 3
_HASH_LEN = 48  # SHA-384
_PREFIX_LEN = 32  # RFC 9474 §4.1: random prefix of the Randomized variants


# --- variants ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One of the four RSABSSA variants of RFC 9474 §5 (all SHA-384)."""

    name: str
    salt_length: int  # 48 for PSS, 0 for PSSZERO
    randomized: bool  # prepare() adds a 32-byte random prefix

    def __str__(self) -> str:
        return self.name


RSABSSA_SHA384_PSS_RANDOMIZED = Variant("RSABSSA-SHA384-PSS-Randomized", 48, True)
RSABSSA_SHA384_PSSZERO_RANDOMIZED = Variant("RSABSSA-SHA384-PSSZERO-Randomized", 0, True)
RSABSSA_SHA384_PSS_DETERMINISTIC = Variant("RSABSSA-SHA384-PSS-Deterministic", 48, False)
RSABSSA_SHA384_PSSZERO_DETERMINISTIC = Variant("RSABSSA-SHA384-PSSZERO-Deterministic", 0, False)
VARIANTS = {
    v.name: v
    for v in (
        RSABSSA_SHA384_PSS_RANDOMIZED,
        RSABSSA_SHA384_PSSZERO_RANDOMIZED,
        RSABSSA_SHA384_PSS_DETERMINISTIC,
        RSABSSA_SHA384_PSSZERO_DETERMINISTIC,
    )
}
DEFAULT = RSABSSA_SHA384_PSS_RANDOMIZED


# --- errors -----------------------------------------------------------------------------------------


class BlindRSAError(Exception):
    """Base class. The message is fixed text, safe to show to whoever sent the input."""


class MalformedInput(BlindRSAError):
    """Not decodable: bad base64url, not a DER public key, wrong type."""


class WrongLength(BlindRSAError):
    """A blinded message, blind signature, inverse or signature of the wrong size for the key."""


class OutOfRange(BlindRSAError):
    """A blinded message that is not an integer in [0, n)."""


class UnsupportedKey(BlindRSAError):
    """Not RSA, fewer than 2048 bits, or a public exponent other than 65537."""


class BlindingError(BlindRSAError):
    """The encoded message or blinding factor is not invertible mod n (probability ~2^-1000)."""


class SigningFailure(BlindRSAError):
    """The blind signature failed its own check (a computation fault); nothing was released."""


class InvalidSignature(BlindRSAError):
    """finalize(): the unblinded signature does not verify (the server signed with another key, or
    the blind signature was tampered with)."""


# --- encodings and keys -----------------------------------------------------------------------------


def b64u_encode(data: bytes) -> str:
    """base64url without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str | bytes) -> bytes:
    """Strict base64url: URL-safe alphabet, padding optional, canonical (unused bits zero)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedInput("not base64url") from None
    if not isinstance(text, str):
        raise MalformedInput("not base64url")
    stripped = text.rstrip("=")
    if len(text) - len(stripped) > 2 or len(stripped) % 4 == 1:
        raise MalformedInput("not base64url")
    try:
        data = base64.b64decode(
            stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True
        )
    except (binascii.Error, ValueError):
        raise MalformedInput("not base64url") from None
    if b64u_encode(data) != stripped:  # '+', '/' or non-zero trailing bits
        raise MalformedInput("not base64url")
    return data


def _check_public_key(public_key: object) -> rsa.RSAPublicKey:
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UnsupportedKey("not an RSA public key")
    numbers = public_key.public_numbers()
    if numbers.n.bit_length() < MIN_MODULUS_BITS:
        raise UnsupportedKey("RSA key shorter than 2048 bits")
    if numbers.e != PUBLIC_EXPONENT:
        raise UnsupportedKey("RSA public exponent is not 65537")
    return public_key


def generate_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """A fresh key for one letter and company: ``bits`` >= 2048, e = 65537."""
    if bits < MIN_MODULUS_BITS:
        raise UnsupportedKey("RSA key shorter than 2048 bits")
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)


def public_key_der(public_key: rsa.RSAPublicKey) -> bytes:
    """SubjectPublicKeyInfo DER, algorithm rsaEncryption (1.2.840.113549.1.1.1)."""
    _check_public_key(public_key)
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def encode_public_key(public_key: rsa.RSAPublicKey) -> str:
    """The published form of a key: base64url (no padding) of :func:`public_key_der`."""
    return b64u_encode(public_key_der(public_key))


def decode_public_key(text: str | bytes) -> rsa.RSAPublicKey:
    """Inverse of :func:`encode_public_key`; refuses anything else, including non-canonical DER."""
    der = b64u_decode(text)
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        raise MalformedInput("not a DER SubjectPublicKeyInfo") from None
    key = _check_public_key(key)
    if public_key_der(key) != der:
        raise MalformedInput("not a DER SubjectPublicKeyInfo")
    return key


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """Lowercase hex SHA-256 of the SPKI DER (64 characters)."""
    return hashlib.sha256(public_key_der(public_key)).hexdigest()


def _modulus_length(n: int) -> int:
    return (n.bit_length() + 7) // 8


def _i2osp(x: int, length: int) -> bytes:  # RFC 8017 §4.1
    return int(x).to_bytes(length, "big")


def _os2ip(data: bytes) -> int:  # RFC 8017 §4.2
    return int.from_bytes(data, "big")


def _as_bytes(value: object, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise MalformedInput(f"{what} must be bytes")


# --- server: BlindSign (RFC 9474 §4.3) --------------------------------------------------------------


def blind_sign(private_key: rsa.RSAPrivateKey, blinded_msg: bytes) -> bytes:
    """The server's half: s = m^d mod n for a blinded message m, in constant time.

    Raises :class:`WrongLength` unless ``len(blinded_msg)`` is the modulus length, :class:`OutOfRange`
    unless the integer is below n, :class:`SigningFailure` if s^e mod n != m (a fault).
    """
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise UnsupportedKey("not an RSA private key")
    blinded_msg = _as_bytes(blinded_msg, "blinded message")
    priv = private_key.private_numbers()
    pub = priv.public_numbers
    _check_public_key(private_key.public_key())
    n = gmpy2.mpz(pub.n)
    k = _modulus_length(pub.n)
    if len(blinded_msg) != k:
        raise WrongLength("blinded message has the wrong length for this key")
    # 1. m = bytes_to_int(blinded_msg); RSASP1 (RFC 8017 §5.2.1) step 1: 0 <= m < n
    m = gmpy2.mpz(_os2ip(blinded_msg))
    if m >= n:
        raise OutOfRange("blinded message out of range")
    # 2. s = RSASP1(sk, m), second form (CRT, RFC 8017 §5.2.1 step 2b), each half with powmod_sec
    p, q = gmpy2.mpz(priv.p), gmpy2.mpz(priv.q)
    s1 = gmpy2.powmod_sec(m % p, gmpy2.mpz(priv.dmp1), p)
    s2 = gmpy2.powmod_sec(m % q, gmpy2.mpz(priv.dmq1), q)
    h = ((s1 - s2) * gmpy2.mpz(priv.iqmp)) % p
    s = s2 + q * h
    # 3.-4. m' = RSAVP1(pk, s); if m != m', raise "signing failure" (fault-attack defence)
    if gmpy2.powmod(s, pub.e, n) != m:
        raise SigningFailure("signing failure")
    # 5. blind_sig = int_to_bytes(s, modulus_len)
    return _i2osp(s, k)


# --- client: Prepare, Blind, Finalize (RFC 9474 §4.1, §4.2, §4.4) ---------------------------------


def prepare(msg: bytes, *, variant: Variant = DEFAULT, prefix: bytes | None = None) -> bytes:
    """RFC 9474 §4.1: 32 random bytes + msg for Randomized variants, msg itself otherwise.

    ``prefix`` fixes the random bytes, for test vectors only.
    """
    msg = _as_bytes(msg, "message")
    if not variant.randomized:
        return msg
    if prefix is None:
        prefix = secrets.token_bytes(_PREFIX_LEN)
    if len(prefix) != _PREFIX_LEN:
        raise WrongLength("message prefix must be 32 bytes")
    return prefix + msg


def _mgf1_sha384(seed: bytes, mask_len: int) -> bytes:
    # RFC 8017 §B.2.1: T = Hash(seed || I2OSP(0, 4)) || Hash(seed || I2OSP(1, 4)) || ...
    # (step 1, "mask too long", cannot happen for mask_len < 2^32 * hLen)
    out = bytearray()
    counter = 0
    while len(out) < mask_len:
        out += hashlib.sha384(seed + _i2osp(counter, 4)).digest()
        counter += 1
    return bytes(out[:mask_len])


def _emsa_pss_encode(msg: bytes, em_bits: int, salt: bytes) -> bytes:
    # RFC 8017 §9.1.1 with Hash = SHA-384, MGF = MGF1-SHA-384, sLen = len(salt).
    em_len = (em_bits + 7) // 8
    m_hash = hashlib.sha384(msg).digest()  # step 2 (step 1: SHA-384 takes up to 2^125 bytes)
    if em_len < _HASH_LEN + len(salt) + 2:  # step 3
        raise UnsupportedKey("RSA key too short for this encoding")
    m_prime = b"\x00" * 8 + m_hash + salt  # step 5 (step 4: the salt is chosen by the caller)
    h = hashlib.sha384(m_prime).digest()  # step 6
    ps = b"\x00" * (em_len - len(salt) - _HASH_LEN - 2)  # step 7
    db = ps + b"\x01" + salt  # step 8
    db_mask = _mgf1_sha384(h, em_len - _HASH_LEN - 1)  # step 9
    masked_db = bytearray(a ^ b for a, b in zip(db, db_mask))  # step 10
    masked_db[0] &= 0xFF >> (8 * em_len - em_bits)  # step 11: clear the leftmost 8emLen - emBits bits
    return bytes(masked_db) + h + b"\xbc"  # step 12


def blind(
    public_key: rsa.RSAPublicKey,
    prepared_msg: bytes,
    *,
    variant: Variant = DEFAULT,
    salt: bytes | None = None,
    r: int | None = None,
) -> tuple[bytes, bytes]:
    """RFC 9474 §4.2: returns ``(blinded_msg, inv)``, both of the modulus length.

    Send ``blinded_msg`` to the server; keep ``inv`` (secret) for :func:`finalize`. ``salt`` and ``r``
    fix the PSS salt and the blinding factor, for test vectors only.
    """
    _check_public_key(public_key)
    prepared_msg = _as_bytes(prepared_msg, "message")
    pub = public_key.public_numbers()
    n, e = pub.n, pub.e
    k = _modulus_length(n)
    if salt is None:
        salt = secrets.token_bytes(variant.salt_length)
    if len(salt) != variant.salt_length:
        raise WrongLength("salt has the wrong length for this variant")
    # 1. encoded_msg = EMSA-PSS-ENCODE(msg, bit_len(n) - 1), as RSASSA-PSS-SIGN does (RFC 8017 §8.1.1)
    encoded_msg = _emsa_pss_encode(prepared_msg, n.bit_length() - 1, salt)
    # 3. m = bytes_to_int(encoded_msg); 4.-5. m must be invertible mod n
    m = _os2ip(encoded_msg)
    if gmpy2.gcd(m, n) != 1:
        raise BlindingError("invalid input")
    # 6. r = random_integer_uniform(1, n)
    if r is None:
        r = 0
        while not 0 < r < n:
            r = secrets.randbelow(n)
    elif not 0 < r < n:
        raise OutOfRange("blinding factor out of range")
    # 7.-8. inv = inverse_mod(r, n)
    try:
        inv = int(gmpy2.invert(r, n))
    except ZeroDivisionError:
        raise BlindingError("blinding error") from None
    # 9. x = RSAVP1(pk, r); 10. z = m * x mod n
    z = m * int(gmpy2.powmod(r, e, n)) % n
    # 11.-12. blinded_msg = int_to_bytes(z, modulus_len); output (blinded_msg, inv)
    return _i2osp(z, k), _i2osp(inv, k)


def finalize(
    public_key: rsa.RSAPublicKey,
    prepared_msg: bytes,
    blind_sig: bytes,
    inv: bytes,
    *,
    variant: Variant = DEFAULT,
) -> bytes:
    """RFC 9474 §4.4: unblind the server's answer and check it; returns the RSASSA-PSS signature."""
    _check_public_key(public_key)
    prepared_msg = _as_bytes(prepared_msg, "message")
    blind_sig = _as_bytes(blind_sig, "blind signature")
    inv = _as_bytes(inv, "inverse")
    n = public_key.public_numbers().n
    k = _modulus_length(n)
    # 1. If len(blind_sig) != modulus_len, raise "unexpected input size" (same for inv)
    if len(blind_sig) != k or len(inv) != k:
        raise WrongLength("unexpected input size")
    # 2. z = bytes_to_int(blind_sig); 3. s = z * inv mod n; 4. sig = int_to_bytes(s, modulus_len)
    z = _os2ip(blind_sig)
    r_inv = _os2ip(inv)
    if z >= n or r_inv >= n:
        raise OutOfRange("unexpected input value")
    sig = _i2osp(z * r_inv % n, k)
    # 5.-6. RSASSA-PSS-VERIFY(pk, msg, sig), else raise "invalid signature"
    if not verify(public_key, prepared_msg, sig, variant=variant):
        raise InvalidSignature("invalid signature")
    return sig


def verify(
    public_key: rsa.RSAPublicKey,
    prepared_msg: bytes,
    signature: bytes,
    *,
    variant: Variant = DEFAULT,
) -> bool:
    """RSASSA-PSS verification (RFC 8017 §8.1.2) with SHA-384, MGF1-SHA-384 and the variant's salt
    length, by ``cryptography``. ``prepared_msg`` is the output of :func:`prepare` (prefix included).
    Any malformed input is simply not a valid signature."""
    _check_public_key(public_key)
    if not isinstance(prepared_msg, (bytes, bytearray, memoryview)) or not isinstance(
        signature, (bytes, bytearray, memoryview)
    ):
        return False
    signature = bytes(signature)
    if len(signature) != _modulus_length(public_key.public_numbers().n):
        return False
    try:
        public_key.verify(
            signature,
            bytes(prepared_msg),
            padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=variant.salt_length),
            hashes.SHA384(),
        )
    except (_CryptographyInvalidSignature, ValueError):
        return False
    return True

