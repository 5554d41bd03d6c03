"""Merkle roots and inclusion proofs follow RFC 6962."""

import hashlib

import pytest

from agentgov.contracts import merkle


def _mth(leaves: list[bytes]) -> bytes:
    """The RFC 6962 definition, written recursively as the RFC states it (independent of merkle.root)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 100])
def test_root_matches_the_rfc_definition(n: int) -> None:
    """The iterative root equals the RFC's recursive MTH for every size."""
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(n)]
    assert merkle.root(leaves) == _mth(leaves)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 64, 100])
def test_every_leaf_has_a_proof_and_wrong_claims_fail(n: int) -> None:
    """Each leaf's proof verifies at its index only (the size is bound by the signed checkpoint, not here)."""
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(n)]
    root = merkle.root(leaves)
    for i in range(n):
        proof = merkle.inclusion_proof(leaves, i)
        assert merkle.verify_inclusion(leaves[i], i, n, proof, root)
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), i, n, proof, root)
        if n > 1:
            assert not merkle.verify_inclusion(leaves[i], (i + 1) % n, n, proof, root)


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    """A leaf can never be confused with an interior node (0x00 vs 0x01 prefix)."""
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)
    with pytest.raises(IndexError):
        merkle.inclusion_proof([a], 1)
