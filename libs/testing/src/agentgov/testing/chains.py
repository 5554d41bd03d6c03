"""Building chained, signed streams in memory, for tests of verification that need no server."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import subjects
from agentgov.contracts.chain import ChainWriter
from agentgov.contracts.envelope import Event
from agentgov.contracts.events import Action, ActionDecided, SpendRecorded, Verdict
from agentgov.streaming.reader import StoredMsg

__all__ = ["StreamBuilder", "decision", "spend"]


def decision(agent: str = "a1", verdict: Verdict = "allow", target: str = "ls", team: str = "t1") -> ActionDecided:
    """A small ActionDecided for an agent."""
    return ActionDecided(
        agent=agent,
        team=team,
        org="o1",
        request_id=secrets.token_hex(4),
        action=Action(kind="shell", target=target),
        verdict=verdict,
        claim="evaluated",
    )


def spend(agent: str = "a1", tokens: int = 100) -> SpendRecorded:
    """A small SpendRecorded for an agent."""
    return SpendRecorded(agent=agent, team="t1", org="o1", model="m", input_tokens=tokens, usd_micros=tokens * 3)


@dataclass
class StreamBuilder:
    """Stored messages in stream order, numbered from 1, as a stream would hold them."""

    msgs: list[StoredMsg] = field(default_factory=list)
    writers: dict[str, ChainWriter] = field(default_factory=dict)

    def producer(self, role: str = "policy", name: str | None = None) -> ChainWriter:
        """A new producer whose key registration is appended now."""
        w = ChainWriter(Ed25519PrivateKey.generate(), name or f"{role}-{secrets.token_hex(3)}", role=role)
        self.writers[w.producer_id] = w
        self.append(w, w.registration(), subjects.registry(w.producer_id))
        return w

    def append(self, w: ChainWriter, event: Event, subject: str | None = None) -> StoredMsg:
        """Seal ``event`` as ``w``'s next event and store it."""
        sealed = w.seal(event)
        w.advance(sealed)
        return self.raw(subject or subjects.decision(event.agent or "a1"), sealed.payload, ts=sealed.event.ts)

    def raw(self, subject: str, data: bytes, ts: int = 0) -> StoredMsg:
        """Store arbitrary bytes."""
        m = StoredMsg(len(self.msgs) + 1, subject, data, ts)
        self.msgs.append(m)
        return m
