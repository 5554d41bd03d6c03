"""Fixtures for budget tests: a fresh GOV with a trusted operator, signed pricing and limits, and budget
services running in this loop (as the ``budget`` NATS user, on their own KV buckets)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.budget.limits import LIMIT_SCOPE_PREFIX, PRICING_SCOPE, limit_digest
from agentgov.budget.pricing import parse_pricing
from agentgov.budget.service import BudgetService
from agentgov.budget.settings import BudgetSettings
from agentgov.budget.store import SnapshotStore
from agentgov.contracts import crypto
from agentgov.contracts.events_budget import LIMITS_SUBJECT, PRICING_SUBJECT, BudgetLimitSet, PricingPublished
from agentgov.identity.operators import TrustStore
from agentgov.ledger.open import open_ledger
from agentgov.streaming.server import EmbeddedNats
from agentgov.testing.nats import NatsConnector
from agentgov.testing.policy import Gov, serve_until_ready

PRICING = """\
version: 1
models:
  m1: {provider: test, input: 1.00, output: 2.00}
"""


async def publish_pricing(world: Gov, source: str = PRICING, revision: int = 1) -> int:
    """Sign and append a pricing revision."""
    sha = hashlib.sha256(source.encode()).hexdigest()
    kid = crypto.key_id(crypto.public_key_text(world.operator))
    event = PricingPublished(
        revision=revision,
        prices=parse_pricing(source),
        source=source,
        sha256=sha,
        signer=kid,
        signature=crypto.sign_policy(world.operator, PRICING_SCOPE, revision, sha),
    )
    return await world.append(PRICING_SUBJECT, event)


async def set_limit(
    world: Gov, scope: str, window: str, usd_micros: int | None, *, tz: str = "UTC", rolling_s: int = 0, ts: int = 0
) -> int:
    """Sign and append a limit."""
    digest = limit_digest(scope, window, usd_micros, tz, rolling_s)
    event = BudgetLimitSet(
        ts=ts,
        scope=scope,
        window=window,  # type: ignore[arg-type]
        limit_usd_micros=usd_micros,
        tz=tz,
        rolling_s=rolling_s,
        signer=crypto.key_id(crypto.public_key_text(world.operator)),
        signature=crypto.sign_policy(world.operator, LIMIT_SCOPE_PREFIX + scope, 0, digest),
    )
    return await world.append(LIMITS_SUBJECT, event)


@pytest_asyncio.fixture
async def world(
    gov: JetStreamContext, nc: Client, nats_server: EmbeddedNats, nats_connect: NatsConnector, tmp_path: Path
) -> Gov:
    """Fresh streams and an operator trusted for every role (no bundle published)."""
    return await Gov.create(gov, nc, nats_server, nats_connect, tmp_path, publish=False)


class Running:
    """A BudgetService running in this loop."""

    def __init__(self, svc: BudgetService, task: asyncio.Task[None], stop: asyncio.Event, nc: Client) -> None:
        self.svc, self.task, self.stop_event, self.nc = svc, task, stop, nc

    async def stop(self) -> None:
        """Stop cleanly."""
        self.stop_event.set()
        await self.task
        await self.nc.close()

    async def kill(self) -> None:
        """Cancel the task wherever it is (no clean shutdown) and drop the connection."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        await self.nc.close()

    async def caught_up(self, js: JetStreamContext, timeout: float = 10.0) -> None:
        """Wait until the projection has applied everything now on GOV."""
        target = (await js.stream_info("GOV")).state.last_seq
        deadline = asyncio.get_running_loop().time() + timeout
        while (
            self.svc.projection.state.position < target or self.svc.projection.state.intent or self.svc.projector.busy
        ):
            if self.task.done():
                self.task.result()
            assert asyncio.get_running_loop().time() < deadline, "budget projection did not catch up"
            await asyncio.sleep(0.02)


StartBudget = Callable[..., Awaitable[Running]]


@pytest_asyncio.fixture
async def budget(world: Gov) -> AsyncIterator[StartBudget]:
    """Start budget services sharing one ledger and snapshot bucket (unique to the test)."""
    buckets = {"ledger_bucket": f"bl_{uuid.uuid4().hex[:8]}", "state_bucket": f"bs_{uuid.uuid4().hex[:8]}"}
    running: list[Running] = []

    async def start(clock: Callable[[], int] | None = None, **settings: Any) -> Running:
        cfg = BudgetSettings.model_validate({"operators_file": world.trust_path, "tick_s": 0.05, **buckets, **settings})
        nc = await world.connect_as("budget", "budget")
        js = nc.jetstream()
        ledger = await open_ledger(js, None, bucket=cfg.ledger_bucket)
        snaps = await SnapshotStore.open(js, cfg.state_bucket)
        kw: dict[str, Any] = {"clock": clock} if clock else {}
        svc = BudgetService(cfg, nc, TrustStore.load(cfg.operators_file), ledger, snaps, **kw)
        task, stop = await serve_until_ready(svc.run, svc.serving, "budget service")
        r = Running(svc, task, stop, nc)
        running.append(r)
        return r

    yield start
    for r in running:
        if not r.task.done():
            await r.stop()
