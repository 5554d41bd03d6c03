"""Fixtures for decision-path tests: a test world on a fresh GOV and policy replicas in this loop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.identity.operators import TrustStore
from agentgov.ledger import Ledger
from agentgov.policy.ratelimit import Limiter, MemoryLimiter
from agentgov.policy.service import PolicyService
from agentgov.policy.settings import PolicySettings
from agentgov.streaming.server import EmbeddedNats
from agentgov.testing.nats import NatsConnector
from agentgov.testing.policy import Gov, LedgerOpener, Replica, ReplicaFactory, serve_until_ready


@pytest_asyncio.fixture
async def gov_world(
    gov: JetStreamContext, nc: Client, nats_server: EmbeddedNats, nats_connect: NatsConnector, tmp_path: Path
) -> Gov:
    """Fresh streams, an operator trusted for every role, the test bundle published."""
    return await Gov.create(gov, nc, nats_server, nats_connect, tmp_path)


@pytest_asyncio.fixture
async def replicas(gov_world: Gov) -> AsyncIterator[ReplicaFactory]:
    """Start policy replicas (role ``policy``) in this loop: ``await replicas(limiter=…, open_ledger=…,
    **settings)``; all are stopped after the test, with their connections and ledgers."""
    running: list[Replica] = []
    connections: list[Client] = []
    ledgers: list[Ledger] = []

    async def start(
        limiter: Limiter | None = None, open_ledger: LedgerOpener | None = None, **settings: Any
    ) -> Replica:
        cfg = PolicySettings.model_validate(
            {"operators_file": gov_world.trust_path, "salt_file": gov_world.salt_path, **settings}
        )
        nc = await gov_world.connect_as("policy", "policy")
        connections.append(nc)
        ledger = await open_ledger(nc) if open_ledger is not None else None
        if ledger is not None:
            ledgers.append(ledger)
        svc = PolicyService(
            cfg, nc, TrustStore.load(cfg.operators_file), b"test-salt-0123456789", limiter or MemoryLimiter(), ledger
        )
        task, stop = await serve_until_ready(svc.run, svc.serving, "replica")
        replica = Replica(svc, task, stop)
        running.append(replica)
        return replica

    yield start
    for r in running:
        with contextlib.suppress(Exception):
            await r.stop()
    for ledger in ledgers:
        with contextlib.suppress(Exception):
            await ledger.close()
    for c in connections:
        with contextlib.suppress(Exception):
            await c.close()
