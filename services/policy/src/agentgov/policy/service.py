"""The policy service's composition root: one replica of the queue group ``policy``.

Start-up order matters for fail-closed behaviour: the replica first loads the registry, pauses and active
bundles from the stream (:class:`~agentgov.policy.store.Follower`), then registers its producer chain, and
only then joins the queue group on ``gov.check.*``. A replica that cannot catch up within the ready timeout
refuses to start rather than decide against a half-loaded registry. Each replica has its own producer
chain with a key generated in memory at start (announced on the stream by ProducerKeyRegistered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.identity.operators import TrustStore
from agentgov.ledger import Ledger, open_ledger
from agentgov.policy import approvals
from agentgov.policy.budget import BudgetGate
from agentgov.policy.errors import NotReadyError
from agentgov.policy.handlers import DecisionPath, Stats
from agentgov.policy.projection import Projection
from agentgov.policy.ratelimit import Limiter, MemoryLimiter
from agentgov.policy.ratelimit_redis import RedisLimiter
from agentgov.policy.sessions import Sessions
from agentgov.policy.settings import PolicySettings
from agentgov.policy.store import DECISIONS, Follower, load_or_create_salt
from agentgov.streaming.connect import connect, drain_or_close
from agentgov.streaming.home import Runtime
from agentgov.streaming.lifecycle import tune_gc
from agentgov.streaming.producer import ChainedProducer

log = logging.getLogger("agentgov.policy")


@dataclass(slots=True)
class Health:
    """What a replica reports about itself."""

    producer: str = ""
    ready: bool = False
    serving: bool = False
    revisions: dict[str, int] = field(default_factory=dict)
    agents: int = 0
    paused: int = 0
    rejected_bundles: int = 0
    limiter: str = "memory"
    started: float = field(default_factory=time.time)


class PolicyService:
    """One policy replica."""

    def __init__(
        self,
        settings: PolicySettings,
        nc: Client,
        trust: TrustStore,
        salt: bytes,
        limiter: Limiter,
        ledger: Ledger | None = None,
    ) -> None:
        self.settings = settings
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        ttl_ns = int(settings.session_ttl_s * 1e9)
        self.projection = Projection(trust=trust, salt=salt, sessions=Sessions(ttl_ns=ttl_ns))
        self.projection.approvals.grace_ns = int(settings.approval_use_grace_s * 1e9)
        self.follower = Follower(self.js, self.projection)
        # Decisions are read back far enough for session taint and for which approvals were used.
        approvals_since = max(0, time.time_ns() - approvals.horizon_ns(settings.approval_use_grace_s))
        self.decisions = Follower(
            self.js,
            self.projection,
            subjects=DECISIONS,
            since_ns=min(max(0, time.time_ns() - ttl_ns), approvals_since),
        )
        self.approvals = Follower(self.js, self.projection, subjects=approvals.SUBJECTS, since_ns=approvals_since)
        ticket_key = settings.ticket_key_file or settings.salt_file.with_name("tickets.ed25519")
        self.tickets = approvals.load_ticket_signer(ticket_key, ttl_s=settings.ticket_ttl_s)
        self.limiter = limiter
        self.path = DecisionPath(
            nc,
            self.js,
            self.projection,
            limiter,
            self._new_producer,
            max_bytes=settings.max_request_bytes,
            max_in_flight=settings.max_in_flight,
            dedup_entries=settings.dedup_entries,
            tickets=self.tickets,
            budget=BudgetGate(ledger, hold_ns=int(settings.budget_hold_s * 1e9)) if ledger is not None else None,
        )
        self._health = Health(limiter="redis" if isinstance(limiter, RedisLimiter) else "memory")
        self._sub: Any = None
        self.serving = asyncio.Event()

    async def _new_producer(self) -> ChainedProducer:
        producer = ChainedProducer(self.js, Ed25519PrivateKey.generate(), role="policy")
        await producer.register()
        log.info("policy producer %s registered", producer.producer_id)
        return producer

    @property
    def stats(self) -> Stats:
        """Request counters."""
        return self.path.stats

    def health(self) -> Health:
        """The replica's state as data."""
        h = self._health
        h.producer = self.path.producer_id
        h.ready = self.follower.ready.is_set() and self.decisions.ready.is_set()
        h.serving = self.serving.is_set()
        h.revisions = {scope: b.revision for scope, b in self.projection.bundles.items()}
        h.agents = len(self.projection.agents)
        h.paused = len(self.projection.paused)
        h.rejected_bundles = len(self.projection.rejected)
        return h

    async def run(self, stop: asyncio.Event) -> None:
        """Load the projections, join the queue group, serve until ``stop`` is set, then drain."""
        await self.follower.start()
        await self.decisions.start()
        await self.approvals.start()
        try:
            async with asyncio.timeout(self.settings.ready_timeout_s):
                await self.follower.ready.wait()
                await self.decisions.ready.wait()
                await self.approvals.ready.wait()
        except TimeoutError:
            raise NotReadyError(
                f"could not load policy, registry and sessions from the stream within "
                f"{self.settings.ready_timeout_s:.0f} s"
            ) from None
        await self.path.start()
        self._sub = await self.nc.subscribe("gov.check.*", queue=self.settings.queue_group, cb=self.path.on_msg)
        # The server has the subscription before we say we serve (a request sent as soon as `serving`
        # is set would otherwise find no responders).
        await self.nc.flush()
        self.serving.set()
        h = self.health()
        log.info(
            "policy replica %s serving gov.check.* (queue %s): %d agents, bundles %s, rate limits %s",
            h.producer,
            self.settings.queue_group,
            h.agents,
            h.revisions or "none (every check is denied: no_policy)",
            h.limiter,
        )
        try:
            await stop.wait()
        finally:
            self.serving.clear()
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            await self.path.drain()
            await self.follower.stop()
            await self.decisions.stop()
            await self.approvals.stop()


@contextlib.asynccontextmanager
async def opened(settings: PolicySettings, rt: Runtime) -> AsyncIterator[PolicyService]:
    """One replica with its trust, salt, rate limiter, connection and budget ledger open; all closed on exit."""
    trust = TrustStore.load(settings.operators_file)
    if not trust.operators:
        log.warning(
            "no trusted operators in %s: no bundle can be activated, no token accepted", settings.operators_file
        )
    salt = load_or_create_salt(settings.salt_file)
    limiter: Limiter = (
        RedisLimiter.from_url(settings.redis_url, prefix=settings.redis_prefix)
        if settings.redis_url
        else MemoryLimiter()
    )
    nc = await connect(rt, name="agentgov-policy")
    ledger: Ledger | None = None
    try:
        ledger = await open_ledger(
            nc.jetstream(), settings.redis_url, redis_prefix=settings.budget_prefix, bucket=settings.budget_bucket
        )
        yield PolicyService(settings, nc, trust, salt, limiter, ledger)
    finally:
        if isinstance(limiter, RedisLimiter):
            await limiter.close()
        if ledger is not None:
            await ledger.close()
        await drain_or_close(nc)


async def serve(settings: PolicySettings, rt: Runtime, stop: asyncio.Event) -> PolicyService:
    """Connect and run one policy replica until ``stop`` is set."""
    async with opened(settings, rt) as svc:
        tune_gc()
        await svc.run(stop)
        return svc
