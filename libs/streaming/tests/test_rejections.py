"""Rejections: one EventRejected per refused stream sequence, even after JetStream's duplicate window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.js.api import StreamConfig
from nats.js.client import JetStreamContext

from agentgov.contracts import codec, subjects
from agentgov.contracts.events import EventRejected
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import read_all
from agentgov.streaming.rejections import DETAIL_MAX, Rejections
from agentgov.testing.nats import NatsServerFactory

STREAM = "REJECTED_TEST"


@pytest_asyncio.fixture
async def short_window(nats_server_factory: NatsServerFactory) -> AsyncIterator[JetStreamContext]:
    """A stream whose duplicate window is 0.2 s, on a server of its own (GOV's window is 10 minutes)."""
    server = nats_server_factory()
    assert server.users is not None
    nc = await nats.connect(server.url, **server.users.admin.connect_options())
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=["gov.anomaly.>", "gov.registry.*"], duplicate_window=0.2))
    try:
        yield js
    finally:
        await nc.close()


async def stored(js: JetStreamContext) -> list[EventRejected]:
    """The EventRejected on the test stream, in order."""
    events = [codec.decode_event(codec.split(m.data)[0]) for m in await read_all(js, STREAM)]
    return [e for e in events if isinstance(e, EventRejected)]


async def producer(js: JetStreamContext) -> ChainedProducer:
    """A registered producer with a fresh key."""
    p = ChainedProducer(js, Ed25519PrivateKey.generate(), role="anomaly")
    await p.register()
    return p


async def test_a_restart_past_the_duplicate_window_appends_no_refusal_twice(short_window: JetStreamContext) -> None:
    """After a restart (new Rejections, new producer, the window long gone) the refusals already on the
    stream are known from the last one, and only newer sequences are appended."""
    js = short_window
    first = Rejections("anomaly", STREAM)
    await first.load(js)
    assert first.upto == 0
    p = await producer(js)
    for seq in (5, 7):
        assert await first.append(p, stream_seq=seq, subject="gov.decision.a1", reason="malformed", detail="x")
    await asyncio.sleep(0.3)
    again = Rejections("anomaly", STREAM)
    await again.load(js)
    assert again.upto == 7
    q = await producer(js)
    assert not await again.append(q, stream_seq=5, subject="gov.decision.a1", reason="malformed", detail="x")
    assert not await again.append(q, stream_seq=7, subject="gov.decision.a1", reason="malformed", detail="x")
    assert await again.append(q, stream_seq=8, subject="gov.spend.a1", reason="out_of_range", detail="y" * 2000)
    got = await stored(js)
    assert [(e.stream_seq, e.reason, e.service) for e in got] == [
        (5, "malformed", "anomaly"),
        (7, "malformed", "anomaly"),
        (8, "out_of_range", "anomaly"),
    ]
    assert len(got[2].detail) == DETAIL_MAX
    assert again.appended == 1


def test_only_the_services_that_refuse_events_have_a_subject() -> None:
    """gov.<service>._rejected exists for approval and anomaly; a typo is an error, not a new subject."""
    assert subjects.rejected("approval") == "gov.approval._rejected"
    with pytest.raises(ValueError, match="does not append EventRejected"):
        subjects.rejected("approvals")
