"""Messages in, state and events out: the projector (stream → projection → ledger, alerts) and the intake
(``gov.usage.<agent>`` requests → SpendRecorded / SpendRejected → SpendReceipt reply).

Order of a projected batch, which is what makes a crash at any point lose and repeat nothing:
1. apply every event to the projection (pure), collecting effects;
2. append the events it decided (alerts, exceeded, resets, rejections), each with its derived
   ``Nats-Msg-Id`` and only if not already seen on the stream;
3. commit the snapshot (state + position + as an *intent*, this batch's ledger writes and those of earlier
   batches not yet made);
4. a writer task makes the ledger writes in order while the next batches are read, decoded and applied,
   everything queued at once (idempotent by event id: one ``settle_many`` per :data:`SETTLE_BATCH` settles,
   so a round costs a few round trips per limited scope, not per event); what it has made leaves the
   intent at the next commit. With more than :data:`MAX_QUEUED` writes queued the projection waits.
A crash before 3 replays the batch (2 is then de-duplicated); after 3 the intent is made again at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from agentgov.budget.domain import BudgetProjection, Effects
from agentgov.budget.reports import judge
from agentgov.budget.settles import ledger_ops
from agentgov.budget.state import LedgerOp
from agentgov.contracts import codec, subjects
from agentgov.contracts.errors import DecodeError
from agentgov.contracts.events import KnownEvent, SpendRecorded
from agentgov.contracts.ids import check_token
from agentgov.contracts.requests import SpendReceipt
from agentgov.contracts.streams import GOV
from agentgov.identity.tokens import TokenVerifier
from agentgov.ledger.model import Limit, SettleItem
from agentgov.ledger.port import Ledger
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import StoredMsg

log = logging.getLogger(__name__)

#: Subjects whose events the projection reads; everything else on GOV is skipped before decoding.
READ_PREFIXES = ("gov.spend.", "gov.budget.", "gov.registry.", "gov.decision.")
SETTLE_BATCH = 1000
"""Settles per ``Ledger.settle_many`` call (bounds one call's documents and script arguments)."""
MAX_QUEUED = 2000
"""Ledger writes committed and not yet made before the projection waits for the writer (bounds the intent
kept in the snapshot, one KV value)."""


@dataclass(slots=True)
class Counts:
    """What the service has done since it started."""

    applied: int = 0
    emitted: int = 0
    settles: int = 0
    settle_calls: int = 0
    """``Ledger.settle_many`` calls the settles took."""
    recorded: int = 0
    rejected: int = 0


def decode_batch(batch: list[StoredMsg]) -> list[tuple[StoredMsg, KnownEvent]]:
    """The batch's events the projection reads, decoded (unknown and undecodable ones skipped)."""
    out: list[tuple[StoredMsg, KnownEvent]] = []
    for m in batch:
        if not m.subject.startswith(READ_PREFIXES):
            continue
        try:
            out.append((m, codec.decode_event(codec.split_lazy(m.data)[0])))
        except DecodeError:
            continue  # unknown types (newer producers) and malformed bytes: the audit service diagnoses them
    return out


class Projector:
    """Applies stream batches to the projection and makes its effects."""

    def __init__(
        self,
        projection: BudgetProjection,
        ledger: Ledger,
        producer: ChainedProducer,
        commit: Callable[[], Awaitable[None]],
        clock: Callable[[], int] = time.time_ns,
        max_batch: int = 1000,
    ) -> None:
        self.max_batch = max_batch
        self._applying = False
        self._writing: asyncio.Task[None] | None = None
        """The writer: makes the committed ledger writes (``_queued``) while the next batches are applied."""
        self._queued: list[LedgerOp] = []
        """Ledger writes committed (in the snapshot's intent) and not yet made, in order."""
        self.projection = projection
        self.ledger = ledger
        self.producer = producer
        self._commit = commit
        self.clock = clock
        self.counts = Counts()

    async def handle(self, batch: list[StoredMsg]) -> None:
        """Apply what was read, ``max_batch`` messages at a time (each: steps 1-4 of the module docstring).

        The reader hands over everything that arrived meanwhile, which can be far more than a batch when the
        service catches up; bounding the batch bounds the snapshot's ledger intent (one KV value)."""
        self._applying = True
        try:
            for i in range(0, len(batch), self.max_batch):
                await self.handle_batch(batch[i : i + self.max_batch])
        finally:
            self._applying = False

    @property
    def busy(self) -> bool:
        """True while a batch is being applied or its ledger writes are still being made."""
        return self._applying or (self._writing is not None and not self._writing.done())

    async def flush(self) -> None:
        """Wait until every committed ledger write is made, raising what the writer raised."""
        task, self._writing = self._writing, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        """Cancel the ledger writes in flight (the committed intent makes them again at the next start)."""
        task, self._writing = self._writing, None
        self._queued = []
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def handle_batch(self, batch: list[StoredMsg]) -> None:
        """Apply one batch of at most ``max_batch`` messages."""
        if not batch:
            return
        fx = Effects()
        proj = self.projection
        for m, event in decode_batch(batch):
            proj.apply(event, m.seq, m.subject, fx)
            self.counts.applied += 1
        proj.state.position = max(proj.state.position, batch[-1].seq)
        await self.finish(fx, batch[-1].seq)

    async def tick(self, now_ns: int) -> None:
        """Timer work: roll windows over (BudgetReset), expire holds."""
        fx = self.projection.tick(now_ns)
        if fx.emit or fx.settle or fx.limits:
            await self.finish(fx, self.projection.state.position)
        await self.ledger.expire(now_ns)

    async def finish(self, fx: Effects, batch_end: int) -> None:
        """Append decided events, commit with the ledger intent (this batch's writes and those committed
        before and not yet made), and have the writer make them (see the module docstring)."""
        for e in fx.emit:
            await self.producer.publish_once(e.subject, e.event, msg_id=e.msg_id)
            self.projection.seen.add(e.msg_id)
            self.counts.emitted += 1
        ops = ledger_ops(fx, self.projection.state.limits, batch_end, self.clock())
        writer = self._writing
        if writer is not None and (writer.done() or len(self._queued) + len(ops) > MAX_QUEUED):
            await self.flush()  # raises what a failed writer raised; else waits: bounds the intent
        self._queued += ops
        self.projection.state.intent = list(self._queued)
        await self._commit()
        if self._queued and self._writing is None:
            self._writing = asyncio.create_task(self._write_queued())

    async def _write_queued(self) -> None:
        """Make the queued writes, all that were queued at once (one ``settle_many`` for several batches
        when the ledger is slower than the projection), until none is left."""
        while self._queued:
            ops = list(self._queued)
            await self.write_ledger(ops)
            del self._queued[: len(ops)]
            self.projection.state.intent = list(self._queued)

    async def write_ledger(self, ops: list[LedgerOp]) -> None:
        """Make ledger writes in order: limit changes one by one, each run of settles between them in
        ``settle_many`` calls of :data:`SETTLE_BATCH` (chunked from the start of the run, so the same ops
        redone after a crash make the same calls)."""
        run: list[LedgerOp] = []
        for op in [*ops, None]:
            if op is not None and op.limit is None and op.remove is None:
                run.append(op)
                continue
            for k in range(0, len(run), SETTLE_BATCH):
                chunk = run[k : k + SETTLE_BATCH]
                await self.ledger.settle_many(
                    [SettleItem(o.event_id, o.request_id or None, o.scopes, o.usd_micros, o.ts_ns) for o in chunk]
                )
                self.counts.settles += len(chunk)
                self.counts.settle_calls += 1
            run = []
            if op is None:
                break
            if op.limit is not None:
                row = op.limit
                await self.ledger.set_limit(
                    Limit(
                        scope=row.scope,
                        window=row.window,
                        limit_usd_micros=row.limit_usd_micros,
                        tz=row.tz,
                        rolling_s=row.rolling_s,
                    )
                )
            elif op.remove is not None:
                await self.ledger.remove_limit(*op.remove)


class Intake:
    """Answers RecordSpend requests on ``gov.usage.*`` (queue group ``budget``)."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        projection: BudgetProjection,
        tokens: TokenVerifier,
        producer: ChainedProducer,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.nc = nc
        self.js = js
        self.projection = projection
        self.tokens = tokens
        self.producer = producer
        self.clock = clock
        self.counts = Counts()
        self._encoder = msgspec.json.Encoder()

    async def on_msg(self, msg: Msg) -> None:
        """Judge, record, reply; never raises (a failure to record replies with an error)."""
        if not msg.reply:
            return
        agent_token = msg.subject.split(".", 2)[-1]
        try:
            receipt = await self._record(msg.data, agent_token)
        except Exception as exc:  # the requester must get an answer whatever broke
            log.warning("usage report on %s not recorded: %s", msg.subject, exc)
            receipt = SpendReceipt(report_id="", error="unavailable", detail=f"not recorded: {exc}")
        await msg.respond(self._encoder.encode(receipt))

    async def _record(self, data: bytes, agent_token: str) -> SpendReceipt:
        try:
            agent = check_token("agent", agent_token)
        except ValueError:
            agent = ""
        judged = judge(data, agent, self.projection.state, self.tokens, self.clock())
        if judged.recorded is not None:
            ev = judged.recorded
            ack = await self.producer.publish_once(
                subjects.spend(agent), ev, msg_id=f"spend:{agent}:{judged.report_id}"
            )
            if ack.duplicate:
                ev = await self._stored(ack.seq) or ev
            self.counts.recorded += 1
            return SpendReceipt(
                report_id=judged.report_id,
                usd_micros=ev.usd_micros,
                pricing_revision=ev.pricing_revision,
                event_id=ev.id,
            )
        rej = judged.rejected
        assert rej is not None
        subject = subjects.spend(agent) if agent else "gov.budget.rejected"
        if not agent:
            rej = msgspec.structs.replace(rej, agent=None)
        msg_id = f"spend-rejected:{agent}:{judged.report_id}" if judged.report_id else None
        if msg_id:
            await self.producer.publish_once(subject, rej, msg_id=msg_id)
        else:
            await self.producer.publish(subject, rej)
        self.counts.rejected += 1
        return SpendReceipt(report_id=judged.report_id, error=rej.reason, detail=rej.detail)

    async def _stored(self, seq: int) -> SpendRecorded | None:
        """The SpendRecorded stored first for a repeated report."""
        raw = await self.js.get_msg(GOV, seq)
        event = codec.decode_event(codec.split(raw.data or b"")[0])
        return event if isinstance(event, SpendRecorded) else None
