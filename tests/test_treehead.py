"""Signed tree heads (Ed25519) and key rotation statements; canonical JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from undersigned.lib import treehead as th
from undersigned.lib.canonical import CanonicalJSONError, canonical_json, is_canonical, parse_json
from undersigned.lib.merkle import EMPTY_ROOT

KEY = th.load_private_key(bytes(range(32)))
OTHER = th.load_private_key(bytes(range(1, 33)))
HEAD = th.TreeHead("https://undersigned.example/letters/x", 7, EMPTY_ROOT, "2026-01-20T10:05:00Z")


def test_it_signs_and_verifies_a_tree_head_round_trip():
    signed = th.sign_tree_head(KEY, HEAD)
    again = th.SignedTreeHead.from_dict(signed.to_dict())
    assert again == signed
    th.verify_tree_head(th.public_key_b64(KEY), again)
    th.verify_tree_head(th.public_key_bytes(KEY), again)
    assert signed.key_id == th.key_id(KEY) == th.key_id(th.public_key_b64(KEY))
    assert len(signed.key_id) == 64


def test_it_signs_the_canonical_json_of_the_tree_head():
    signed = th.sign_tree_head(KEY, HEAD)
    expected = rfc8785.dumps(
        {
            "type": "undersigned/tree-head/v1",
            "log_id": HEAD.log_id,
            "tree_size": 7,
            "root_hash": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
            "timestamp": "2026-01-20T10:05:00Z",
        }
    )
    KEY.public_key().verify(signed.signature, expected)


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 8},
        {"root_hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        {"log_id": "https://undersigned.example/letters/y"},
        {"timestamp": "2026-01-20T10:06:00Z"},
    ],
)
def test_any_change_to_a_signed_tree_head_fails(change):
    data = th.sign_tree_head(KEY, HEAD).to_dict()
    data["tree_head"].update(change)
    with pytest.raises(th.TreeHeadError):
        th.verify_tree_head(th.public_key_bytes(KEY), th.SignedTreeHead.from_dict(data))


def test_it_refuses_another_key():
    signed = th.sign_tree_head(KEY, HEAD)
    with pytest.raises(th.TreeHeadError, match="signed by key"):
        th.verify_tree_head(th.public_key_bytes(OTHER), signed)
    forged = th.SignedTreeHead(HEAD, th.key_id(OTHER), signed.signature)
    with pytest.raises(th.TreeHeadError, match="does not verify"):
        th.verify_tree_head(th.public_key_bytes(OTHER), forged)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"tree_head": {}, "key_id": "0" * 64, "signature": "A" * 86},
        {"tree_head": {**HEAD.to_dict(), "tree_size": -1}, "key_id": "0" * 64, "signature": "A" * 86},
        {"tree_head": {**HEAD.to_dict(), "tree_size": True}, "key_id": "0" * 64, "signature": "A" * 86},
        {"tree_head": {**HEAD.to_dict(), "root_hash": "not base64!"}, "key_id": "0" * 64, "signature": "A" * 86},
        {"tree_head": {**HEAD.to_dict(), "timestamp": "2026-02-30T10:00:00Z"}, "key_id": "0" * 64, "signature": "A" * 86},
        {"tree_head": {**HEAD.to_dict(), "type": "other"}, "key_id": "0" * 64, "signature": "A" * 86},
        {"tree_head": {**HEAD.to_dict(), "extra": 1}, "key_id": "0" * 64, "signature": "A" * 86},
        {"tree_head": HEAD.to_dict(), "key_id": "XYZ", "signature": "A" * 86},
        {"tree_head": HEAD.to_dict(), "key_id": "0" * 64, "signature": "AAAA"},
    ],
)
def test_it_refuses_malformed_tree_heads_with_a_clear_error(data):
    with pytest.raises(th.TreeHeadError):
        th.SignedTreeHead.from_dict(data)


def test_keys_serialise_and_load():
    seed = th.private_key_bytes(KEY)
    assert th.private_key_bytes(th.load_private_key(seed)) == seed
    assert th.public_key_bytes(th.load_public_key(th.public_key_b64(KEY))) == th.public_key_bytes(KEY)
    fresh = th.generate_key()
    assert len(th.public_key_bytes(fresh)) == 32
    with pytest.raises(th.TreeHeadError):
        th.load_public_key(b"short")
    with pytest.raises(th.TreeHeadError):
        th.load_private_key(b"short")


def test_coarse_timestamps_round_down():
    when = datetime(2026, 1, 20, 10, 7, 59, 123456, tzinfo=UTC)
    assert th.coarse_timestamp(when) == "2026-01-20T10:07:00Z"
    assert th.coarse_timestamp(when, granularity=300) == "2026-01-20T10:05:00Z"


def test_a_key_rotation_is_signed_by_both_keys():
    statement = th.sign_key_rotation(KEY, OTHER, "2026-02-01T00:00:00Z")
    old, new = th.verify_key_rotation(statement)
    assert (old, new) == (th.public_key_bytes(KEY), th.public_key_bytes(OTHER))
    # A rotation cannot be claimed by the old key alone, nor replayed as a tree head.
    third = th.generate_key()
    forged = dict(statement, new_signature=th.sign_key_rotation(KEY, third, "2026-02-01T00:00:00Z")["new_signature"])
    with pytest.raises(th.TreeHeadError, match="new key"):
        th.verify_key_rotation(forged)
    changed = {**statement, "statement": {**statement["statement"], "timestamp": "2026-02-02T00:00:00Z"}}
    with pytest.raises(th.TreeHeadError):
        th.verify_key_rotation(changed)
    with pytest.raises(th.TreeHeadError):
        th.verify_key_rotation({"statement": {}})
    with pytest.raises(th.TreeHeadError):
        th.sign_key_rotation(KEY, KEY)


# --- canonical JSON -----------------------------------------------------------------------------------


def test_canonical_json_is_rfc8785_and_refuses_floats():
    assert canonical_json({"b": [1, "é", None, True], "a": {"z": -3}}) == b'{"a":{"z":-3},"b":[1,"\xc3\xa9",null,true]}'
    for bad in [{"a": 1.0}, {"a": 2**53}, {1: "a"}, {"a": object()}, {"a": "\ud800"}]:
        with pytest.raises(CanonicalJSONError):
            canonical_json(bad)


@pytest.mark.parametrize("data", [b"{", b"\xff", b'{"a":1.5}', b'{"a":NaN}', b'{"a":Infinity}', b"[" * 100000])
def test_parse_json_refuses_what_it_must(data):
    with pytest.raises(CanonicalJSONError):
        parse_json(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_fast_canonical_check_agrees_with_rfc8785(value):
    try:
        data = canonical_json(value)
    except CanonicalJSONError:
        return  # lone surrogates
    assert parse_json(data) == value
    assert is_canonical(data, value)
    assert not is_canonical(data + b" ", value)


def test_duplicate_keys_are_not_canonical():
    data = b'{"a":1,"a":2}'
    assert not is_canonical(data, parse_json(data))
