"""Messages in → verifier and segment state → read-model rows and diagnostic events out (no I/O)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from agentgov.audit.domain import ChainVerifier, Observed, Problem
from agentgov.audit.seal import Segment
from agentgov.audit.store import Batch, DiagnosticRow, EventRow, ProducerKeyRow
from agentgov.contracts import subjects
from agentgov.contracts.envelope import Event
from agentgov.contracts.events import EVENT_TYPES, ChainBroken, MalformedEvent, tag_of
from agentgov.streaming.reader import StoredMsg


@dataclass(slots=True)
class Outcome:
    """What one batch produced: rows for the read model and diagnostics to append to GOV."""

    batch: Batch
    diagnostics: list[tuple[str, Event]] = field(default_factory=list)


class AuditProjector:
    """Verifies messages, grows the current segment and turns findings into rows and events."""

    def __init__(self, verifier: ChainVerifier, segment: Segment, *, sealed_upto: int = 0) -> None:
        self.verifier = verifier
        self.segment = segment
        self.sealed_upto = sealed_upto
        self._reported = len(verifier.problems)
        self.segment_producers: set[str] = set()
        self.counts = {"messages": 0, "malformed": 0, "broken": 0, "unknown_type": 0}

    def handle(self, msgs: list[StoredMsg]) -> Outcome:
        """Verify a batch (in stream order) and return what to write."""
        rows: list[EventRow] = []
        keys: list[ProducerKeyRow] = []
        diags: list[DiagnosticRow] = []
        out: list[tuple[str, Event]] = []
        for m in msgs:
            obs = self.verifier.observe(m.seq, m.subject, m.data)
            if m.seq > self.sealed_upto:
                self.segment.add(m.seq, obs.leaf, obs.status)
            row = _row(m, obs)
            rows.append(row)
            if obs.envelope is not None and obs.envelope.chain.producer in self.verifier.producers:
                self.segment_producers.add(obs.envelope.chain.producer)
            self.counts["messages"] += 1
            if row.status != "ok":
                self.counts[row.status] += 1
            if obs.registration is not None:
                r = obs.registration
                keys.append(
                    ProducerKeyRow(
                        producer=r.producer,
                        public_key=r.public_key,
                        key_id=r.key_id,
                        role=r.role,
                        stream_seq=m.seq,
                    )
                )
            if obs.status == "malformed":
                diags.append(DiagnosticRow(stream_seq=m.seq, kind="malformed", reason="undecodable", detail=obs.error))
                out.append(
                    (
                        subjects.MALFORMED,
                        MalformedEvent(
                            stream=self.verifier.stream,
                            stream_seq=m.seq,
                            subject=m.subject,
                            size=len(m.data),
                            payload_sha256=hashlib.sha256(m.data).hexdigest(),
                            error=obs.error[:500],
                        ),
                    )
                )
        self._collect_problems(diags, out)
        position = msgs[-1].seq if msgs else 0
        return Outcome(
            Batch(events=rows, diagnostics=diags, checkpoints=[], producer_keys=keys, position=position), out
        )

    def verify_heads(self) -> Outcome:
        """Before sealing: authenticate pending events by their producers' head signatures."""
        self.verifier.verify_heads()
        diags: list[DiagnosticRow] = []
        out: list[tuple[str, Event]] = []
        self._collect_problems(diags, out)
        return Outcome(Batch(events=[], diagnostics=diags, checkpoints=[], producer_keys=[], position=0), out)

    def _collect_problems(self, diags: list[DiagnosticRow], out: list[tuple[str, Event]]) -> None:
        new = self.verifier.problems[self._reported :]
        self._reported = len(self.verifier.problems)
        for p in new:
            diags.append(DiagnosticRow(stream_seq=p.stream_seq, kind="chain_broken", reason=p.reason, detail=p.detail))
            out.append((subjects.CHAIN_BROKEN, _broken(self.verifier.stream, p)))


def _broken(stream: str, p: Problem) -> ChainBroken:
    return ChainBroken(
        stream=stream,
        stream_seq=p.stream_seq,
        reason=p.reason,
        detail=p.detail,
        producer=p.producer,
        expected_seq=p.expected_seq,
        got_seq=p.got_seq,
    )


KNOWN_TYPES = frozenset(tag_of(t) for t in EVENT_TYPES)


def _row(m: StoredMsg, obs: Observed) -> EventRow:
    env = obs.envelope
    if env is None:
        return EventRow(
            stream_seq=m.seq,
            subject=m.subject,
            type="",
            status=obs.status,
            leaf=obs.leaf.hex(),
            ts=m.ts,
            size=len(m.data),
        )
    return EventRow(
        stream_seq=m.seq,
        subject=m.subject,
        type=env.type,
        status="unknown_type" if obs.status == "ok" and env.type not in KNOWN_TYPES else obs.status,
        leaf=obs.leaf.hex(),
        event_id=env.id,
        producer=env.chain.producer,
        producer_seq=env.chain.seq,
        agent=env.agent,
        team=env.team,
        org=env.org,
        verdict=env.verdict,
        ts=env.ts,
        trace_id=env.trace_id,
        size=len(m.data),
    )
