"""The approval service's functional core: approvals as a projection of the stream. Pure: no NATS, no SQL.

An approval is named by the id of the ActionDecided whose verdict was ``review`` and bound to the hash of
its sanitized action (:func:`agentgov.contracts.events_approval.action_hash`). :class:`Approvals` applies
events in stream order:

- a review ActionDecided opens an approval (``pending``, not yet *requested*), with ``expires_ns`` =
  decision time + the bundle's ``approval_timeout_s`` and its ``approval_fallback``;
- ApprovalRequested marks it requested (and opens it if the decision was not seen, e.g. after a rebuild
  that starts later); a second one for the same approval is a diagnostic;
- the **first** ApprovalGranted / ApprovalDenied / ApprovalExpired in stream order resolves it; later ones
  are diagnostics (``late``). Granted and Denied count only when signed by a trusted operator key whose
  ``approver`` role covers the agent's org and team (``forged`` otherwise);
- anything for an approval never opened is ``unknown``; undecodable bytes are ``malformed``.

Every change is collected in :class:`Changes` (rows to write, diagnostics, notices for the notifiers), so
the caller commits them with the stream position in one transaction. What to append next is asked, not
decided here: :meth:`Approvals.to_request` (opened, not yet requested) and :meth:`Approvals.due` (requested,
pending, past ``expires_ns``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

import msgspec

from agentgov.contracts.events import (
    Action,
    ActionDecided,
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    ApprovalRequested,
    KnownEvent,
    Verdict,
)
from agentgov.contracts.events_approval import ApprovalStatus, action_hash
from agentgov.identity.approvals import verify_resolution
from agentgov.identity.operators import TrustStore

Status = ApprovalStatus
DiagnosticKind = Literal["malformed", "unknown", "forged", "late", "duplicate", "invalid"]

DEFAULT_TIMEOUT_S: Final = 900
"""When a review's ActionDecided carries no ``approval_timeout_s`` (written by an older policy)."""


class ApprovalRecord(msgspec.Struct, kw_only=True):
    """One approval and everything the history keeps about it."""

    approval_id: str
    agent: str
    org: str | None = None
    team: str | None = None
    request_id: str = ""
    action_hash: str
    action: Action
    rules: list[str] = []
    reasons: list[str] = []
    risk: int = 0
    fallback: Verdict = "deny"
    decided_ns: int = 0
    expires_ns: int
    decision_seq: int = 0
    status: Status = "pending"
    requested_seq: int = 0
    """Stream sequence of its ApprovalRequested (0 until it is on the stream)."""
    resolved_seq: int = 0
    resolved_ns: int = 0
    resolver: str = ""
    """Key id of the approver (empty for an expiry)."""
    resolver_name: str = ""
    reason: str = ""


class Diagnostic(msgspec.Struct, frozen=True, kw_only=True):
    """An approval event that changed nothing, and why."""

    stream_seq: int
    kind: DiagnosticKind
    approval_id: str = ""
    detail: str = ""


Notice = tuple[str, ApprovalRecord]
"""(event type, the record after it) for the notifiers."""


@dataclass(slots=True)
class Changes:
    """What applying a batch changed."""

    rows: dict[str, ApprovalRecord] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notices: list[tuple[Notice, int]] = field(default_factory=list)
    """Each notice with the event's time (ns), so the caller can skip old ones on replay."""


class Approvals:
    """The approvals the service tracks, by id."""

    def __init__(self, trust: TrustStore, records: Iterable[ApprovalRecord] = ()) -> None:
        self.trust = trust
        self.by_id: dict[str, ApprovalRecord] = {r.approval_id: r for r in records}

    def apply(self, event: KnownEvent, seq: int, changes: Changes) -> None:
        """Apply one event at stream sequence ``seq``; record what changed in ``changes``."""
        match event:
            case ActionDecided(verdict="review", approval_id=None):
                self._decided(event, seq, changes)
            case ActionDecided(verdict="review"):
                pass  # a waiting guard's re-ask: it names the approval it waits for and opens none
            case ApprovalRequested():
                self._requested(event, seq, changes)
            case ApprovalGranted() | ApprovalDenied():
                self._resolved(event, seq, changes)
            case ApprovalExpired():
                self._expired(event, seq, changes)
            case _:
                pass

    def malformed(self, seq: int, why: str, changes: Changes) -> None:
        """Bytes on an approval or decision subject that are not an event."""
        changes.diagnostics.append(Diagnostic(stream_seq=seq, kind="malformed", detail=why[:500]))

    def to_request(self) -> list[ApprovalRecord]:
        """Opened approvals whose ApprovalRequested is not on the stream yet, oldest first."""
        return sorted(
            (r for r in self.by_id.values() if r.status == "pending" and not r.requested_seq),
            key=lambda r: r.decision_seq,
        )

    def due(self, now_ns: int) -> list[ApprovalRecord]:
        """Requested approvals still pending at ``now_ns`` past their expiry, oldest first."""
        return sorted(
            (r for r in self.by_id.values() if r.status == "pending" and r.requested_seq and r.expires_ns <= now_ns),
            key=lambda r: r.expires_ns,
        )

    def pending(self) -> int:
        """How many approvals are pending."""
        return sum(1 for r in self.by_id.values() if r.status == "pending")

    # -- events ----------------------------------------------------------------------------------------

    def _decided(self, event: ActionDecided, seq: int, changes: Changes) -> None:
        if event.id in self.by_id:
            return  # replayed: already open
        if event.agent is None or not event.id:
            changes.diagnostics.append(
                Diagnostic(stream_seq=seq, kind="invalid", approval_id=event.id, detail="review decision has no agent")
            )
            return
        timeout_s = event.approval_timeout_s if event.approval_timeout_s is not None else DEFAULT_TIMEOUT_S
        record = ApprovalRecord(
            approval_id=event.id,
            agent=event.agent,
            org=event.org,
            team=event.team,
            request_id=event.request_id,
            action_hash=action_hash(event.agent, event.action),
            action=event.action,
            rules=[r.id for r in event.rules],
            reasons=list(event.reasons),
            risk=event.risk,
            fallback=event.approval_fallback or "deny",
            decided_ns=event.ts,
            expires_ns=event.ts + timeout_s * 1_000_000_000,
            decision_seq=seq,
        )
        self.by_id[record.approval_id] = changes.rows[record.approval_id] = record

    def _requested(self, event: ApprovalRequested, seq: int, changes: Changes) -> None:
        record = self.by_id.get(event.approval_id)
        if record is None:
            if event.agent is None:
                changes.diagnostics.append(
                    Diagnostic(stream_seq=seq, kind="invalid", approval_id=event.approval_id, detail="no agent")
                )
                return
            record = ApprovalRecord(
                approval_id=event.approval_id,
                agent=event.agent,
                org=event.org,
                team=event.team,
                request_id=event.request_id,
                action_hash=event.action_hash,
                action=event.action,
                rules=list(event.rules),
                reasons=list(event.reasons),
                risk=event.risk,
                fallback=event.fallback,
                decided_ns=event.ts,
                expires_ns=event.expires_ns,
            )
            self.by_id[record.approval_id] = record
        elif record.requested_seq:
            if record.requested_seq != seq:
                detail = f"already requested at stream seq {record.requested_seq}"
                changes.diagnostics.append(
                    Diagnostic(stream_seq=seq, kind="duplicate", approval_id=event.approval_id, detail=detail)
                )
            return
        record.requested_seq = seq
        changes.rows[record.approval_id] = record
        changes.notices.append((("ApprovalRequested", record), event.ts))

    def _resolved(self, event: ApprovalGranted | ApprovalDenied, seq: int, changes: Changes) -> None:
        record = self._open(event.approval_id, type(event).__name__, seq, changes)
        if record is None:
            return
        why = verify_resolution(self.trust, event, record.action_hash, record.org, record.team)
        if why is not None:
            changes.diagnostics.append(
                Diagnostic(stream_seq=seq, kind="forged", approval_id=event.approval_id, detail=why)
            )
            return
        record.status = "granted" if isinstance(event, ApprovalGranted) else "denied"
        record.resolver, record.resolver_name, record.reason = event.approver, event.approver_name, event.reason
        self._close(record, event.ts, seq, changes, type(event).__name__)

    def _expired(self, event: ApprovalExpired, seq: int, changes: Changes) -> None:
        record = self._open(event.approval_id, "ApprovalExpired", seq, changes)
        if record is None:
            return
        record.status, record.fallback = "expired", event.fallback
        self._close(record, event.ts, seq, changes, "ApprovalExpired")

    def _open(self, approval_id: str, what: str, seq: int, changes: Changes) -> ApprovalRecord | None:
        """The approval a resolution is for, if it is known and still pending; a diagnostic otherwise."""
        record = self.by_id.get(approval_id)
        if record is None:
            detail = f"{what} for an approval that was never requested"
            changes.diagnostics.append(
                Diagnostic(stream_seq=seq, kind="unknown", approval_id=approval_id, detail=detail)
            )
            return None
        if record.status != "pending":
            if record.resolved_seq == seq:
                return None  # replayed: this is the resolution already applied
            who = f" by {record.resolver_name or record.resolver}" if record.resolver else ""
            detail = f"{what} ignored: already {record.status}{who} at stream seq {record.resolved_seq}"
            changes.diagnostics.append(Diagnostic(stream_seq=seq, kind="late", approval_id=approval_id, detail=detail))
            return None
        return record

    def _close(self, record: ApprovalRecord, ts: int, seq: int, changes: Changes, what: str) -> None:
        record.resolved_seq, record.resolved_ns = seq, ts
        changes.rows[record.approval_id] = record
        changes.notices.append(((what, record), ts))
