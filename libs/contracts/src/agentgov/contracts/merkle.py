"""Merkle tree hashes and inclusion proofs as in RFC 6962 / RFC 9162 §2.1 (SHA-256).

leaf = SHA-256(0x00 || message bytes), node = SHA-256(0x01 || left || right); a level with an odd count
promotes its last node unchanged, which gives the same tree as the RFC's split at the largest power of two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """The leaf hash of one message's bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash over leaf hashes, in order."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first and the root last (build once, then take many proofs)."""
    out = [list(leaves)]
    while len(out[-1]) > 1:
        level = out[-1]
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        out.append(nxt)
    return out


def proof_from_levels(tree: list[list[bytes]], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` in a tree built by :func:`levels`."""
    if not 0 <= index < len(tree[0]):
        raise IndexError(f"leaf {index} is outside a tree of {len(tree[0])}")
    proof: list[bytes] = []
    i = index
    for level in tree[:-1]:
        sibling = i ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        i //= 2
    return proof


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path proving ``leaves[index]`` is in the tree over ``leaves``."""
    return proof_from_levels(levels(leaves), index)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """True when ``proof`` shows ``leaf`` at ``index`` in a tree of ``size`` leaves with ``expected_root``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root
