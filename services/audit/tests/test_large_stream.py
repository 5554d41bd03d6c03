"""An untouched stream of 100k events verifies clean, from the live stream and from a complete bundle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.audit.bundle import Selection, export, verify_bundle
from agentgov.audit.verify import verify_messages
from agentgov.contracts import subjects
from agentgov.streaming.reader import last_seq, read_all, read_batches
from agentgov.testing.chains import decision, spend
from agentgov.testing.nats import NatsServerFactory

from .conftest import StartAudit, producer


@pytest_asyncio.fixture
async def nc(nats_server_factory: NatsServerFactory) -> AsyncIterator[Client]:
    """This module's own server: 100k events and their deletion afterwards stay off the session's server,
    which every other test shares (a server busy with such churn once answered other tests' appends late)."""
    server = nats_server_factory()
    assert server.users is not None
    client = await nats.connect(server.url, **server.users.admin.connect_options())
    yield client
    await client.close()


@pytest.mark.slow
async def test_100k_events_verify_clean(gov: JetStreamContext, start_audit: StartAudit, tmp_path: Path) -> None:
    """100k signed events from two producers, sealed by the audit service, verify with no problem."""
    p, q = await producer(gov, "policy"), await producer(gov, "collector")
    audit = await start_audit(str(tmp_path / "a.db"), seal_every=1000, seal_interval_ms=200)
    for i in range(50_000):
        await p.publish_nowait(subjects.decision(f"a{i % 50}"), decision(f"a{i % 50}", target=f"c{i}"))
        await q.publish_nowait(subjects.spend(f"a{i % 50}"), spend(f"a{i % 50}", i))
        if i % 2000 == 0:
            await asyncio.sleep(0)
    await p.flush()
    await q.flush()
    await audit.caught_up(gov, timeout=120)
    await audit.stop()
    gov_last = await last_seq(gov, "GOV")
    cps = await read_all(gov, "GOV_CHECKPOINTS")
    report = await verify_messages(read_batches(gov, "GOV", until_seq=gov_last), cps, gov_last_seq=gov_last)
    assert report.ok, report.problems[:3]
    assert report.events >= 100_000 and report.checkpoints >= 100 and report.sealed_upto == gov_last
    b = await export(read_batches(gov, "GOV", until_seq=gov_last), cps, Selection(), stream="GOV", created=0)
    assert len(b.events) == gov_last
    bundle_report = await verify_bundle(b)
    assert bundle_report.ok, bundle_report.problems[:3]
