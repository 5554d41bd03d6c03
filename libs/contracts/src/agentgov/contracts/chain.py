"""One producer's chain, as pure state: seal the next event, then advance once it is stored (DESIGN.md §5).

``ChainWriter`` fills an event's envelope (id, ts, chain position), encodes it canonically, checks the
size, signs the hash and frames it. It never does I/O: the streaming library's ``ChainedProducer`` appends
what it seals, and tests and tools use it to build chains offline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import codec, crypto
from agentgov.contracts.envelope import GENESIS, Chain, Event
from agentgov.contracts.errors import PayloadTooLargeError
from agentgov.contracts.events import ProducerKeyRegistered
from agentgov.contracts.ids import check_token, uuid7
from agentgov.contracts.streams import MAX_EVENT_BYTES


@dataclass(frozen=True, slots=True)
class Sealed:
    """An event with its envelope filled in, the hash of its canonical bytes and the framed payload."""

    event: Event
    digest: bytes
    payload: bytes


class ChainWriter:
    """The chain state of one producer: its id, key, last sequence and last event hash."""

    def __init__(
        self, key: Ed25519PrivateKey, producer_id: str, *, role: str, max_bytes: int = MAX_EVENT_BYTES
    ) -> None:
        self.key = key
        self.producer_id = check_token("producer", producer_id)
        self.role = check_token("role", role)
        self.public_key = crypto.public_key_text(key)
        self.max_bytes = max_bytes
        self.seq = 0
        self.head = GENESIS

    def seal(self, event: Event, *, subject: str = "") -> Sealed:
        """The next event of this chain, sealed; the chain does not move until :meth:`advance`."""
        ev = msgspec.structs.replace(
            event,
            id=event.id or uuid7(),
            ts=event.ts or time.time_ns(),
            chain=Chain(producer=self.producer_id, seq=self.seq + 1, prev=self.head),
        )
        body = codec.canonical(ev)
        size = len(body) + codec.OVERHEAD
        if size > self.max_bytes:
            raise PayloadTooLargeError(size, self.max_bytes, subject)
        digest = crypto.event_hash(body)
        return Sealed(ev, digest, codec.frame(body, crypto.sign(self.key, digest)))

    def advance(self, sealed: Sealed) -> None:
        """Record that ``sealed`` (the last one sealed) is now part of the chain."""
        assert sealed.event.chain.seq == self.seq + 1, "seal and advance one event at a time"
        self.seq = sealed.event.chain.seq
        self.head = sealed.digest.hex()

    def retract(self, sealed: Sealed) -> None:
        """Undo :meth:`advance` of ``sealed``, the chain's newest event, which the stream did not store."""
        assert sealed.event.chain.seq == self.seq and sealed.digest.hex() == self.head, "only the newest event"
        self.seq = sealed.event.chain.seq - 1
        self.head = sealed.event.chain.prev

    def registration(self, *, host: str = "", pid: int = 0, software: str = "") -> ProducerKeyRegistered:
        """The ProducerKeyRegistered event that must open this chain."""
        return ProducerKeyRegistered(
            producer=self.producer_id,
            public_key=self.public_key,
            key_id=crypto.key_id(self.public_key),
            role=self.role,
            host=host,
            pid=pid,
            software=software,
        )
