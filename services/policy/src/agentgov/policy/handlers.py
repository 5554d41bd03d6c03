"""The decision path (DESIGN.md §4): CheckAction in, ActionDecided on the record, Decision out.

For every request on ``gov.check.<agent>``:

1. read it defensively: oversized, undecodable, mistyped or incomplete requests and unsafe ids become a
   deny with a contracts ``DenyCode`` (never a crash), and are recorded like any other decision;
2. a request id this replica has already seen returns the decision recorded for it (``duplicate``);
3. :func:`agentgov.policy.domain.decide` gates and evaluates (pure); rate limits are charged through the
   limiter (in process, or Redis shared by every replica);
4. the ActionDecided is appended and **acknowledged by JetStream before the reply**. Its ``Nats-Msg-Id``
   is ``<agent>:<request_id>``: a retry (``attempt`` > 1) that reaches another replica is appended with
   :meth:`~agentgov.streaming.producer.ChainedProducer.publish_once`, so JetStream de-duplicates it, the
   chain keeps no hole, and the reply is the decision recorded first;
5. the Decision is the reply. If the decision cannot be recorded the reply is a deny (fail closed).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from agentgov.contracts import codec, subjects
from agentgov.contracts.errors import DecodeError, InvalidIdError
from agentgov.contracts.events import Action, ActionDecided, DenyCode
from agentgov.contracts.ids import check_token, uuid7
from agentgov.contracts.requests import CheckAction, Decision
from agentgov.contracts.streams import GOV
from agentgov.policy import approvals
from agentgov.policy.budget import BudgetGate
from agentgov.policy.domain import Outcome, decide, decided_event, deny, finalize
from agentgov.policy.projection import Projection
from agentgov.policy.ratelimit import Limiter
from agentgov.streaming.errors import StreamingError
from agentgov.streaming.producer import ChainedProducer

log = logging.getLogger(__name__)

CHECK_PREFIX = "gov.check."
DEDUP_WINDOW_NS = 600 * 1_000_000_000
"""How long a request id is remembered in process (the stream's duplicate window is the same)."""

_decode_check = msgspec.json.Decoder(CheckAction).decode
_decode_loose = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode
_decode_decision = msgspec.json.Decoder(Decision).decode


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request that could not be read; it is denied and recorded without evaluating the policy."""

    code: DenyCode
    why: str
    request_id: str
    trace_id: str | None = None


def read_request(data: bytes, subject_agent: str, max_bytes: int) -> CheckAction | Rejection:
    """Decode a CheckAction, or say precisely why it is refused."""
    if len(data) > max_bytes:
        return Rejection("oversized_request", f"request of {len(data)} bytes is over the {max_bytes}-byte limit", "")
    try:
        check = _decode_check(data)
    except msgspec.ValidationError as exc:
        loose = _salvage(data)
        code: DenyCode = "incomplete_request" if "missing required field" in str(exc) else "bad_request"
        return Rejection(code, f"invalid CheckAction: {exc}", *loose)
    except msgspec.DecodeError as exc:
        return Rejection("bad_request", f"request is not JSON: {exc}", "")
    try:
        check_token("request", check.request_id)
        check_token("agent", check.agent)
        if check.session is not None:
            check_token("session", check.session)
    except InvalidIdError as exc:
        return Rejection("invalid_id", str(exc), *_salvage(data))
    if check.agent != subject_agent:
        return Rejection(
            "agent_mismatch",
            f"request for agent {check.agent!r} was sent on the subject of agent {subject_agent!r}",
            check.request_id,
            check.trace_id,
        )
    return check


def _salvage(data: bytes) -> tuple[str, str | None]:
    """A usable request id and trace id from a request that did not decode as a CheckAction."""
    try:
        loose = _decode_loose(data)
    except msgspec.DecodeError:
        return "", None
    rid, trace = loose.get("request_id"), loose.get("trace_id")
    try:
        rid = check_token("request", rid)
    except InvalidIdError:
        rid = ""
    trace = trace if isinstance(trace, str) and len(trace) <= 128 else None
    return rid, trace


@dataclass(slots=True)
class Stats:
    """Counters, for health and benchmarks."""

    decided: int = 0
    rejected: int = 0
    duplicates: int = 0
    overloaded: int = 0
    late: int = 0
    unrecorded: int = 0


class DecisionPath:
    """Serves ``gov.check.*`` for one replica."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        world: Projection,
        limiter: Limiter,
        producer: Callable[[], Coroutine[Any, Any, ChainedProducer]],
        *,
        max_bytes: int,
        max_in_flight: int,
        dedup_entries: int,
        tickets: approvals.TicketSigner | None = None,
        budget: BudgetGate | None = None,
    ) -> None:
        self._tickets = tickets
        self._budget = budget
        self._nc = nc
        self._js = js
        self._world = world
        self._limiter = limiter
        self._new_producer = producer
        self._producer: ChainedProducer | None = None
        self._rotating = asyncio.Lock()
        self._max_bytes = max_bytes
        self._max_in_flight = max_in_flight
        self._dedup_entries = dedup_entries
        self._recent: collections.OrderedDict[str, tuple[int, asyncio.Future[bytes] | bytes]] = (
            collections.OrderedDict()
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = Stats()

    async def start(self) -> None:
        """Register this replica's producer chain."""
        self._producer = await self._new_producer()

    @property
    def producer_id(self) -> str:
        """The current producer chain of this replica."""
        return self._producer.producer_id if self._producer else ""

    async def on_msg(self, msg: Msg) -> None:
        """Subscription callback: decide each request in its own task (callbacks run one at a time)."""
        if len(self._tasks) >= self._max_in_flight:
            self.stats.overloaded += 1
            await self._reply(msg, _unrecorded("", "replica overloaded; try another replica or slow down"))
            return
        task = asyncio.get_running_loop().create_task(self.handle(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for requests in flight (on shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def handle(self, msg: Msg) -> None:
        """Decide one request, record it, reply."""
        started = time.perf_counter_ns()
        now_ns = time.time_ns()
        subject_agent = msg.subject[len(CHECK_PREFIX) :]
        request = read_request(msg.data, subject_agent, self._max_bytes)
        rid = request.request_id
        # Only readable requests are de-duplicated: a corrected retry of a rejected one is decided afresh.
        key = f"{subject_agent}:{rid}" if isinstance(request, CheckAction) else ""
        if key:
            seen = self._remembered(key, now_ns)
            if seen is not None:
                self.stats.duplicates += 1
                first = seen if isinstance(seen, bytes) else await asyncio.shield(seen)
                decision = msgspec.structs.replace(_decode_decision(first), duplicate=True)
                await self._send(msg, _encode(decision))
                return
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        if key:
            self._remember(key, now_ns, future)
        try:
            decision = await self._decide_and_record(request, subject_agent, key, now_ns, started)
        except BaseException as exc:
            data = _encode(_unrecorded(rid, f"decision could not be recorded: {exc}"))
            self._forget(key)
            future.set_result(data)
            await self._send(msg, data)
            if not isinstance(exc, Exception):
                raise
            log.exception("request %s on %s failed", rid, msg.subject)
            return
        data = _encode(decision)
        future.set_result(data)
        if key:
            self._settled(key, data)
        await self._send(msg, data)

    async def _decide_and_record(
        self, request: CheckAction | Rejection, subject_agent: str, key: str, now_ns: int, started: int
    ) -> Decision:
        if isinstance(request, Rejection):
            self.stats.rejected += 1
            event = _rejected_event(request, subject_agent)
            attempt = 1
        else:
            outcome = await self._outcome(request, now_ns)
            event = decided_event(request, outcome, (time.perf_counter_ns() - started) // 1000, now_ns)
            attempt = request.attempt
        agent_token = event.agent or "invalid-agent"
        msg_id = key or event.id
        producer = await self._current_producer()
        subject = subjects.decision(agent_token)
        try:
            if event.approval_id is not None and event.verdict == "allow":
                event, ack = await approvals.record_use(producer, subject, event, msg_id)
            elif attempt > 1 and key:
                ack = await producer.publish_once(subject, event, msg_id=msg_id)
            else:
                ack = await producer.publish(subject, event, msg_id=msg_id)
        except StreamingError:
            await self._rotate(producer)
            raise
        if ack.duplicate:  # a retry (marked or not) that this or another replica decided first
            self.stats.duplicates += 1
            return await self._recorded(ack.seq, started)
        self.stats.decided += 1
        sessions = self._world.sessions
        if event.session is not None:
            sessions.apply(event)  # this replica's next request in the session sees it at once
        decision = _decision(event, ack.seq, (time.perf_counter_ns() - started) // 1000)
        if event.approval_id is not None and event.verdict == "allow":
            self._world.approvals.apply(event)  # used: the next re-ask on this replica is refused at once
            decision = self._ticketed(decision, event)
        return decision

    def _ticketed(self, decision: Decision, event: ActionDecided) -> Decision:
        """The allow that carries out an approval, with its single-use execution ticket."""
        if self._tickets is None or event.agent is None or event.approval_id is None:
            return decision
        ticket = self._tickets.mint(
            agent=event.agent,
            action_hash=approvals.action_hash(event.agent, event.action),
            approval_id=event.approval_id,
            now_s=time.time(),
        )
        return msgspec.structs.replace(decision, ticket=ticket)

    async def _outcome(self, check: CheckAction, now_ns: int) -> Outcome:
        if check.deadline_ms is not None and now_ns // 1_000_000 > check.deadline_ms:
            self.stats.late += 1
            why = f"the request's deadline ({check.deadline_ms} ms) passed before it was decided"
            return deny(check, self._world.world, "deadline_exceeded", why)
        # budget: only checks whose bundle has a budget section touch the ledger (agentgov.policy.budget)
        spend = await self._budget.read(check, self._world.world, now_ns) if self._budget is not None else None
        outcome = decide(check, self._world.world, now_ns, spend.view if spend is not None else None)
        if outcome.charges:
            exceeded = await self._limiter.hit(outcome.charges, now_ns)
            outcome = finalize(outcome, exceeded)
        outcome = approvals.resolve(check, outcome, self._world.approvals, now_ns)
        if spend is not None and self._budget is not None:
            outcome = await self._budget.reserve(check, outcome, spend, now_ns)
        return outcome

    async def _recorded(self, seq: int, started: int) -> Decision:
        """The decision stored first for a de-duplicated retry."""
        raw = await self._js.get_msg(GOV, seq)
        body, _ = codec.split(raw.data or b"")
        event = codec.decode_event(body)
        if not isinstance(event, ActionDecided):
            raise DecodeError(f"stream sequence {seq} is a {type(event).__name__}, not an ActionDecided")
        return msgspec.structs.replace(
            _decision(event, seq, (time.perf_counter_ns() - started) // 1000), duplicate=True
        )

    async def _current_producer(self) -> ChainedProducer:
        producer = self._producer
        if producer is None or producer.broken:
            async with self._rotating:
                if self._producer is None or self._producer.broken:
                    self._producer = await self._new_producer()
                producer = self._producer
        return producer

    async def _rotate(self, broken: ChainedProducer) -> None:
        async with self._rotating:
            if self._producer is broken:
                log.warning("producer %s stopped (%s); starting a new chain", broken.producer_id, broken.broken)
                self._producer = None

    async def _reply(self, msg: Msg, decision: Decision) -> None:
        await self._send(msg, _encode(decision))

    async def _send(self, msg: Msg, data: bytes) -> None:
        if not msg.reply:
            return
        try:
            await self._nc.publish(msg.reply, data)
        except Exception as exc:
            log.warning("could not reply to %s: %s", msg.subject, exc)

    # -- request ids seen by this replica -------------------------------------------------------------

    def _remembered(self, key: str, now_ns: int) -> asyncio.Future[bytes] | bytes | None:
        entry = self._recent.get(key)
        if entry is None:
            return None
        if now_ns - entry[0] > DEDUP_WINDOW_NS:
            del self._recent[key]
            return None
        return entry[1]

    def _remember(self, key: str, now_ns: int, future: asyncio.Future[bytes]) -> None:
        self._recent[key] = (now_ns, future)
        while len(self._recent) > self._dedup_entries:
            self._recent.popitem(last=False)

    def _settled(self, key: str, data: bytes) -> None:
        """Keep the reply's bytes instead of its future: bytes are not tracked by the garbage collector, so
        a full map of recent requests costs collections nothing."""
        entry = self._recent.get(key)
        if entry is not None:
            self._recent[key] = (entry[0], data)

    def _forget(self, key: str) -> None:
        if key:
            self._recent.pop(key, None)


# -- building events and replies ---------------------------------------------------------------------


def _rejected_event(rej: Rejection, subject_agent: str) -> ActionDecided:
    try:
        agent: str | None = check_token("agent", subject_agent)
    except InvalidIdError:
        agent = None
    return ActionDecided(
        id=uuid7(),
        agent=agent,
        trace_id=rej.trace_id,
        request_id=rej.request_id or "unreadable",
        action=Action(kind="other"),
        verdict="deny",
        claim="denied_before_execution",
        reasons=[rej.why],
        code=rej.code,
    )


def _decision(event: ActionDecided, seq: int, latency_us: int) -> Decision:
    return Decision(
        request_id=event.request_id,
        verdict=event.verdict,
        claim=event.claim,
        risk=event.risk,
        rules=list(event.rules),
        reasons=list(event.reasons),
        errors=list(event.errors),
        evidence=list(event.evidence),
        redactions=list(event.redactions),
        action=event.action if event.verdict == "redact" else None,
        code=event.code,
        policy_revision=event.policy_revision,
        decision_id=event.id,
        stream_seq=seq,
        latency_us=latency_us,
        trace_id=event.trace_id,
        risk_parts=list(event.risk_parts),
        approval_id=event.approval_id,
    )


def _unrecorded(request_id: str, why: str) -> Decision:
    """A fail-closed deny that is not on the record (the record itself failed, or the replica is full)."""
    return Decision(
        request_id=request_id,
        verdict="deny",
        claim="denied_before_execution",
        code="policy_unavailable",
        reasons=[why],
    )
