"""The budget service's composition root: resume the projection, catch up, answer usage reports, follow.

Start-up: open the ledger (Redis or JetStream KV) and the snapshot; with ``rebuild`` reset both. Redo the
snapshot's ledger intent (idempotent). Scan ``gov.budget.*`` after the snapshot's position for the alerts,
resets and rejections already appended (so none is appended twice, whatever the dedup window). Catch up
with the stream, then (on rebuild) re-create outstanding reservations from ActionDecided, then join the
queue group ``budget`` on ``gov.usage.*``; a tick every ``tick_s`` rolls windows over when no spend arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from agentgov.budget.domain import BudgetProjection, alert_id, exceeded_id, rejected_id, reset_id
from agentgov.budget.errors import NotReadyError
from agentgov.budget.handlers import Intake, Projector
from agentgov.budget.settings import BudgetSettings
from agentgov.budget.store import SnapshotStore
from agentgov.contracts import codec
from agentgov.contracts.errors import DecodeError
from agentgov.contracts.events_budget import BudgetAlert, BudgetExceeded, BudgetReset, SpendRejected
from agentgov.contracts.streams import GOV
from agentgov.identity.operators import TrustStore
from agentgov.identity.tokens import TokenVerifier
from agentgov.ledger.open import open_ledger
from agentgov.ledger.port import Ledger
from agentgov.streaming.connect import connect, drain_or_close
from agentgov.streaming.home import Runtime
from agentgov.streaming.lifecycle import tune_gc
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import last_seq, read_batches

log = logging.getLogger("agentgov.budget")


@dataclass(slots=True)
class Health:
    """What the service reports about itself."""

    producer: str = ""
    position: int = 0
    ready: bool = False
    serving: bool = False
    pricing_revision: int = 0
    limits: int = 0
    started: float = field(default_factory=time.time)


class BudgetService:
    """Follows GOV into the budget projection and the ledger; prices usage reports."""

    def __init__(
        self,
        settings: BudgetSettings,
        nc: Client,
        trust: TrustStore,
        ledger: Ledger,
        snapshots: SnapshotStore,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.settings = settings
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.ledger = ledger
        self.snapshots = snapshots
        self.clock = clock
        self.projection = BudgetProjection(
            trust, default_tz=settings.default_tz, hold_ttl_ns=int(settings.hold_ttl_s * 1e9)
        )
        self.producer = ChainedProducer(self.js, Ed25519PrivateKey.generate(), role="budget")
        self.projector = Projector(self.projection, ledger, self.producer, self._commit, clock, settings.batch)
        self.intake = Intake(nc, self.js, self.projection, TokenVerifier(trust), self.producer, clock)
        self.ready = asyncio.Event()
        self.serving = asyncio.Event()
        self._sub: Any = None

    def health(self) -> Health:
        """The service's state as data."""
        st = self.projection.state
        return Health(
            producer=self.producer.producer_id,
            position=st.position,
            ready=self.ready.is_set(),
            serving=self.serving.is_set(),
            pricing_revision=st.pricing.revision,
            limits=len(st.limits),
        )

    async def _commit(self) -> None:
        await self.snapshots.save(self.projection.state)

    async def resume(self) -> None:
        """Load (or rebuild) the projection's starting point and redo a pending ledger intent."""
        if self.settings.rebuild:
            log.info("rebuild: resetting the ledger and replaying %s from the start", GOV)
            await self.ledger.reset()
            await self.snapshots.clear()
        else:
            state = await self.snapshots.load()
            if state is not None:
                self.projection.state = state
                if state.intent:
                    await self.projector.write_ledger(state.intent)
                    state.intent = []
        await self._scan_own(self.projection.state.position + 1)

    async def _scan_own(self, start: int) -> None:
        """Remember the budget events already appended after ``start`` (never append them again)."""
        try:  # the last budget message, so the filtered read below knows where to end
            end = (await self.js.get_last_msg(GOV, "gov.budget.*")).seq or 0
        except NotFoundError:
            return
        if end < start:
            return
        seen = self.projection.seen
        async for batch in read_batches(self.js, GOV, start_seq=start, until_seq=end, filter_subject="gov.budget.*"):
            for m in batch:
                try:
                    ev = codec.decode_event(codec.split_lazy(m.data)[0])
                except DecodeError:
                    continue
                match ev:
                    case BudgetAlert():
                        seen.add(alert_id(ev.scope, ev.window, ev.window_start_ns, ev.threshold_pct))
                    case BudgetExceeded():
                        seen.add(exceeded_id(ev.scope, ev.window, ev.window_start_ns))
                    case BudgetReset():
                        seen.add(reset_id(ev.scope, ev.window, ev.window_start_ns))
                    case SpendRejected() if ev.source_seq:
                        seen.add(rejected_id(ev.source_seq))
                    case _:
                        pass

    async def run(self, stop: asyncio.Event) -> None:
        """Resume, catch up, serve until ``stop`` is set."""
        await self.resume()
        await self.producer.register()
        target = await last_seq(self.js, GOV)
        if self.projection.state.position >= target:
            await self._caught_up()
        batches = read_batches(
            self.js,
            GOV,
            start_seq=self.projection.state.position + 1,
            batch=self.settings.batch,
            idle_every=self.settings.tick_s,
            stop=stop,
        )
        deadline = time.monotonic() + self.settings.ready_timeout_s
        clean = False
        try:
            async for msgs in batches:
                if msgs:
                    await self.projector.handle(msgs)
                else:
                    await self.projector.tick(self.clock())
                if not self.ready.is_set():
                    if self.projection.state.position >= target or not msgs:
                        await self._caught_up()
                    elif time.monotonic() > deadline:
                        raise NotReadyError(f"budget projection not caught up within {self.settings.ready_timeout_s} s")
            clean = True
        finally:
            if clean:
                await self.projector.flush()
            else:
                await self.projector.abandon()  # crashing: the committed intent is made again at the next start
            self.serving.clear()
            if self._sub is not None:
                with contextlib.suppress(Exception):
                    await self._sub.unsubscribe()
            await batches.aclose()
            await self.producer.close()

    async def _caught_up(self) -> None:
        if self.ready.is_set():
            return
        await self.projector.flush()
        now = self.clock()
        if self.settings.rebuild:
            for rid, hold in list(self.projection.state.holds.items()):
                if hold.expires_ns > now:
                    await self.ledger.reserve(rid, hold.scopes, hold.usd_micros, now, hold.expires_ns - now)
        await self._commit()
        self.ready.set()
        self._sub = await self.nc.subscribe("gov.usage.*", queue=self.settings.queue_group, cb=self.intake.on_msg)
        # The server has the subscription before we say we serve (a request sent as soon as `serving`
        # is set would otherwise find no responders).
        await self.nc.flush()
        self.serving.set()
        h = self.health()
        log.info(
            "budget %s serving gov.usage.* at position %d: pricing revision %s, %d limits",
            h.producer,
            h.position,
            h.pricing_revision or "none (reports are refused: no_pricing)",
            h.limits,
        )


@contextlib.asynccontextmanager
async def opened(settings: BudgetSettings, rt: Runtime) -> AsyncIterator[BudgetService]:
    """The service with its trust, connection, ledger and snapshot store open; all closed on exit."""
    trust = TrustStore.load(settings.operators_file)
    if not trust.operators:
        log.warning("no trusted operators in %s: no pricing or limit can be accepted", settings.operators_file)
    nc = await connect(rt, name="agentgov-budget")
    ledger: Ledger | None = None
    try:
        js = nc.jetstream()
        ledger = await open_ledger(js, settings.redis_url, bucket=settings.ledger_bucket)
        snapshots = await SnapshotStore.open(js, settings.state_bucket)
        yield BudgetService(settings, nc, trust, ledger, snapshots)
    finally:
        if ledger is not None:
            await ledger.close()
        await drain_or_close(nc)


async def serve(settings: BudgetSettings, rt: Runtime, stop: asyncio.Event) -> BudgetService:
    """Connect, open the ledger and snapshot, and run the budget service until ``stop`` is set."""
    async with opened(settings, rt) as svc:
        tune_gc()
        await svc.run(stop)
        return svc
