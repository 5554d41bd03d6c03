"""The anomaly service's composition root: resume from the snapshot, follow GOV, append findings and pauses.

Start-up: the snapshot (unless ``--rebuild``, or when a bundle in it is signed by a key the trust file no
longer accepts for it) gives the state and the position; the ids of AnomalyDetected
and AgentPaused already on the stream after that position are read; a new producer chain (key generated
in memory, announced by ProducerKeyRegistered) is registered; then GOV is read in order from the next
message. Findings are appended (and acknowledged) before the next message is applied, and the snapshot is
written every N events or T seconds and at shutdown, so a crash at any point replays from the last
snapshot and appends exactly what is missing. Run one instance per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.anomaly.domain import Anomalies
from agentgov.anomaly.handlers import Handler, Refusal
from agentgov.anomaly.settings import AnomalySettings
from agentgov.anomaly.store import SnapshotStore, already_emitted
from agentgov.contracts.envelope import Event
from agentgov.identity.operators import TrustStore
from agentgov.streaming.connect import connect, drain_or_close
from agentgov.streaming.home import Runtime
from agentgov.streaming.lifecycle import tune_gc
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import last_seq, read_batches
from agentgov.streaming.rejections import Rejections

log = logging.getLogger("agentgov.anomaly")


@dataclass(slots=True)
class Health:
    """What the service reports about itself."""

    producer: str = ""
    position: int = 0
    snapshot_position: int = 0
    agents: int = 0
    paused: list[str] = field(default_factory=list)
    applied: int = 0
    findings: int = 0
    pauses: int = 0
    repeats: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    """Refused events by reason (each also an EventRejected on ``gov.anomaly._rejected``)."""
    rejected: int = 0
    """EventRejected appended by this run (refusals already on the stream are not counted again)."""
    caught_up: bool = False
    started: float = field(default_factory=time.time)


class AnomalyService:
    """Follows GOV, keeps the baselines, appends AnomalyDetected and AgentPaused."""

    def __init__(
        self, settings: AnomalySettings, nc: Client, store: SnapshotStore, trust: TrustStore | None = None
    ) -> None:
        """``trust``: the operators whose bundles count (default: read from ``settings.operators_file``)."""
        self.settings = settings
        self.trust = trust if trust is not None else TrustStore.load(settings.operators_file)
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.store = store
        self.producer = ChainedProducer(self.js, Ed25519PrivateKey.generate(), role="anomaly")
        self.anomalies = Anomalies(trust=self.trust)
        self.handler: Handler | None = None
        self.caught_up = asyncio.Event()
        self.rejections = Rejections("anomaly", settings.stream)
        self._snapshot_position = 0

    def health(self) -> Health:
        """The service's state as data."""
        state = self.anomalies.state
        c = self.handler.counters if self.handler else None
        return Health(
            producer=self.producer.producer_id,
            position=state.position,
            snapshot_position=self._snapshot_position,
            agents=len(state.agents),
            paused=sorted(a for a, b in state.agents.items() if b.paused),
            applied=c.applied if c else 0,
            findings=c.findings if c else 0,
            pauses=c.pauses if c else 0,
            repeats=c.repeats if c else 0,
            skipped=dict(c.skipped) if c else {},
            rejected=self.rejections.appended,
            caught_up=self.caught_up.is_set(),
        )

    async def _publish(self, subject: str, event: Event, msg_id: str) -> bool:
        ack = await self.producer.publish_once(subject, event, msg_id=msg_id)
        return not ack.duplicate

    async def _reject(self, r: Refusal) -> None:
        await self.rejections.append(
            self.producer,
            stream_seq=r.msg.seq,
            subject=r.msg.subject,
            reason=r.reason,
            detail=r.detail,
            event_type=r.event_type,
            event_id=r.event_id,
            agent=r.agent,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Resume, then follow the stream until ``stop`` is set; the snapshot is saved on the way out."""
        state = None if self.settings.rebuild else await asyncio.to_thread(self.store.load)
        self.anomalies = Anomalies(state, self.trust)
        if self.anomalies.untrusted:
            log.warning(
                "the snapshot's bundles for %s are no longer trusted (%s): rebuilding from the stream",
                ", ".join(self.anomalies.untrusted),
                "; ".join(self.anomalies.untrusted.values()),
            )
            self.anomalies = Anomalies(None, self.trust)
        start = self.anomalies.state.position + 1
        self._snapshot_position = start - 1
        emitted = await already_emitted(self.js, self.settings.stream, start)
        await self.rejections.load(self.js)
        await self.producer.register()
        self.handler = Handler(
            self.anomalies, self._publish, emitted, max_skew_s=self.settings.max_skew_s, reject=self._reject
        )
        target = await last_seq(self.js, self.settings.stream)
        if target < start:
            self.caught_up.set()
        log.info(
            "anomaly %s: reading %s from %d (%d agents known, %d anomalies already recorded after it)",
            self.producer.producer_id,
            self.settings.stream,
            start,
            len(self.anomalies.state.agents),
            len(emitted.anomalies),
        )
        batches = read_batches(
            self.js,
            self.settings.stream,
            start_seq=start,
            batch=self.settings.batch,
            idle_every=self.settings.snapshot_interval_s,
            stop=stop,
        )
        applied_at_snapshot, saved_at = 0, time.monotonic()
        try:
            async for msgs in batches:
                for msg in msgs:
                    await self.handler.handle(msg)
                if self.anomalies.state.position >= target:
                    self.caught_up.set()
                applied = self.anomalies.state.applied
                if applied - applied_at_snapshot >= self.settings.snapshot_every or (
                    self.anomalies.state.position > self._snapshot_position
                    and time.monotonic() - saved_at >= self.settings.snapshot_interval_s
                ):
                    await self.snapshot()
                    applied_at_snapshot, saved_at = applied, time.monotonic()
        finally:
            await batches.aclose()
            await self.producer.close()
            if self.anomalies.state.position > self._snapshot_position:
                await self.snapshot()

    async def snapshot(self) -> None:
        """Save the state and its position now."""
        position, blob = self.store.encode(self.anomalies.state)
        await asyncio.to_thread(self.store.save, position, blob)
        self._snapshot_position = position
        log.debug("snapshot at stream seq %d (%d bytes)", position, len(blob))


@contextlib.asynccontextmanager
async def opened(settings: AnomalySettings, rt: Runtime) -> AsyncIterator[AnomalyService]:
    """The service with its trust, snapshot store and connection open; all closed on exit."""
    trust = TrustStore.load(settings.operators_file)
    if not trust.operators:
        log.warning("no trusted operators in %s: no bundle can set thresholds (defaults)", settings.operators_file)
    store = SnapshotStore(settings.snapshot_file)
    try:
        nc = await connect(rt, name="agentgov-anomaly")
        try:
            yield AnomalyService(settings, nc, store, trust)
        finally:
            await drain_or_close(nc)
    finally:
        store.close()


async def serve(settings: AnomalySettings, rt: Runtime, stop: asyncio.Event) -> AnomalyService:
    """Connect, open the snapshot, and run the anomaly service until ``stop`` is set."""
    async with opened(settings, rt) as svc:
        tune_gc()
        await svc.run(stop)
        return svc
