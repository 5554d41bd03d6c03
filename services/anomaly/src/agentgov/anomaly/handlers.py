"""Message in → decode → the domain → AnomalyDetected / AgentPaused out.

Appends are idempotent twice over: each event's id is derived from the event that triggered it (see
:func:`~agentgov.anomaly.domain.derived_id`) and is its ``Nats-Msg-Id`` (``pause-<anomaly id>`` for the
AgentPaused), and the ids already on the stream after the snapshot position are read before resuming
(:func:`~agentgov.anomaly.store.already_emitted`) and never appended again, even outside JetStream's
duplicate window (``--rebuild``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from agentgov.anomaly.domain import Anomalies, Finding
from agentgov.anomaly.errors import BadEventError, UnknownAgentError
from agentgov.contracts import codec, subjects
from agentgov.contracts.envelope import Event
from agentgov.contracts.errors import DecodeError, UnknownEventTypeError
from agentgov.contracts.events import ActionDecided, AgentPaused, SpendRecorded
from agentgov.contracts.events_anomaly import AnomalyDetected
from agentgov.streaming.reader import StoredMsg

log = logging.getLogger("agentgov.anomaly")

SUBJECT_PREFIXES: Final = ("gov.decision.", "gov.spend.", "gov.registry.", "gov.anomaly.", "gov.policy")
"""What the projection reads; everything else on GOV is passed over without decoding."""
LOGGED_PER_REASON: Final = 20
"""Skipped events are logged one by one up to this many per reason, then only counted."""

Publish = Callable[[str, Event, str], Awaitable[bool]]
"""``publish(subject, event, msg_id)`` appends once; True when stored, False when it was a duplicate."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A stored message the projection refused (it changed no state), for an EventRejected."""

    msg: StoredMsg
    reason: str
    detail: str
    event_type: str = ""
    event_id: str = ""
    agent: str | None = None


Reject = Callable[[Refusal], Awaitable[None]]
"""``reject(refusal)`` records the refusal on the stream (once per stream sequence)."""


async def _no_record(_: Refusal) -> None:
    return None


@dataclass(slots=True)
class Emitted:
    """Ids of AnomalyDetected (and the anomaly ids of AgentPaused) already on the stream."""

    anomalies: set[str] = field(default_factory=set)
    pauses: set[str] = field(default_factory=set)

    def note(self, event: object) -> None:
        """Remember an AnomalyDetected or an AgentPaused written by the anomaly service."""
        if isinstance(event, AnomalyDetected):
            self.anomalies.add(event.id)
        elif isinstance(event, AgentPaused) and event.anomaly_id:
            self.pauses.add(event.anomaly_id)


@dataclass(slots=True)
class Counters:
    """What the handler did, for health."""

    applied: int = 0
    findings: int = 0
    pauses: int = 0
    repeats: int = 0
    malformed: int = 0
    unknown_types: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


class Handler:
    """Applies stored messages in order and appends what they raise."""

    def __init__(
        self,
        anomalies: Anomalies,
        publish: Publish,
        emitted: Emitted,
        *,
        max_skew_s: float,
        reject: Reject = _no_record,
    ) -> None:
        self.anomalies = anomalies
        self.publish = publish
        self.reject = reject
        self.emitted = emitted
        self.max_skew_ns = int(max_skew_s * 1e9)
        self.counters = Counters()

    async def handle(self, msg: StoredMsg) -> None:
        """One stored message: apply it, append its findings (and pause), or skip it with a log line."""
        if not msg.subject.startswith(SUBJECT_PREFIXES):
            self.anomalies.state.position = max(self.anomalies.state.position, msg.seq)
            return
        try:
            event = codec.decode_event(codec.split_lazy(msg.data)[0])
        except UnknownEventTypeError as exc:
            self.counters.unknown_types[exc.type_tag] = self.counters.unknown_types.get(exc.type_tag, 0) + 1
            self.anomalies.state.position = max(self.anomalies.state.position, msg.seq)
            return
        except DecodeError as exc:
            self.counters.malformed += 1
            self._skip("malformed", f"skipped malformed message at stream seq {msg.seq} ({msg.subject}): {exc}")
            await self.reject(Refusal(msg, "malformed", f"not an event: {exc}"))
            self.anomalies.state.position = max(self.anomalies.state.position, msg.seq)
            return
        try:
            skew = abs(event.ts - msg.ts) if msg.ts else 0
            if isinstance(event, ActionDecided | SpendRecorded) and skew > self.max_skew_ns:
                why = f"its ts is {skew / 1e9:.0f} s from its store time"
                raise BadEventError(type(event).__name__, event.id, why, code="clock_skew")
            findings = self.anomalies.observe(event, msg.seq)
        except BadEventError as exc:
            self._skip(exc.code, f"{exc} (stream seq {msg.seq})")
            known = None if isinstance(exc, UnknownAgentError) else event.agent
            await self.reject(Refusal(msg, exc.code, exc.why, exc.event_type, exc.event_id, known))
            self.anomalies.state.position = max(self.anomalies.state.position, msg.seq)
            return
        self.counters.applied += 1
        for f in findings:
            await self._emit(f)

    async def _emit(self, f: Finding) -> None:
        if f.id in self.emitted.anomalies:
            self.counters.repeats += 1
        else:
            stored = await self.publish(subjects.anomaly(f.agent), anomaly_event(f), f.id)
            self.emitted.anomalies.add(f.id)
            self.counters.findings += stored
            self.counters.repeats += not stored
            log.log(
                logging.WARNING if f.severity >= 50 else logging.INFO,
                "anomaly %s %s (severity %d, response %s): %s",
                f.agent,
                f.kind,
                f.severity,
                f.response,
                f.explanation,
            )
        if f.pause and f.id not in self.emitted.pauses:
            stored = await self.publish(subjects.anomaly(f.agent), pause_event(f), f"pause-{f.id}")
            self.emitted.pauses.add(f.id)
            self.counters.pauses += stored
            log.warning("paused %s (anomaly %s): %s", f.agent, f.id, f.explanation)

    def _skip(self, reason: str, line: str) -> None:
        n = self.counters.skipped[reason] = self.counters.skipped.get(reason, 0) + 1
        if n <= LOGGED_PER_REASON:
            log.warning("%s%s", line, " (further ones of this kind are only counted)" if n == LOGGED_PER_REASON else "")


def anomaly_event(f: Finding) -> AnomalyDetected:
    """The AnomalyDetected of a finding (its id and time are the finding's)."""
    return AnomalyDetected(
        id=f.id,
        ts=f.ts,
        agent=f.agent,
        team=f.team,
        org=f.org,
        kind=f.kind,
        severity=f.severity,
        explanation=f.explanation,
        response=f.response,
        observed=f.observed,
        baseline=f.baseline,
        unit=f.unit,
        window_s=f.window_s,
        events=list(f.events),
    )


def pause_event(f: Finding) -> AgentPaused:
    """The AgentPaused a pausing finding appends (``by="anomaly"``, ``anomaly_id`` = the finding's id)."""
    return AgentPaused(
        id=f.pause_id,
        ts=f.ts,
        agent=f.agent,
        team=f.team,
        org=f.org,
        reason=f.explanation,
        by="anomaly",
        anomaly_id=f.id,
    )
