"""The approval service's composition root: follow decisions and approvals, keep the history, append the
requests and expiries, notify.

The loop (one task): read a batch (:func:`~agentgov.approval.stream.follow`), apply it
(:class:`~agentgov.approval.handlers.Handler`), commit its rows, diagnostics and position in one
transaction, hand its notices to the notifier (only events newer than ``notify_max_age_s``, so a replay
stays quiet), and then, **once caught up** with the stream, append:

- an ApprovalRequested (``Nats-Msg-Id`` ``approval:<id>``) for each review not requested yet;
- an ApprovalExpired (``approval-expired:<id>``) for each requested approval still pending past its expiry.

An event it refuses (undecodable, forged or untrusted resolution, one for an approval never requested, a
resolution after another won) changes nothing and is reported as an EventRejected on
``gov.approval._rejected`` (:class:`~agentgov.streaming.rejections.Rejections`), appended before the batch's
position commits, so it is recorded exactly once.

Appends are not applied when written: they come back through the consumer like anyone else's, so the
stream order alone decides (a grant stored before the expiry wins, and the expiry is then a ``late``
diagnostic). A kill at any point loses nothing and applies nothing twice: the position commits with the
rows; an append made before a crash is found on the stream while catching up, before anything is appended
again; and the message ids de-duplicate what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.approval.domain import ApprovalRecord, Approvals, Changes, Diagnostic
from agentgov.approval.handlers import (
    Handler,
    expired_event,
    expiry_msg_id,
    request_msg_id,
    requested_event,
)
from agentgov.approval.notify import Notifier, NotifyStats, Target
from agentgov.approval.settings import ApprovalSettings
from agentgov.approval.store import ApprovalStore, StoreBatch, open_store
from agentgov.approval.stream import follow
from agentgov.contracts import subjects
from agentgov.contracts.envelope import Event
from agentgov.identity.operators import TrustStore
from agentgov.streaming.connect import connect, drain_or_close
from agentgov.streaming.errors import StreamingError
from agentgov.streaming.home import Runtime
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import StoredMsg
from agentgov.streaming.rejections import Rejections

log = logging.getLogger("agentgov.approval")

Clock = Callable[[], int]
"""Nanoseconds since the epoch (``time.time_ns``; tests inject their own)."""


@dataclass(slots=True)
class Health:
    """What the service reports about itself."""

    producer: str = ""
    position: int = 0
    caught_up: bool = False
    pending: int = 0
    requested: int = 0
    expired: int = 0
    diagnostics: int = 0
    rejected: int = 0
    """EventRejected appended by this run (refusals already on the stream are not counted again)."""
    notify: NotifyStats = field(default_factory=NotifyStats)


class ApprovalService:
    """The approval service over one connection and one store."""

    def __init__(
        self,
        settings: ApprovalSettings,
        nc: Client,
        store: ApprovalStore,
        trust: TrustStore,
        *,
        clock: Clock = time.time_ns,
        notifier: Notifier | None = None,
    ) -> None:
        self.settings = settings
        self.js: JetStreamContext = nc.jetstream()
        self.store = store
        self.trust = trust
        self.clock = clock
        self.notifier = notifier or notifier_from(settings)
        self.approvals = Approvals(trust)
        self.handler = Handler(self.approvals)
        self.health = Health(notify=self.notifier.stats)
        self.ready = asyncio.Event()
        """Set once the service has caught up with the stream (and may append)."""
        self._producer: ChainedProducer | None = None
        self._requesting: set[str] = set()
        self._expiring: set[str] = set()
        self.rejections = Rejections("approval")

    async def run(self, stop: asyncio.Event) -> None:
        """Load the history, follow the stream and append until ``stop`` is set."""
        await asyncio.to_thread(self.store.migrate)
        if self.settings.rebuild:
            log.info("rebuilding the approval history from the start of the stream")
            await asyncio.to_thread(self.store.reset)
        position = await asyncio.to_thread(self.store.position)
        since = self.clock() - int(self.settings.history_window_s * 1e9)
        records = await asyncio.to_thread(self.store.load, since)
        self.approvals.by_id.update({r.approval_id: r for r in records})
        self.health.position = position
        await self.rejections.load(self.js)
        self.notifier.start()
        stream = follow(self.js, start_seq=position + 1, idle_every=self.settings.tick_s)
        log.info("approval service following GOV from seq %d (%d approvals loaded)", position + 1, len(records))
        try:
            async for msgs, caught_up in stream:
                await self._batch(msgs, caught_up)
                if stop.is_set():
                    break
        finally:
            await stream.aclose()
            await self.notifier.close()
            if self._producer is not None:
                with contextlib.suppress(StreamingError):
                    await self._producer.close()

    async def _batch(self, msgs: list[StoredMsg], caught_up: bool) -> None:
        changes = Changes()
        for m in msgs:
            self.handler.apply(m, changes)
        if msgs:
            last = msgs[-1].seq
            if changes.diagnostics:
                subject_of = {m.seq: m.subject for m in msgs}
                for d in changes.diagnostics:
                    await self._reject(d, subject_of.get(d.stream_seq, ""))
                self.health.rejected = self.rejections.appended
            rows = list(changes.rows.values())
            await asyncio.to_thread(self.store.apply, StoreBatch(last, rows, changes.diagnostics))
            self.health.position = last
            self.health.diagnostics += len(changes.diagnostics)
            for d in changes.diagnostics:
                log.warning("approval event at seq %d ignored (%s): %s", d.stream_seq, d.kind, d.detail)
        oldest = self.clock() - int(self.settings.notify_max_age_s * 1e9)
        for notice, ts in changes.notices:
            if ts >= oldest:
                self.notifier.offer(notice)
        self.health.pending = self.approvals.pending()
        if caught_up:
            self.health.caught_up = True
            self.ready.set()
            await self._append_due()

    async def _append_due(self) -> None:
        """Append the requests and expiries that are due (once caught up)."""
        self._requesting &= {r.approval_id for r in self.approvals.to_request()}
        for r in self.approvals.to_request():
            if r.approval_id not in self._requesting:
                await self._append(r, "request")
        now = self.clock()
        due = self.approvals.due(now)
        self._expiring &= {r.approval_id for r in due}
        for r in due:
            if r.approval_id not in self._expiring:
                await self._append(r, "expiry")

    async def _append(self, r: ApprovalRecord, what: str) -> None:
        event: Event
        if what == "request":
            event, msg_id, pending = requested_event(r), request_msg_id(r.approval_id), self._requesting
        else:
            event, msg_id, pending = expired_event(r), expiry_msg_id(r.approval_id), self._expiring
        try:
            producer = await self._current_producer()
            ack = await producer.publish_once(subjects.approval(r.agent), event, msg_id=msg_id)
        except StreamingError as exc:
            log.warning("could not append the %s of approval %s (retrying): %s", what, r.approval_id, exc)
            return
        pending.add(r.approval_id)
        if not ack.duplicate:
            if what == "request":
                self.health.requested += 1
            else:
                self.health.expired += 1

    async def _reject(self, d: Diagnostic, subject: str, attempts: int = 5) -> None:
        """Append the EventRejected of ``d``; after ``attempts`` failures the error stops the service (a
        restart resumes before this batch: nothing lost, and what was appended is not appended again)."""
        for attempt in range(attempts):
            try:
                producer = await self._current_producer()
                await self.rejections.append(
                    producer,
                    stream_seq=d.stream_seq,
                    subject=subject,
                    reason=REJECT_REASONS[d.kind],
                    detail=d.detail,
                    about=d.approval_id,
                )
            except StreamingError as exc:
                if attempt == attempts - 1:
                    raise
                log.warning("could not append the refusal of seq %d (retrying): %s", d.stream_seq, exc)
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
            else:
                return

    async def _current_producer(self) -> ChainedProducer:
        if self._producer is None or self._producer.broken:
            producer = ChainedProducer(self.js, Ed25519PrivateKey.generate(), role="approval")
            await producer.register()
            self._producer = producer
            self.health.producer = producer.producer_id
            log.info("approval producer %s registered", producer.producer_id)
        return self._producer


REJECT_REASONS: dict[str, str] = {
    "malformed": "malformed",
    "invalid": "invalid",
    "forged": "forged",
    "unknown": "unknown_approval",
    "late": "already_resolved",
    "duplicate": "duplicate",
}
"""EventRejected ``reason`` for each diagnostic kind of the approval projection."""


def notifier_from(settings: ApprovalSettings) -> Notifier:
    """The notifier the settings describe (no targets: it does nothing)."""
    targets = [Target(settings.webhook_url, "json")] if settings.webhook_url else []
    if settings.slack_url:
        targets.append(Target(settings.slack_url, "slack"))
    return Notifier(
        targets,
        queue_size=settings.notify_queue,
        retries=settings.notify_retries,
        backoff_s=settings.notify_backoff_s,
        max_backoff_s=settings.notify_max_backoff_s,
        timeout_s=settings.notify_timeout_s,
    )


@contextlib.asynccontextmanager
async def opened(settings: ApprovalSettings, rt: Runtime) -> AsyncIterator[ApprovalService]:
    """The service with its trust, history store and connection open; all closed on exit."""
    trust = TrustStore.load(settings.operators_file)
    if not any("approver" in op.roles for op in trust.operators):
        log.warning("no approver keys in %s: every resolution will be ignored as untrusted", settings.operators_file)
    store = await asyncio.to_thread(open_store, settings.database)
    try:
        nc = await connect(rt, name="agentgov-approval")
        try:
            yield ApprovalService(settings, nc, store, trust)
        finally:
            await drain_or_close(nc)
    finally:
        await asyncio.to_thread(store.close)


async def serve(settings: ApprovalSettings, rt: Runtime, stop: asyncio.Event) -> ApprovalService:
    """Connect, open the history and run the approval service until ``stop`` is set."""
    async with opened(settings, rt) as svc:
        await svc.run(stop)
        return svc
