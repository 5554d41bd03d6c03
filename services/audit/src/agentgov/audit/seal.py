"""Sealing ranges of GOV into signed checkpoints, and checking a range against one (DESIGN.md §5)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.audit.domain import Problem
from agentgov.contracts import codec, crypto, merkle
from agentgov.contracts.envelope import GENESIS, Chain
from agentgov.contracts.events import CHECKPOINT_CHAIN, LEAF_PREFIX_BYTES, ChainHead, Checkpoint
from agentgov.contracts.ids import uuid7


@dataclass(slots=True)
class Segment:
    """The messages since the last checkpoint: their leaves in stream order, and what was missing."""

    first_seq: int
    last_seq: int = 0
    leaves: list[bytes] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)
    malformed: int = 0
    broken: int = 0
    started: float = 0.0

    def add(self, seq: int, leaf: bytes, status: str = "ok") -> None:
        """Add one message (in stream order)."""
        if not self.leaves:
            self.started = time.monotonic()
        expected = (self.last_seq or self.first_seq - 1) + 1
        if seq > expected:
            self.gaps.extend(range(expected, seq))
        self.last_seq = seq
        self.leaves.append(leaf)
        self.seqs.append(seq)
        if status == "malformed":
            self.malformed += 1
        elif status == "broken":
            self.broken += 1

    def __len__(self) -> int:
        return len(self.leaves)

    def age(self) -> float:
        """Seconds since the segment's first message (0 while empty)."""
        if not self.leaves:
            return 0.0
        return time.monotonic() - self.started


@dataclass(frozen=True, slots=True)
class SealedCheckpoint:
    """A checkpoint ready to append: the event, its hash and the framed payload."""

    event: Checkpoint
    digest: bytes
    payload: bytes


def build_checkpoint(
    segment: Segment,
    *,
    stream: str,
    number: int,
    prev: str,
    heads: list[ChainHead],
    signer: str,
    key: Ed25519PrivateKey,
) -> SealedCheckpoint:
    """The signed checkpoint number ``number`` over ``segment``, linked to the previous checkpoint's hash."""
    event = Checkpoint(
        id=uuid7(),
        ts=time.time_ns(),
        chain=Chain(producer=CHECKPOINT_CHAIN, seq=number, prev=prev or GENESIS),
        stream=stream,
        signer=signer,
        first_seq=segment.first_seq,
        last_seq=segment.last_seq,
        count=len(segment.leaves),
        merkle_root=merkle.root(segment.leaves).hex(),
        leaf_prefixes=b"".join(leaf[:LEAF_PREFIX_BYTES] for leaf in segment.leaves),
        heads=heads,
        gaps=segment.gaps,
        malformed=segment.malformed,
        broken=segment.broken,
    )
    body = codec.canonical(event)
    digest = crypto.event_hash(body)
    return SealedCheckpoint(event, digest, codec.frame(body, crypto.sign(key, digest)))


def compare(cp: Checkpoint, seqs: list[int], leaves: list[bytes]) -> Problem | None:
    """Check the messages now in ``cp``'s range against it; name the first stream sequence that differs."""
    width = LEAF_PREFIX_BYTES
    sealed = [cp.leaf_prefixes[i : i + width] for i in range(0, len(cp.leaf_prefixes), width)]
    where = f"checkpoint {cp.chain.seq} ({cp.first_seq}..{cp.last_seq})"
    for i, (leaf, want) in enumerate(zip(leaves, sealed, strict=False)):
        if leaf[:width] != want:
            moved = leaf[:width] in sealed
            return Problem(
                seqs[i],
                "reordered" if moved else "altered",
                f"{'a message sealed elsewhere in' if moved else 'bytes differ from what was sealed in'} {where}",
            )
    if len(leaves) < len(sealed):
        at = seqs[-1] + 1 if seqs else cp.first_seq
        return Problem(at, "missing_message", f"{where} sealed {len(sealed)} messages; {len(leaves)} remain")
    if len(leaves) > len(sealed):
        return Problem(seqs[len(sealed)], "replayed", f"message was not sealed in {where}")
    if merkle.root(leaves).hex() != cp.merkle_root:
        return Problem(cp.first_seq, "altered", f"Merkle root does not match {where}")
    return None
