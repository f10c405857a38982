"""RFC 9474 blind signatures: the RFC's test vectors, properties, and bad input."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from undersigned.lib import blindrsa

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc9474_appendix_a.json").read_text())[
    "vectors"
]


def _private_key_from_vector(v: dict) -> rsa.RSAPrivateKey:
    p, q, d, e, n = (int(v[name], 16) for name in ("p", "q", "d", "e", "n"))
    assert p * q == n
    return rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, n),
    ).private_key()


@functools.cache
def _key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return blindrsa.generate_private_key(bits)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return _key()


# --- RFC 9474 Appendix A ----------------------------------------------------------------------------


def test_it_has_all_four_appendix_a_vectors():
    assert sorted(v["variant"] for v in VECTORS) == sorted(blindrsa.VARIANTS)


@pytest.mark.parametrize("v", VECTORS, ids=[v["variant"] for v in VECTORS])
def test_it_reproduces_the_rfc_9474_vector(v):
    variant = blindrsa.VARIANTS[v["variant"]]
    private_key = _private_key_from_vector(v)
    public_key = private_key.public_key()
    n = int(v["n"], 16)
    k = (n.bit_length() + 7) // 8

    # Prepare
    prefix = bytes.fromhex(v["msg_prefix"]) if variant.randomized else None
    prepared = blindrsa.prepare(bytes.fromhex(v["msg"]), variant=variant, prefix=prefix)
    assert prepared.hex() == v["input_msg"]

    # EMSA-PSS-ENCODE, where the RFC lists it
    salt = bytes.fromhex(v["salt"])
    if "encoded_msg" in v:
        encoded = blindrsa._emsa_pss_encode(prepared, n.bit_length() - 1, salt)
        assert encoded.hex() == v["encoded_msg"]

    # Blind (with the RFC's salt and blinding factor r = inv^-1 mod n)
    inv_expected = int(v["inv"], 16)
    r = pow(inv_expected, -1, n)
    blinded, inv = blindrsa.blind(public_key, prepared, variant=variant, salt=salt, r=r)
    assert blinded.hex() == v["blinded_msg"]
    assert int.from_bytes(inv, "big") == inv_expected
    assert len(inv) == k

    # BlindSign
    blind_sig = blindrsa.blind_sign(private_key, blinded)
    assert blind_sig.hex() == v["blind_sig"]

    # Finalize, and verify as a plain RSASSA-PSS signature
    sig = blindrsa.finalize(public_key, prepared, blind_sig, inv, variant=variant)
    assert sig.hex() == v["sig"]
    assert blindrsa.verify(public_key, prepared, sig, variant=variant)
    public_key.verify(
        sig,
        prepared,
        padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=variant.salt_length),
        hashes.SHA384(),
    )


def test_it_uses_the_randomized_pss_variant_by_default(key):
    prepared = blindrsa.prepare(b"token")
    assert len(prepared) == 32 + len(b"token")
    blinded, inv = blindrsa.blind(key.public_key(), prepared)
    sig = blindrsa.finalize(key.public_key(), prepared, blindrsa.blind_sign(key, blinded), inv)
    # a 48-byte salt: verifies with salt length 48, not with 0
    assert blindrsa.verify(key.public_key(), prepared, sig)
    assert not blindrsa.verify(
        key.public_key(), prepared, sig, variant=blindrsa.RSABSSA_SHA384_PSSZERO_RANDOMIZED
    )
    assert str(blindrsa.RSABSSA_SHA384_PSS_RANDOMIZED) == "RSABSSA-SHA384-PSS-Randomized"


def test_it_prepares_with_a_fresh_prefix_each_time():
    assert blindrsa.prepare(b"m") != blindrsa.prepare(b"m")
    det = blindrsa.RSABSSA_SHA384_PSS_DETERMINISTIC
    assert blindrsa.prepare(b"m", variant=det) == b"m"


def test_it_blinds_differently_each_time(key):
    prepared = blindrsa.prepare(b"m")
    assert blindrsa.blind(key.public_key(), prepared) != blindrsa.blind(key.public_key(), prepared)


# --- properties -------------------------------------------------------------------------------------

_settings = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(msg=st.binary(max_size=200))
def test_it_round_trips_any_message(msg):
    key = _key()
    public_key = key.public_key()
    prepared = blindrsa.prepare(msg)
    blinded, inv = blindrsa.blind(public_key, prepared)
    sig = blindrsa.finalize(public_key, prepared, blindrsa.blind_sign(key, blinded), inv)
    assert len(sig) == 256
    assert blindrsa.verify(public_key, prepared, sig)


@functools.cache
def _signed_example() -> tuple[bytes, bytes]:
    key = _key()
    prepared = blindrsa.prepare(b"an example token message")
    blinded, inv = blindrsa.blind(key.public_key(), prepared)
    return prepared, blindrsa.finalize(key.public_key(), prepared, blindrsa.blind_sign(key, blinded), inv)


@_settings
@given(data=st.data())
def test_it_rejects_any_changed_byte_of_the_message(data):
    prepared, sig = _signed_example()
    i = data.draw(st.integers(0, len(prepared) - 1))
    delta = data.draw(st.integers(1, 255))
    changed = bytearray(prepared)
    changed[i] ^= delta
    assert not blindrsa.verify(_key().public_key(), bytes(changed), sig)


@_settings
@given(data=st.data())
def test_it_rejects_any_changed_byte_of_the_signature(data):
    prepared, sig = _signed_example()
    i = data.draw(st.integers(0, len(sig) - 1))
    delta = data.draw(st.integers(1, 255))
    changed = bytearray(sig)
    changed[i] ^= delta
    assert not blindrsa.verify(_key().public_key(), prepared, bytes(changed))


@_settings
@given(data=st.data())
def test_it_refuses_to_finalize_a_tampered_blind_signature(data):
    key = _key()
    prepared = blindrsa.prepare(b"m")
    blinded, inv = blindrsa.blind(key.public_key(), prepared)
    blind_sig = bytearray(blindrsa.blind_sign(key, blinded))
    blind_sig[data.draw(st.integers(0, 255))] ^= data.draw(st.integers(1, 255))
    with pytest.raises(blindrsa.BlindRSAError):  # InvalidSignature, or OutOfRange if >= n
        blindrsa.finalize(key.public_key(), prepared, bytes(blind_sig), inv)


@_settings
@given(excess=st.integers(min_value=0, max_value=2**2048 - 1))
def test_it_refuses_to_sign_a_blinded_message_out_of_range(excess):
    key = _key()
    n = key.public_key().public_numbers().n
    value = n + excess
    if value >= 2**2048:
        value = n + excess % (2**2048 - n)
    with pytest.raises(blindrsa.OutOfRange):
        blindrsa.blind_sign(key, value.to_bytes(256, "big"))


def test_it_signs_the_edges_of_the_range(key):
    n = key.public_key().public_numbers().n
    for m in (0, 1, n - 1):
        s = blindrsa.blind_sign(key, m.to_bytes(256, "big"))
        assert pow(int.from_bytes(s, "big"), 65537, n) == m


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 255, 257, 512])
def test_it_refuses_a_blinded_message_of_the_wrong_length(key, length):
    with pytest.raises(blindrsa.WrongLength):
        blindrsa.blind_sign(key, b"\x01" * length)


def test_it_refuses_a_blinded_message_that_is_not_bytes(key):
    with pytest.raises(blindrsa.MalformedInput):
        blindrsa.blind_sign(key, "00" * 256)


def test_it_refuses_to_sign_with_a_small_key():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(blindrsa.UnsupportedKey):
        blindrsa.blind_sign(small, b"\x00" * 128)
    with pytest.raises(blindrsa.UnsupportedKey):
        blindrsa.generate_private_key(1024)


def test_it_refuses_keys_with_another_exponent():
    key = rsa.generate_private_key(public_exponent=3, key_size=2048)
    with pytest.raises(blindrsa.UnsupportedKey):
        blindrsa.blind(key.public_key(), b"m")
    with pytest.raises(blindrsa.UnsupportedKey):
        blindrsa.encode_public_key(key.public_key())


def test_it_refuses_to_sign_with_a_key_of_another_kind():
    with pytest.raises(blindrsa.UnsupportedKey):
        blindrsa.blind_sign(ec.generate_private_key(ec.SECP256R1()), b"\x00" * 256)


def test_it_detects_a_fault_in_the_signing_computation(key, monkeypatch):
    real = blindrsa.gmpy2.powmod_sec
    calls = []

    def faulty(base, exponent, modulus):
        calls.append(1)
        result = real(base, exponent, modulus)
        return result + 1 if len(calls) == 1 else result  # one bad CRT half (Bellcore attack)

    monkeypatch.setattr(blindrsa.gmpy2, "powmod_sec", faulty)
    with pytest.raises(blindrsa.SigningFailure):
        blindrsa.blind_sign(key, (12345).to_bytes(256, "big"))


@pytest.mark.parametrize("which", ["blind_sig", "inv"])
@pytest.mark.parametrize("length", [0, 255, 257])
def test_it_refuses_to_finalize_input_of_the_wrong_length(key, which, length):
    prepared = blindrsa.prepare(b"m")
    blinded, inv = blindrsa.blind(key.public_key(), prepared)
    args = {"blind_sig": blindrsa.blind_sign(key, blinded), "inv": inv}
    args[which] = b"\x01" * length
    with pytest.raises(blindrsa.WrongLength):
        blindrsa.finalize(key.public_key(), prepared, **args)


def test_it_refuses_to_finalize_with_another_key(key):
    other = blindrsa.generate_private_key(2048)
    n = key.public_key().public_numbers().n
    while True:  # a blinded message and answer that are in range for both moduli
        prepared = blindrsa.prepare(b"m")
        blinded, inv = blindrsa.blind(key.public_key(), prepared)
        try:
            blind_sig = blindrsa.blind_sign(other, blinded)
        except blindrsa.OutOfRange:
            continue
        if int.from_bytes(blind_sig, "big") < n:
            break
    with pytest.raises(blindrsa.InvalidSignature):
        blindrsa.finalize(key.public_key(), prepared, blind_sig, inv)


def test_it_refuses_a_blinding_factor_out_of_range(key):
    n = key.public_key().public_numbers().n
    for r in (0, n, -1):
        with pytest.raises(blindrsa.OutOfRange):
            blindrsa.blind(key.public_key(), b"m", r=r)


def test_it_refuses_a_salt_or_prefix_of_the_wrong_length(key):
    with pytest.raises(blindrsa.WrongLength):
        blindrsa.blind(key.public_key(), b"m", salt=b"\x00" * 47)
    with pytest.raises(blindrsa.WrongLength):
        blindrsa.prepare(b"m", prefix=b"\x00" * 31)


def test_it_does_not_verify_garbage(key):
    public_key = key.public_key()
    assert not blindrsa.verify(public_key, b"m", b"")
    assert not blindrsa.verify(public_key, b"m", b"\x00" * 256)
    assert not blindrsa.verify(public_key, b"m", b"\xff" * 256)  # >= n
    assert not blindrsa.verify(public_key, "m", b"\x00" * 256)
    assert not blindrsa.verify(public_key, b"m", None)


def test_its_errors_are_one_family_with_fixed_messages(key):
    with pytest.raises(blindrsa.BlindRSAError) as info:
        blindrsa.blind_sign(key, b"\xff" * 256)
    assert str(info.value) == "blinded message out of range"
    assert not isinstance(info.value, ValueError)


# --- encodings --------------------------------------------------------------------------------------


def test_it_publishes_the_public_key_as_base64url_spki(key):
    text = blindrsa.encode_public_key(key.public_key())
    assert "=" not in text and "+" not in text and "/" not in text
    der = blindrsa.b64u_decode(text)
    assert der == blindrsa.public_key_der(key.public_key())
    # rsaEncryption OID 1.2.840.113549.1.1.1, as WebCrypto's importKey("spki") expects
    assert bytes.fromhex("06092a864886f70d010101") in der[:20]
    assert blindrsa.decode_public_key(text).public_numbers() == key.public_key().public_numbers()


def test_it_names_a_key_by_the_sha256_of_its_spki(key):
    import hashlib

    kid = blindrsa.key_id(key.public_key())
    assert kid == hashlib.sha256(blindrsa.public_key_der(key.public_key())).hexdigest()
    assert len(kid) == 64 and kid == kid.lower()


@pytest.mark.parametrize(
    "text",
    ["", "A", "not base64!", "AAAA+/", "AA==A", "AB", "AAA=====", "🙂", b"\xff"],
)
def test_it_refuses_malformed_base64url(text):
    with pytest.raises(blindrsa.MalformedInput):
        blindrsa.decode_public_key(text)


def test_it_decodes_base64url_strictly():
    assert blindrsa.b64u_decode("AQ") == b"\x01"
    assert blindrsa.b64u_decode("AQ==") == b"\x01"
    assert blindrsa.b64u_decode(b"-_8") == b"\xfb\xff"
    with pytest.raises(blindrsa.MalformedInput):
        blindrsa.b64u_decode("AR")  # non-zero unused bits
    with pytest.raises(blindrsa.MalformedInput):
        blindrsa.b64u_decode("+/8")
    with pytest.raises(blindrsa.MalformedInput):
        blindrsa.b64u_decode(None)


@given(st.binary(max_size=100))
def test_it_round_trips_base64url(data):
    assert blindrsa.b64u_decode(blindrsa.b64u_encode(data)) == data


def test_it_refuses_public_keys_that_are_not_rsa_spki(key):
    ec_der = blindrsa.b64u_encode(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(
            blindrsa.serialization.Encoding.DER,
            blindrsa.serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    with pytest.raises(blindrsa.UnsupportedKey):
        blindrsa.decode_public_key(ec_der)
    with pytest.raises(blindrsa.MalformedInput):
        blindrsa.decode_public_key(blindrsa.b64u_encode(b"\x30\x03\x02\x01\x01"))
    der = blindrsa.public_key_der(key.public_key())
    with pytest.raises(blindrsa.MalformedInput):  # trailing garbage
        blindrsa.decode_public_key(blindrsa.b64u_encode(der + b"\x00"))
