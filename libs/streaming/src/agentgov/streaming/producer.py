"""The chained producer: signed, hash-chained, idempotent appends to JetStream (DESIGN.md §5).

One ``ChainedProducer`` is one chain: a producer id (``<role>-<random>``, new for every process run), a
gap-free sequence from 1 and the hash of the previous event. Its first event is always its
``ProducerKeyRegistered``. Every event is signed (Ed25519, about 40 µs here); verifiers check every hash link
and may check signatures only at chain heads, since each hash commits to all earlier events of the chain.

Appends are pipelined: an event is sealed and handed to ``publish_async`` in chain order under a lock, and
its acknowledgement is awaited outside it, so many requests can be in flight while the stream still stores
them in chain order. ``Nats-Msg-Id`` is the event id, so a retry after a lost ack is de-duplicated by
JetStream. An append that cannot be acknowledged after retries breaks the producer: its chain stops there
and the owner starts a new producer (a new chain) rather than writing around a hole.
"""

from __future__ import annotations

import asyncio
import collections
import os
import secrets
import socket
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import PubAck
from nats.js.client import JetStreamContext
from nats.js.errors import APIError

from agentgov.contracts import subjects
from agentgov.contracts.chain import ChainWriter, Sealed
from agentgov.contracts.envelope import Event
from agentgov.contracts.streams import MAX_EVENT_BYTES
from agentgov.streaming.errors import ProducerBrokenError, PublishError

MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"
SOFTWARE = "agentgov/0.1"


async def append_retrying(
    js: JetStreamContext,
    subject: str,
    payload: bytes,
    headers: dict[str, str],
    *,
    timeout: float = 5.0,
    retries: int = 3,
    stream: str | None = None,
    first: BaseException | None = None,
) -> PubAck:
    """Publish ``payload`` until JetStream acknowledges it, re-sending the same bytes and the same headers.

    ``headers`` must carry a ``Nats-Msg-Id``: JetStream drops a copy whose id it already stored (the ack then
    says ``duplicate``), so a retry after a lost ack never stores twice. A compare-and-set header such as
    ``Nats-Expected-Last-Subject-Sequence`` is sent again with every copy; nats-server checks it before the
    message id, so a retry whose first copy landed is refused as "wrong last sequence": then the subject's
    last message is read, and if it is this payload the append succeeded (the ack returned says
    ``duplicate``). ``first`` is the failure of an attempt the caller already made (then only the
    ``retries`` follow). A timeout or a 503 (JetStream not ready) is retried with backoff; any other API
    error, or the last failure, is raised.
    """
    if MSG_ID not in headers:
        raise ValueError("append_retrying needs a Nats-Msg-Id header")
    last = first
    for attempt in range(retries + (first is None)):
        if last is not None:
            if isinstance(last, APIError) and not _retryable(last):
                break
            await asyncio.sleep(min(0.05 * 2 ** (attempt - (first is None)), 1.0))
        try:
            return await js.publish(subject, payload, timeout=timeout, stream=stream, headers=headers)
        except (TimeoutError, NatsTimeoutError, APIError) as exc:
            if last is not None and isinstance(exc, APIError) and exc.err_code == WRONG_LAST_SEQUENCE:
                landed = await _landed_before(js, subject, payload, stream)
                if landed is not None:
                    return landed
            last = exc
    assert last is not None
    raise last


WRONG_LAST_SEQUENCE = 10071
"""JetStream's err_code for a refused ``Nats-Expected-Last-Subject-Sequence``."""


async def _landed_before(js: JetStreamContext, subject: str, payload: bytes, stream: str | None) -> PubAck | None:
    """The ack an earlier copy of ``payload`` would have had, if it is the last message on ``subject``."""
    try:
        name = stream or await js.find_stream_name_by_subject(subject)
        stored = await js.get_msg(name, subject=subject)
    except (TimeoutError, NatsTimeoutError, APIError):
        return None
    if stored.data != payload or stored.seq is None:
        return None
    return PubAck(stream=name, seq=stored.seq, duplicate=True)


@dataclass(slots=True)
class _InFlight:
    subject: str
    sealed: Sealed
    msg_id: str
    future: asyncio.Future[PubAck]
    headers: dict[str, str] = field(default_factory=dict)
    ack: PubAck | None = None
    error: BaseException | None = None
    settling: asyncio.Lock = field(default_factory=asyncio.Lock)


class ChainedProducer:
    """Appends events as one producer chain. Use ``async with`` or call ``register()`` then ``close()``."""

    def __init__(
        self,
        js: JetStreamContext,
        key: Ed25519PrivateKey,
        *,
        role: str,
        producer_id: str | None = None,
        max_bytes: int = MAX_EVENT_BYTES,
        ack_timeout: float = 5.0,
        retries: int = 3,
        max_in_flight: int = 2048,
    ) -> None:
        self._chain = ChainWriter(key, producer_id or f"{role}-{secrets.token_hex(6)}", role=role, max_bytes=max_bytes)
        self.role = self._chain.role
        self.producer_id = self._chain.producer_id
        self.public_key = self._chain.public_key
        self._js = js
        self._ack_timeout = ack_timeout
        self._retries = retries
        self._max_in_flight = max_in_flight
        self._lock = asyncio.Lock()
        self._in_flight: collections.deque[_InFlight] = collections.deque()
        self._broken: str | None = None

    # -- state ---------------------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Sequence of the last event handed to JetStream (0 before the first)."""
        return self._chain.seq

    @property
    def head(self) -> str:
        """Hash (hex) of the last event handed to JetStream."""
        return self._chain.head

    @property
    def broken(self) -> str | None:
        """Why the chain stopped, or None while it is healthy."""
        return self._broken

    # -- appending -----------------------------------------------------------------------------------

    async def register(self) -> PubAck:
        """Append this producer's ProducerKeyRegistered, the first event of its chain."""
        if self._chain.seq:
            raise RuntimeError("register() must be the first append of a producer")
        event = self._chain.registration(host=socket.gethostname(), pid=os.getpid(), software=SOFTWARE)
        return await self.publish(subjects.registry(self.producer_id), event)

    async def publish(self, subject: str, event: Event, *, msg_id: str | None = None) -> PubAck:
        """Append one event and wait for JetStream's acknowledgement.

        ``msg_id`` (default: the event id) is the ``Nats-Msg-Id``. Pass a caller-derived id only when the
        caller guarantees it is new (JetStream would drop a repeat and leave a hole in this chain); use
        :meth:`publish_once` when it may not be.
        """
        entry = await self._enqueue(subject, event, msg_id)
        try:
            return await self._settle(entry)
        finally:
            self._trim()

    def _trim(self) -> None:
        """Drop acknowledged entries from the front of the in-flight queue (they are settled in order)."""
        q = self._in_flight
        while q and (q[0].ack is not None or q[0].error is not None):
            q.popleft()

    async def publish_once(
        self, subject: str, event: Event, *, msg_id: str, headers: dict[str, str] | None = None
    ) -> PubAck:
        """Append ``event`` unless a message with ``msg_id`` is already in the stream's duplicate window.

        The append is synchronous under the chain lock: the chain advances only when JetStream stores the
        event. When the ack says ``duplicate`` and the stored message is another one, nothing was stored and
        the chain stays where it was, so a de-duplicated append never leaves a hole; ``ack.seq`` is then the
        sequence of the message stored first. When the stored message is this event (a retry whose first copy
        landed but whose ack was lost), the chain advances. Slower than :meth:`publish` (no pipelining while
        it waits): use it for retries, and for compare-and-set appends (``headers`` such as
        ``Nats-Expected-Last-Subject-Sequence``); a rejected compare-and-set raises
        :class:`~agentgov.streaming.errors.PublishError` and leaves the chain as it was.
        """
        async with self._lock:
            if self._broken:
                raise ProducerBrokenError(subject, self._broken)
            sealed = self._chain.seal(event, subject=subject)
            all_headers = {**(headers or {}), MSG_ID: msg_id}
            entry = _InFlight(subject, sealed, msg_id, asyncio.get_running_loop().create_future(), all_headers)
            try:
                ack = await self._js.publish(subject, sealed.payload, timeout=self._ack_timeout, headers=all_headers)
            except APIError as exc:
                if not _retryable(exc):
                    raise PublishError(subject, f"rejected by the stream: {exc.description or exc}") from exc
                ack = await self._retry(entry, exc)
            except (TimeoutError, NatsTimeoutError) as first:
                ack = await self._retry(entry, first)
            if not ack.duplicate or await self._stored_is(ack, sealed):
                self._chain.advance(sealed)
            return ack

    async def publish_nowait(self, subject: str, event: Event, *, msg_id: str | None = None) -> Sealed:
        """Append one event without waiting for its acknowledgement; ``flush()`` waits for all of them."""
        entry = await self._enqueue(subject, event, msg_id)
        if len(self._in_flight) > self._max_in_flight:
            await self._settle_oldest(len(self._in_flight) // 2)
        return entry.sealed

    async def flush(self) -> None:
        """Wait until every append so far is acknowledged; raise PublishError for one that is not."""
        await self._settle_oldest(len(self._in_flight))

    async def close(self) -> None:
        """Flush what is in flight."""
        if self._in_flight:
            await self.flush()

    async def __aenter__(self) -> ChainedProducer:
        await self.register()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- internals -----------------------------------------------------------------------------------

    async def _enqueue(self, subject: str, event: Event, msg_id: str | None = None) -> _InFlight:
        async with self._lock:
            if self._broken:
                raise ProducerBrokenError(subject, self._broken)
            sealed = self._chain.seal(event, subject=subject)
            msg_id = msg_id or sealed.event.id
            future = await self._js.publish_async(subject, sealed.payload, headers={MSG_ID: msg_id})
            self._chain.advance(sealed)
            entry = _InFlight(subject, sealed, msg_id, future)
            self._in_flight.append(entry)
            return entry

    async def _settle_oldest(self, n: int) -> None:
        for _ in range(n):
            if not self._in_flight:
                return
            entry = self._in_flight[0]
            await self._settle(entry)
            if self._in_flight and self._in_flight[0] is entry:
                self._in_flight.popleft()

    async def _settle(self, entry: _InFlight) -> PubAck:
        async with entry.settling:
            if entry.ack is not None:
                return entry.ack
            if entry.error is not None:
                raise entry.error
            try:
                entry.ack = await self._wait_ack(entry.future)
            except (TimeoutError, NatsTimeoutError, APIError) as first:
                entry.ack = await self._retry(entry, first)
            caller_id = entry.msg_id != entry.sealed.event.id
            if entry.ack.duplicate and caller_id and not await self._stored_is(entry.ack, entry.sealed):
                await self._dropped(entry)
            return entry.ack

    async def _stored_is(self, ack: PubAck, sealed: Sealed) -> bool:
        """Whether the message a ``duplicate`` ack points at is this very event.

        It is when an earlier copy of a retried append landed and only its ack was lost (a stalled server
        answers the first copy late): the event is in the stream and the chain must advance past it. It is
        not when another writer used the same message id first.
        """
        if not ack.stream or not ack.seq:
            return False
        try:
            stored = await self._js.get_msg(ack.stream, ack.seq)
        except (TimeoutError, NatsTimeoutError, APIError):
            return False
        return stored.data == sealed.payload

    async def _dropped(self, entry: _InFlight) -> None:
        """A caller-chosen msg id that was not new: JetStream did not store the event.

        If it is still the chain's newest event, the chain is wound back to before it (no hole); if later
        events were sealed on top of it, they point at a hash the stream will never hold, so the chain
        stops here and the owner starts a new one.
        """
        async with self._lock:
            if self._chain.seq == entry.sealed.event.chain.seq and self._chain.head == entry.sealed.digest.hex():
                self._chain.retract(entry.sealed)
                return
        self._break(entry, PublishError(entry.subject, f"message id {entry.msg_id!r} was a duplicate"))

    async def _wait_ack(self, future: asyncio.Future[PubAck]) -> PubAck:
        """The ack, or TimeoutError after ``ack_timeout``; the future itself is never cancelled (a retry may
        still be answered by it). Cheaper than ``wait_for(shield(...))``, which wraps it twice per event."""
        if not future.done():
            await asyncio.wait((future,), timeout=self._ack_timeout)
            if not future.done():
                raise TimeoutError(f"no ack within {self._ack_timeout:g} s")
        return future.result()

    async def _retry(self, entry: _InFlight, first: BaseException) -> PubAck:
        """Re-send the same bytes and headers (the same Nats-Msg-Id); JetStream drops it if the first one landed."""
        try:
            return await append_retrying(
                self._js,
                entry.subject,
                entry.sealed.payload,
                entry.headers or {MSG_ID: entry.msg_id},
                timeout=self._ack_timeout,
                retries=self._retries,
                first=first,
            )
        except (TimeoutError, NatsTimeoutError, APIError) as exc:
            self._break(entry, exc)
            raise AssertionError("unreachable") from exc  # pragma: no cover

    def _break(self, entry: _InFlight, exc: BaseException) -> None:
        why = f"event {entry.sealed.event.chain.seq} ({entry.msg_id}) was not acknowledged: {exc or type(exc).__name__}"
        self._broken = why
        entry.error = PublishError(entry.subject, why)
        raise entry.error from exc


def _retryable(exc: APIError) -> bool:
    # 503 = no responders / JetStream not ready; anything else (too large, no stream, ...) will not heal.
    return exc.code in (None, 503)
