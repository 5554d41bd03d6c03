"""Client.decisions(): recorded ActionDecided events, live or from a time, filtered, read as an operator."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.js.client import JetStreamContext

from agentgov.contracts import subjects
from agentgov.contracts.events import ActionDecided
from agentgov.contracts.streams import GOV
from agentgov.sdk import Client
from agentgov.sdk.decisions import start_time
from agentgov.streaming.natsconf import NatsUsers
from agentgov.streaming.producer import ChainedProducer
from agentgov.testing.chains import decision, spend


@pytest.fixture
async def producer(gov: JetStreamContext) -> AsyncIterator[ChainedProducer]:
    """A registered policy producer writing to empty GOV streams."""
    async with ChainedProducer(gov, Ed25519PrivateKey.generate(), role="policy") as p:
        yield p


@pytest.fixture
async def operator(nats_url: str, nats_users: NatsUsers) -> AsyncIterator[Client]:
    """A client logged in as the operator role (reads JetStream, cannot check)."""
    op = nats_users.role("operator")
    async with Client.connect(nats_url, user=op.user, password=op.password) as c:
        yield c


async def collect(feed: AsyncIterator[ActionDecided], n: int, timeout: float = 5.0) -> list[ActionDecided]:
    """The next ``n`` events of a feed."""
    out: list[ActionDecided] = []

    async def take() -> None:
        async for ev in feed:
            out.append(ev)
            if len(out) == n:
                return

    await asyncio.wait_for(take(), timeout)
    return out


async def test_live_decisions_filtered_by_agent_and_team(
    operator: Client, producer: ChainedProducer, gov: JetStreamContext
) -> None:
    """Live: only events recorded after the start, of the agent or team asked for; other types and junk skipped."""
    await producer.publish(subjects.decision("a1"), decision("a1", target="before"))
    async with (
        contextlib.aclosing(operator.decisions(agent="a1")) as by_agent,
        contextlib.aclosing(operator.decisions(team="t2")) as by_team,
    ):
        by_agent_next = asyncio.ensure_future(collect(by_agent, 2))
        by_team_next = asyncio.ensure_future(collect(by_team, 1))
        await asyncio.sleep(0.3)  # the consumers exist before anything new is written
        await gov.publish(subjects.decision("a1"), b"not a frame")
        await producer.publish(subjects.spend("a1"), spend("a1"))
        await producer.publish(subjects.decision("a1"), decision("a1", verdict="deny", target="one"))
        await producer.publish(subjects.decision("a2"), decision("a2", target="other", team="t2"))
        await producer.publish(subjects.decision("a1"), decision("a1", target="two"))
        got = await by_agent_next
        team_got = await by_team_next
    assert [(e.agent, e.action.target, e.verdict) for e in got] == [("a1", "one", "deny"), ("a1", "two", "allow")]
    assert all(e.chain.producer == producer.producer_id and e.id for e in got)
    assert [(e.agent, e.team) for e in team_got] == [("a2", "t2")]


async def test_decisions_since_a_time(operator: Client, producer: ChainedProducer) -> None:
    """since= (a datetime or Unix ns) starts the feed at that time, including what was recorded before now."""
    await producer.publish(subjects.decision("a1"), decision("a1", target="old"))
    await asyncio.sleep(0.05)
    middle_ns = time.time_ns()
    await asyncio.sleep(0.05)
    await producer.publish(subjects.decision("a1"), decision("a1", target="new-1"))
    await producer.publish(subjects.decision("a1"), decision("a1", target="new-2"))
    async with contextlib.aclosing(operator.decisions(since=middle_ns)) as feed:
        assert [e.action.target for e in await collect(feed, 2)] == ["new-1", "new-2"]
    async with contextlib.aclosing(
        operator.decisions(org="o1", since=datetime.now(UTC) - timedelta(minutes=1))
    ) as feed:
        assert [e.action.target for e in await collect(feed, 3)] == ["old", "new-1", "new-2"]
    async with contextlib.aclosing(operator.decisions(org="other-org", since=middle_ns)) as feed:
        with pytest.raises(TimeoutError):
            await collect(feed, 1, timeout=0.5)


def test_start_time_conversions() -> None:
    """Unix ns become UTC datetimes (to the microsecond); naive datetimes are local time."""
    assert start_time(1_700_000_000_123_456_789) == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    naive = datetime(2024, 1, 1, 12, 0)
    assert start_time(naive) == naive.astimezone(UTC)


async def test_agents_cannot_read_decisions(
    client: Client, gov: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    """An agent's login may not create JetStream consumers: decisions() yields nothing, the refusal is logged."""
    await gov.stream_info(GOV)
    feed = client.decisions()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(feed), 1.0)
    assert any(
        "permissions violation" in r.getMessage() and "$js.api" in r.getMessage().lower() for r in caplog.records
    )
