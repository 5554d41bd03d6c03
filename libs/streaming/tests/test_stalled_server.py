"""A nats-server that stops answering for a while (SIGSTOP, as a stalled disk or a paused VM would): appends
are retried with the same message id and stored exactly once, and a chain advances past an event whose first
copy landed although its ack was lost."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import nats
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.js.client import JetStreamContext
from nats.js.errors import APIError

from agentgov.contracts import codec, crypto, subjects
from agentgov.contracts.events import AgentPaused
from agentgov.contracts.streams import CHECKPOINTS, STREAMS
from agentgov.streaming.producer import EXPECTED_LAST_SUBJECT_SEQ, MSG_ID, ChainedProducer, append_retrying
from agentgov.streaming.reader import read_all
from agentgov.streaming.server import EmbeddedNats
from agentgov.streaming.streams import ensure_streams
from agentgov.testing.nats import NatsServerFactory


@pytest_asyncio.fixture
async def stallable(nats_server_factory: NatsServerFactory) -> AsyncIterator[tuple[EmbeddedNats, JetStreamContext]]:
    """A server of this test's own (stopping the session's would stall every other test) with the streams."""
    server = nats_server_factory()
    assert server.users is not None
    nc = await nats.connect(server.url, allow_reconnect=False, **server.users.admin.connect_options())
    js = nc.jetstream()
    await ensure_streams(js, STREAMS, strict=True)
    try:
        yield server, js
    finally:
        if server.pid is not None:
            os.kill(server.pid, signal.SIGCONT)
        await nc.close()


async def stall(server: EmbeddedNats, seconds: float) -> None:
    """Freeze the server's process for ``seconds``, then let it go on with what queued up meanwhile."""
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)
    finally:
        os.kill(server.pid, signal.SIGCONT)


async def test_append_retrying_outlasts_a_stall_and_stores_once(
    stallable: tuple[EmbeddedNats, JetStreamContext],
) -> None:
    """Three copies sit in the frozen server's socket; once it runs again it stores one, with the CAS header
    honoured, and the next compare-and-set append sees that one message."""
    server, js = stallable
    headers = {MSG_ID: "checkpoint-GOV-1", EXPECTED_LAST_SUBJECT_SEQ: "0"}
    frozen = asyncio.create_task(stall(server, 1.0))
    await asyncio.sleep(0.05)
    ack = await append_retrying(js, subjects.CHECKPOINT, b"one", headers, timeout=0.3, retries=8, stream=CHECKPOINTS)
    await frozen
    assert ack.seq == 1
    stored = await read_all(js, CHECKPOINTS)
    assert [m.data for m in stored] == [b"one"]
    with pytest.raises(APIError):  # the CAS header travels with every copy: a stale expectation is refused
        await append_retrying(
            js, subjects.CHECKPOINT, b"two", {MSG_ID: "checkpoint-GOV-2", EXPECTED_LAST_SUBJECT_SEQ: "0"}, timeout=1
        )
    assert len(await read_all(js, CHECKPOINTS)) == 1


async def test_append_retrying_needs_a_message_id(stallable: tuple[EmbeddedNats, JetStreamContext]) -> None:
    """Without a Nats-Msg-Id a retry could store twice: refused before anything is sent."""
    _, js = stallable
    with pytest.raises(ValueError, match="Nats-Msg-Id"):
        await append_retrying(js, subjects.CHECKPOINT, b"x", {})


async def test_publish_once_advances_the_chain_when_the_lost_ack_was_its_own(
    stallable: tuple[EmbeddedNats, JetStreamContext],
) -> None:
    """A caller-chosen msg id whose first copy landed during a stall: the retry's ack says duplicate, the
    stored message is this event, so the chain advances and the next event links to it."""
    server, js = stallable
    producer = ChainedProducer(js, Ed25519PrivateKey.generate(), role="operator", ack_timeout=0.3, retries=8)
    await producer.register()
    frozen = asyncio.create_task(stall(server, 1.0))
    await asyncio.sleep(0.05)
    await producer.publish_once(subjects.anomaly("a1"), AgentPaused(agent="a1"), msg_id="pause-1")
    await frozen
    assert producer.seq == 2
    await producer.publish(subjects.anomaly("a1"), AgentPaused(agent="a1", reason="next"))
    bodies = [codec.split(m.data)[0] for m in await read_all(js, "GOV")]
    stored = [codec.decode_event(b) for b in bodies]
    assert [e.chain.seq for e in stored] == [1, 2, 3]
    assert stored[2].chain.prev == crypto.event_hash(bodies[1]).hex()
