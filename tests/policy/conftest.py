"""Fixtures for decision-path tests: a test world on a fresh GOV and policy replicas in this loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.contracts import crypto
from agentgov.identity.operators import ROLES, Operator, TrustStore
from agentgov.policy.ratelimit import Limiter, MemoryLimiter
from agentgov.policy.service import PolicyService
from agentgov.policy.settings import PolicySettings
from agentgov.streaming.connect import connect
from agentgov.streaming.home import Runtime
from agentgov.streaming.server import EmbeddedNats
from agentgov.testing.nats import NatsConnector
from agentgov.testing.policy import Gov, Replica, ReplicaFactory


@pytest_asyncio.fixture
async def gov_world(
    gov: JetStreamContext, nc: Client, nats_server: EmbeddedNats, nats_connect: NatsConnector, tmp_path: Path
) -> Gov:
    """Fresh streams, an operator trusted for every role, the test bundle published."""
    key = Ed25519PrivateKey.generate()
    trust_path = tmp_path / "operators.json"
    TrustStore([Operator(name="test", public_key=crypto.public_key_text(key), roles=list(ROLES))]).save(trust_path)
    assert nats_server.users is not None
    world = Gov(
        js=gov,
        admin=nc,
        operator=key,
        trust_path=trust_path,
        salt_path=tmp_path / "salt",
        server=nats_server,
        users=nats_server.users,
        connector=nats_connect,
    )
    await world.publish_bundle()
    return world


@pytest_asyncio.fixture
async def replicas(gov_world: Gov, nats_connect: NatsConnector) -> AsyncIterator[ReplicaFactory]:
    """Start policy replicas (role ``policy``) in this loop; all are stopped after the test."""
    running: list[Replica] = []
    connections: list[Client] = []

    async def start(limiter: Limiter | None = None, **settings: Any) -> Replica:
        cfg = PolicySettings.model_validate(
            {"operators_file": gov_world.trust_path, "salt_file": gov_world.salt_path, **settings}
        )
        cred = gov_world.users.role("policy")
        # the production connection: reconnects forever, as `agentgov run policy` does
        nc = await connect(Runtime(url=gov_world.server.url, user=cred.user, password=cred.password), name="policy")
        connections.append(nc)
        svc = PolicyService(
            cfg, nc, TrustStore.load(cfg.operators_file), b"test-salt-0123456789", limiter or MemoryLimiter()
        )
        stop = asyncio.Event()
        task = asyncio.create_task(svc.run(stop))
        waiter = asyncio.create_task(svc.serving.wait())
        await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()
        assert svc.serving.is_set(), "replica did not start serving"
        replica = Replica(svc, task, stop)
        running.append(replica)
        return replica

    yield start
    for r in running:
        with contextlib.suppress(Exception):
            await r.stop()
    for c in connections:
        with contextlib.suppress(Exception):
            await c.close()
