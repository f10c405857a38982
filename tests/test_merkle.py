"""RFC 9162 §2.1 Merkle tree: published vectors, property tests, the incremental structures."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from undersigned.lib import merkle
from undersigned.lib.merkle import ProofError

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc6962-merkle-transparency-dev.json").read_text())
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots"]]
TREE = merkle.MerkleTree.from_entries(LEAVES)


def hexes(proof):
    return [p.hex() for p in proof]


def test_it_hashes_as_the_reference():
    h = VECTORS["hasher"]
    assert merkle.EMPTY_ROOT.hex() == h["empty_root"] == merkle.root([]).hex()
    assert merkle.leaf_hash(b"").hex() == h["leaf_hash_of_empty"]
    assert merkle.leaf_hash(h["leaf_hash"]["data_ascii"].encode()).hex() == h["leaf_hash"]["hash"]
    node = h["node_hash"]
    assert merkle.node_hash(node["left_ascii"].encode(), node["right_ascii"].encode()).hex() == node["hash"]


@pytest.mark.parametrize("size", range(1, 9))
def test_it_computes_the_reference_roots(size):
    assert merkle.root_of_entries(LEAVES[:size]) == ROOTS[size - 1]
    assert TREE.root(size) == ROOTS[size - 1]
    cr = merkle.CompactRange()
    cr.extend(merkle.leaf_hash(x) for x in LEAVES[:size])
    assert cr.root() == ROOTS[size - 1]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['leaf_index']}-of-{c['tree_size']}")
def test_it_generates_and_verifies_the_reference_inclusion_proofs(case):
    index, size = case["leaf_index"], case["tree_size"]
    proof = TREE.inclusion_proof(index, size)
    assert hexes(proof) == case["proof"]
    merkle.verify_inclusion(index, size, merkle.leaf_hash(LEAVES[index]), proof, ROOTS[size - 1])


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: f"{c['size1']}-to-{c['size2']}")
def test_it_generates_and_verifies_the_reference_consistency_proofs(case):
    size1, size2 = case["size1"], case["size2"]
    proof = TREE.consistency_proof(size1, size2)
    assert hexes(proof) == case["proof"]
    merkle.verify_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], proof)


def corrupt_inclusion(index, size, proof, root, leaf):
    """The probes of the reference implementation's verifier tests: each must fail."""
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes = [
        (index - 1, size, leaf, proof, root),
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size // 2, leaf, proof, root),
        (index, size, merkle.leaf_hash(b"WrongLeaf"), proof, root),
        (index, size, leaf, proof, merkle.EMPTY_ROOT),
        (index, size, leaf, proof, some),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [root, *proof], root),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((index, size, leaf, wrong, root))
    if proof:
        probes.append((index, size, leaf, proof[:-1], root))
    if len(proof) > 1:
        probes.append((index, size, leaf, [proof[0], some, *proof[1:]], root))
    return probes


@pytest.mark.parametrize("case", [c for c in VECTORS["inclusion"] if c["proof"]], ids=lambda c: f"{c['leaf_index']}-of-{c['tree_size']}")
def test_it_refuses_every_corrupted_reference_inclusion_proof(case):
    index, size = case["leaf_index"], case["tree_size"]
    proof = [bytes.fromhex(p) for p in case["proof"]]
    for probe in corrupt_inclusion(index, size, proof, ROOTS[size - 1], merkle.leaf_hash(LEAVES[index])):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*probe)


@pytest.mark.parametrize("case", [c for c in VECTORS["consistency"] if c["proof"]], ids=lambda c: f"{c['size1']}-to-{c['size2']}")
def test_it_refuses_every_corrupted_reference_consistency_proof(case):
    s1, s2 = case["size1"], case["size2"]
    r1, r2 = ROOTS[s1 - 1], ROOTS[s2 - 1]
    proof = [bytes.fromhex(p) for p in case["proof"]]
    probes = [
        (s1 - 1, s2, r1, r2, proof),
        (s1 + 1, s2, r1, r2, proof),
        (s1 ^ 2, s2, r1, r2, proof),
        (s1, s2 * 2, r1, r2, proof),
        (s1, s2 // 2, r1, r2, proof),
        (s1, s2, merkle.EMPTY_ROOT, r2, proof),
        (s1, s2, r1, merkle.EMPTY_ROOT, proof),
        (s1, s2, r2, r1, proof),
        (s1, s2, r1, r2, []),
        (s1, s2, r1, r2, [*proof, r1]),
        (s1, s2, r1, r2, [*proof, r2]),
        (s1, s2, r1, r2, [r1, *proof]),
        (s1, s2, r1, r2, [r2, *proof]),
        (s1, s2, r1, r2, [proof[0], *proof]),
        (s1, s2, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((s1, s2, r1, r2, wrong))
    for probe in probes:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*probe)


def test_it_handles_the_trivial_consistency_cases():
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    merkle.verify_consistency(0, 0, a, a, [])
    merkle.verify_consistency(0, 5, a, b, [])  # everything extends the empty tree
    merkle.verify_consistency(3, 3, a, a, [])
    for args in [(3, 3, a, b, []), (2, 1, a, b, []), (0, 1, a, b, [a]), (3, 3, a, a, [a]), (1, 2, a, b, [])]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)


def test_it_refuses_impossible_inclusion_parameters():
    h = merkle.leaf_hash(b"x")
    for index, size in [(0, 0), (1, 0), (2, 1), (-1, 4)]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, h, [], h)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(0, 1, b"short", [], b"short")
    with pytest.raises(ValueError):
        TREE.inclusion_proof(8, 8)
    with pytest.raises(ValueError):
        TREE.consistency_proof(9, 8)


def leaves_of(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


def test_it_agrees_with_the_rfc_recursion_exhaustively_for_small_trees():
    def mth(d):  # RFC 9162 §2.1.1, literally
        if len(d) == 1:
            return d[0]
        k = 1 << ((len(d) - 1).bit_length() - 1)
        return merkle.node_hash(mth(d[:k]), mth(d[k:]))

    def path(m, d):  # §2.1.3.1, literally
        if len(d) == 1:
            return []
        k = 1 << ((len(d) - 1).bit_length() - 1)
        return path(m, d[:k]) + [mth(d[k:])] if m < k else path(m - k, d[k:]) + [mth(d[:k])]

    def subproof(m, d, b):  # §2.1.4.1, literally
        if m == len(d):
            return [] if b else [mth(d)]
        k = 1 << ((len(d) - 1).bit_length() - 1)
        return subproof(m, d[:k], b) + [mth(d[k:])] if m <= k else subproof(m - k, d[k:], False) + [mth(d[:k])]

    hashes = leaves_of(40)
    tree = merkle.MerkleTree(hashes)
    for n in range(1, 41):
        assert tree.root(n) == mth(hashes[:n]) == merkle.root(hashes[:n])
        for m in range(n):
            assert tree.inclusion_proof(m, n) == path(m, hashes[:n])
        for m in range(1, n):
            assert tree.consistency_proof(m, n) == subproof(m, hashes[:n], True)


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 300), data=st.data())
def test_every_inclusion_proof_verifies_and_any_changed_byte_fails(size, data):
    hashes = leaves_of(size)
    tree = merkle.MerkleTree(hashes)
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index)
    root = tree.root()
    merkle.verify_inclusion(index, size, hashes[index], proof, root)
    # Change one byte of the leaf, the root or a proof element: it must fail.
    target = data.draw(st.integers(0, len(proof) + 1))
    pos = data.draw(st.integers(0, 31))
    flip = data.draw(st.integers(1, 255))

    def changed(h):
        return h[:pos] + bytes([h[pos] ^ flip]) + h[pos + 1 :]

    leaf, bad_root, bad_proof = hashes[index], root, list(proof)
    if target == len(proof):
        leaf = changed(leaf)
    elif target == len(proof) + 1:
        bad_root = changed(root)
    else:
        bad_proof[target] = changed(bad_proof[target])
    with pytest.raises(ProofError):
        merkle.verify_inclusion(index, size, leaf, bad_proof, bad_root)


@settings(max_examples=150, deadline=None)
@given(size2=st.integers(1, 300), data=st.data())
def test_every_consistency_proof_verifies_and_any_changed_byte_fails(size2, data):
    hashes = leaves_of(size2)
    tree = merkle.MerkleTree(hashes)
    size1 = data.draw(st.integers(1, size2))
    proof = tree.consistency_proof(size1)
    root1, root2 = tree.root(size1), tree.root()
    merkle.verify_consistency(size1, size2, root1, root2, proof)
    if size1 == size2:
        return
    target = data.draw(st.integers(0, len(proof) + 1))
    pos = data.draw(st.integers(0, 31))
    flip = data.draw(st.integers(1, 255))

    def changed(h):
        return h[:pos] + bytes([h[pos] ^ flip]) + h[pos + 1 :]

    if target == len(proof):
        root1 = changed(root1)
    elif target == len(proof) + 1:
        root2 = changed(root2)
    else:
        proof = list(proof)
        proof[target] = changed(proof[target])
    with pytest.raises(ProofError):
        merkle.verify_consistency(size1, size2, root1, root2, proof)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=80), st.integers(0, 80))
def test_incremental_structures_agree_with_the_batch_root(entries, cut):
    hashes = [merkle.leaf_hash(e) for e in entries]
    tree, cr = merkle.MerkleTree(), merkle.CompactRange()
    for h in hashes:
        tree.append(h)
        cr.append(h)
    batch = merkle.MerkleTree(hashes)
    assert tree.levels == batch.levels
    assert tree.root() == cr.root() == merkle.root(hashes) == merkle.root_of_entries(entries)
    cut = min(cut, len(hashes))
    assert tree.compact_range(cut) == merkle.MerkleTree(hashes[:cut]).compact_range()
    assert merkle.CompactRange.from_dict(cr.to_dict()) == cr


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 70), max_size=6))
def test_extending_a_compact_range_by_blocks_is_appending_one_by_one(block_sizes):
    hashes = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(sum(block_sizes))]
    one_by_one, by_blocks = merkle.CompactRange(), merkle.CompactRange()
    start = 0
    for size in block_sizes:
        for h in hashes[start : start + size]:
            one_by_one.append(h)
        by_blocks.extend(hashes[start : start + size])
        start += size
        assert by_blocks == one_by_one
        assert by_blocks.root() == merkle.root(hashes[:start])


def test_a_compact_range_refuses_inconsistent_state():
    with pytest.raises(ValueError):
        merkle.CompactRange(3, [merkle.EMPTY_ROOT])
    with pytest.raises(ValueError):
        merkle.CompactRange(1, [b"short"])
