"""The audit service's composition root: connect, resume, verify and index, seal, repeat (DESIGN.md §5).

Resuming: the read model's position (committed with its rows) says where to continue; the checkpoint
stream's last message says what is sealed. Producer keys and chain heads come back from the read model,
and the messages between the last checkpoint and the position are re-read (hashed only) so the next
checkpoint covers its whole range. Diagnostics are appended to GOV *before* the rows that record them are
committed, so a crash can repeat a diagnostic but never lose one; the read model keys them by stream
sequence, so it never counts one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from agentgov.audit.domain import ChainVerifier
from agentgov.audit.handlers import AuditProjector, Outcome
from agentgov.audit.seal import Segment, build_checkpoint
from agentgov.audit.settings import AuditSettings
from agentgov.audit.store import Batch, CheckpointRow, ProducerHeadRow, ReadModel, open_read_model
from agentgov.audit.writer import ProcessWriter, ThreadWriter, Writer
from agentgov.contracts import codec, crypto, merkle, subjects
from agentgov.contracts.envelope import GENESIS
from agentgov.contracts.errors import DecodeError
from agentgov.contracts.events import ChainHead, Checkpoint
from agentgov.streaming.connect import connect, drain_or_close
from agentgov.streaming.home import Runtime
from agentgov.streaming.keys import load_or_create_key
from agentgov.streaming.lifecycle import tune_gc
from agentgov.streaming.producer import EXPECTED_LAST_SUBJECT_SEQ, MSG_ID, ChainedProducer, append_retrying
from agentgov.streaming.reader import read_batches

log = logging.getLogger("agentgov.audit")

CAUGHT_UP_S = 0.1
"""Seal early once the stream has been quiet this long, rather than waiting out the full seal interval."""


@dataclass(slots=True)
class Health:
    """What the service reports about itself."""

    producer: str = ""
    position: int = 0
    sealed_upto: int = 0
    checkpoints: int = 0
    messages: int = 0
    malformed: int = 0
    broken: int = 0
    unknown_type: int = 0
    started: float = field(default_factory=time.time)


@dataclass(slots=True)
class _LastCheckpoint:
    number: int = 0
    digest: str = GENESIS
    last_seq: int = 0
    stream_seq: int = 0


class AuditService:
    """Follows GOV: verifies chains, keeps the read model, appends diagnostics and signed checkpoints."""

    def __init__(self, settings: AuditSettings, nc: Client, read_model: ReadModel, key: Ed25519PrivateKey) -> None:
        self.settings = settings
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.rm = read_model
        self.key = key
        self.producer = ChainedProducer(self.js, key, role="audit")
        self.health = Health(producer=self.producer.producer_id)
        self._last = _LastCheckpoint()
        self._projector: AuditProjector | None = None
        self._maintenance: asyncio.Future[None] | None = None
        self._writer: Writer | None = None
        self._sealed_at_start = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; everything committed so far survives any crash."""
        await asyncio.to_thread(self.rm.migrate)
        if self.settings.rebuild:
            log.info("rebuild: re-verifying and re-indexing %s from the start", self.settings.stream)
        await self.producer.register()
        projector = await self._resume()
        if self.settings.writer == "process":
            self._writer = ProcessWriter(self.settings.database, on_commit=self._committed, max_in_flight=64)
        else:
            self._writer = ThreadWriter(self.rm, on_commit=self._committed)
        await self._writer.start()
        self._projector = projector
        start = 1 if self.settings.rebuild else self.health.position + 1
        log.info(
            "audit %s: reading %s from %d; sealed up to %d",
            self.producer.producer_id,
            self.settings.stream,
            start,
            self._last.last_seq,
        )
        batches = read_batches(
            self.js,
            self.settings.stream,
            start_seq=start,
            batch=self.settings.batch,
            idle_every=min(self.settings.seal_interval_ms / 1000, CAUGHT_UP_S),
            stop=stop,
        )
        try:
            async for batch in batches:
                msgs = batch
                every = self.settings.seal_every
                while msgs:  # a checkpoint never covers more than seal_every messages
                    room = max(every - len(projector.segment), 1)
                    chunk, msgs = msgs[:room], msgs[room:]
                    await self._write(projector.handle(chunk))
                    if len(projector.segment) >= every:
                        await self._seal(projector)
                seg = projector.segment
                caught_up = not batch  # the reader was idle: nothing more is waiting
                if len(seg) and (seg.age() * 1000 >= self.settings.seal_interval_ms or caught_up):
                    await self._seal(projector)
        finally:
            await batches.aclose()
            if self._writer is not None:
                await self._writer.close()
            await self.producer.close()
            if self._maintenance is not None:
                with contextlib.suppress(Exception):
                    await self._maintenance

    # -- resume --------------------------------------------------------------------------------------

    async def _resume(self) -> AuditProjector:
        verifier = ChainVerifier(stream=self.settings.stream, signatures="heads")
        position = 0 if self.settings.rebuild else await asyncio.to_thread(self.rm.position)
        self._last = await self._last_checkpoint()
        self._sealed_at_start = self._last.last_seq
        if position:
            for k in await asyncio.to_thread(self.rm.producer_keys):
                verifier.add_key(k.producer, k.public_key, k.role)
            heads = await asyncio.to_thread(self.rm.producer_heads)
            verifier.resume(
                [ChainHead(producer=h.producer, seq=h.seq, hash=h.head, stream_seq=h.stream_seq) for h in heads],
                position + 1,
            )
        segment = Segment(first_seq=self._last.last_seq + 1)
        producers: set[str] = set()
        if position > self._last.last_seq:
            # Re-read what was indexed but not yet sealed, so the next checkpoint covers it.
            async for msgs in read_batches(
                self.js,
                self.settings.stream,
                start_seq=self._last.last_seq + 1,
                until_seq=position,
                batch=self.settings.batch,
            ):
                for m in msgs:
                    segment.add(m.seq, merkle.leaf_hash(m.data))
                    with contextlib.suppress(DecodeError):
                        producers.add(codec.decode_envelope(codec.split_lazy(m.data)[0]).chain.producer)
        self.health.position = position
        self.health.sealed_upto = self._last.last_seq
        self.health.checkpoints = self._last.number
        projector = AuditProjector(verifier, segment, sealed_upto=self._last.last_seq)
        projector.segment_producers = producers & set(verifier.producers)
        return projector

    async def _last_checkpoint(self) -> _LastCheckpoint:
        try:
            raw = await self.js.get_last_msg(self.settings.checkpoint_stream, subjects.CHECKPOINT)
        except NotFoundError:
            return _LastCheckpoint()
        body, _ = codec.split(raw.data or b"")
        cp = codec.decode_event(body)
        if not isinstance(cp, Checkpoint):
            raise RuntimeError(f"{self.settings.checkpoint_stream} holds a {type(cp).__name__}, not a checkpoint")
        return _LastCheckpoint(cp.chain.seq, crypto.event_hash(body).hex(), cp.last_seq, raw.seq or 0)

    # -- writing -------------------------------------------------------------------------------------

    async def _write(self, outcome: Outcome) -> None:
        for subject, event in outcome.diagnostics:
            # At or below the last sealed sequence (re-verified after a restart), the diagnostic was appended
            # before that checkpoint was: record it in the read model again, never on the stream twice.
            if getattr(event, "stream_seq", 0) > self._sealed_at_start:
                await self.producer.publish(subject, event)
        batch = outcome.batch
        if self._projector is not None:
            batch = Batch(
                events=batch.events,
                diagnostics=batch.diagnostics,
                checkpoints=batch.checkpoints,
                producer_keys=batch.producer_keys,
                position=batch.position,
                producer_heads=self._heads_rows(),
            )
        await self._submit(batch)
        if self._projector is not None:
            c = self._projector.counts
            self.health.messages, self.health.malformed = c["messages"], c["malformed"]
            self.health.broken, self.health.unknown_type = c["broken"], c["unknown_type"]

    async def _submit(self, batch: Batch) -> None:
        """Hand ``batch`` to the writer; commits happen in order, beside verification."""
        assert self._writer is not None
        await self._writer.submit(batch)

    def _committed(self, batch: Batch) -> None:
        if batch.position:
            self.health.position = max(self.health.position, batch.position)

    def _maintain(self) -> None:
        """Start read-model housekeeping in a thread unless one is still running; never awaited on the hot path."""
        if self._maintenance is None or self._maintenance.done():
            self._maintenance = asyncio.ensure_future(asyncio.to_thread(self.rm.maintain))

    def _heads_rows(self) -> list[ProducerHeadRow]:
        assert self._projector is not None
        v = self._projector.verifier
        touched, v.touched = v.touched, set()
        return [
            ProducerHeadRow(producer=h.producer, seq=h.seq, head=h.hash, stream_seq=h.stream_seq)
            for h in v.heads(touched)
        ]

    async def _seal(self, projector: AuditProjector) -> None:
        await self._write(projector.verify_heads())
        seg = projector.segment
        number = self._last.number + 1
        sealed = build_checkpoint(
            seg,
            stream=self.settings.stream,
            number=number,
            prev=self._last.digest,
            heads=projector.verifier.heads(projector.segment_producers),
            signer=self.producer.producer_id,
            key=self.key,
        )
        # A lost ack is retried with the same message id: JetStream keeps one copy (a busy server once took
        # over 5 s to answer, and one late ack must not stop the audit service).
        ack = await append_retrying(
            self.js,
            subjects.CHECKPOINT,
            sealed.payload,
            {
                MSG_ID: f"checkpoint-{self.settings.stream}-{number}",
                EXPECTED_LAST_SUBJECT_SEQ: str(self._last.stream_seq),
            },
            stream=self.settings.checkpoint_stream,
        )
        cp = sealed.event
        self._last = _LastCheckpoint(number, sealed.digest.hex(), cp.last_seq, ack.seq)
        await self._submit(
            Batch(
                events=[],
                diagnostics=[],
                producer_keys=[],
                position=0,
                checkpoints=[
                    CheckpointRow(
                        checkpoint_seq=number,
                        first_seq=cp.first_seq,
                        last_seq=cp.last_seq,
                        count=cp.count,
                        merkle_root=cp.merkle_root,
                        hash=sealed.digest.hex(),
                        ts=cp.ts,
                    )
                ],
            ),
        )
        self._maintain()
        projector.segment = Segment(first_seq=cp.last_seq + 1)
        projector.segment_producers = set()
        projector.sealed_upto = cp.last_seq
        self.health.sealed_upto, self.health.checkpoints = cp.last_seq, number
        log.info("sealed checkpoint %d over %d..%d (%d messages)", number, cp.first_seq, cp.last_seq, cp.count)


async def serve(settings: AuditSettings, rt: Runtime, stop: asyncio.Event) -> AuditService:
    """Connect, open the read model and key, and run the audit service until ``stop`` is set."""
    read_model = open_read_model(settings.database)
    try:
        key = load_or_create_key(settings.key_file)
        nc = await connect(rt, name="agentgov-audit")
        try:
            svc = AuditService(settings, nc, read_model, key)
            tune_gc()
            await svc.run(stop)
            return svc
        finally:
            await drain_or_close(nc)
    finally:
        read_model.close()
