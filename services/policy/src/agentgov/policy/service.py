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
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.identity.operators import TrustStore
from agentgov.policy.errors import NotReadyError
from agentgov.policy.handlers import DecisionPath, Stats
from agentgov.policy.projection import Projection
from agentgov.policy.ratelimit import Limiter, MemoryLimiter
from agentgov.policy.ratelimit_redis import RedisLimiter
from agentgov.policy.sessions import Sessions
from agentgov.policy.settings import PolicySettings
from agentgov.policy.store import DECISIONS, Follower, load_or_create_salt
from agentgov.streaming.connect import connect
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

    def __init__(self, settings: PolicySettings, nc: Client, trust: TrustStore, salt: bytes, limiter: Limiter) -> None:
        self.settings = settings
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        ttl_ns = int(settings.session_ttl_s * 1e9)
        self.projection = Projection(trust=trust, salt=salt, sessions=Sessions(ttl_ns=ttl_ns))
        self.follower = Follower(self.js, self.projection)
        self.decisions = Follower(
            self.js, self.projection, subjects=DECISIONS, since_ns=max(0, time.time_ns() - ttl_ns)
        )
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
        try:
            async with asyncio.timeout(self.settings.ready_timeout_s):
                await self.follower.ready.wait()
                await self.decisions.ready.wait()
        except TimeoutError:
            raise NotReadyError(
                f"could not load policy, registry and sessions from the stream within "
                f"{self.settings.ready_timeout_s:.0f} s"
            ) from None
        await self.path.start()
        self._sub = await self.nc.subscribe("gov.check.*", queue=self.settings.queue_group, cb=self.path.on_msg)
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


async def serve(settings: PolicySettings, rt: Runtime, stop: asyncio.Event) -> PolicyService:
    """Connect and run one policy replica until ``stop`` is set."""
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
    try:
        svc = PolicyService(settings, nc, trust, salt, limiter)
        tune_gc()
        await svc.run(stop)
        return svc
    finally:
        if isinstance(limiter, RedisLimiter):
            await limiter.close()
        try:
            await nc.drain()
        except Exception as exc:
            log.warning("nats drain at shutdown failed (%s); closing", exc)
            await nc.close()
