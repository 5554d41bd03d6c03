"""ChainedProducer.publish_once: a de-duplicated or refused append leaves the chain without a hole."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.js.client import JetStreamContext

from agentgov.contracts import codec, subjects
from agentgov.contracts.events import AgentPaused
from agentgov.streaming.errors import PublishError
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import read_all


async def test_duplicate_msg_id_keeps_the_chain_whole(gov: JetStreamContext) -> None:
    """A repeat of a msg id is dropped by JetStream and the chain does not advance, so the next event links."""
    producer = ChainedProducer(gov, Ed25519PrivateKey.generate(), role="operator")
    await producer.register()
    first = await producer.publish_once(subjects.anomaly("a1"), AgentPaused(agent="a1"), msg_id="req-1")
    head, seq = producer.head, producer.seq
    again = await producer.publish_once(subjects.anomaly("a1"), AgentPaused(agent="a1", reason="x"), msg_id="req-1")
    assert again.duplicate and again.seq == first.seq
    assert (producer.head, producer.seq) == (head, seq)
    await producer.publish(subjects.anomaly("a1"), AgentPaused(agent="a1", reason="next"))
    stored = [codec.decode_event(codec.split(m.data)[0]) for m in await read_all(gov, "GOV")]
    chains = [e.chain.seq for e in stored]
    assert chains == [1, 2, 3]


async def test_refused_compare_and_set_leaves_chain_unchanged(gov: JetStreamContext) -> None:
    """A wrong expected-last-subject-sequence raises PublishError and the chain stays usable."""
    producer = ChainedProducer(gov, Ed25519PrivateKey.generate(), role="operator")
    await producer.register()
    head = producer.head
    with pytest.raises(PublishError, match="rejected by the stream"):
        await producer.publish_once(
            subjects.anomaly("a1"),
            AgentPaused(agent="a1"),
            msg_id="cas-1",
            headers={"Nats-Expected-Last-Subject-Sequence": "999"},
        )
    assert producer.head == head and producer.broken is None
    ack = await producer.publish(subjects.anomaly("a1"), AgentPaused(agent="a1"))
    assert ack.seq == 2


async def test_acknowledged_appends_are_not_kept(gov: JetStreamContext) -> None:
    """publish() forgets each event once acknowledged, so a long-running producer holds nothing per event."""
    producer = ChainedProducer(gov, Ed25519PrivateKey.generate(), role="policy")
    await producer.register()
    for i in range(200):
        await producer.publish(subjects.anomaly("a1"), AgentPaused(agent="a1", reason=str(i)))
    assert len(producer._in_flight) == 0
