"""Stored messages in, approval changes out, and the events the service appends.

:class:`Handler` decodes each message cheaply first (the envelope: decisions that are not reviews are
skipped without decoding the whole event), applies the rest to the :class:`~agentgov.approval.domain
.Approvals` projection, and turns undecodable bytes into ``malformed`` diagnostics. :func:`requested_event`
and :func:`expired_event` build the appends, each with the ``Nats-Msg-Id`` that makes it idempotent
(:func:`request_msg_id`, :func:`expiry_msg_id`).
"""

from __future__ import annotations

from dataclasses import dataclass

from agentgov.approval.domain import ApprovalRecord, Approvals, Changes
from agentgov.contracts import codec
from agentgov.contracts.errors import DecodeError, UnknownEventTypeError
from agentgov.contracts.events import ApprovalExpired, ApprovalRequested
from agentgov.streaming.reader import StoredMsg

DECISION_PREFIX = "gov.decision."


@dataclass(slots=True)
class HandlerStats:
    """Counters, for health."""

    applied: int = 0
    skipped: int = 0
    unknown_types: int = 0
    malformed: int = 0


class Handler:
    """Applies stored messages to the projection."""

    def __init__(self, approvals: Approvals) -> None:
        self.approvals = approvals
        self.stats = HandlerStats()

    def apply(self, msg: StoredMsg, changes: Changes) -> None:
        """Apply one message; bad bytes become a diagnostic and change nothing."""
        try:
            body, _ = codec.split_lazy(msg.data)
            if msg.subject.startswith(DECISION_PREFIX):
                envelope = codec.decode_envelope(body)
                if envelope.verdict != "review":
                    self.stats.skipped += 1
                    return
            event = codec.decode_event(body)
        except UnknownEventTypeError:
            self.stats.unknown_types += 1  # written by a newer producer; audit indexes it
            return
        except DecodeError as exc:
            self.stats.malformed += 1
            self.approvals.malformed(msg.seq, f"{msg.subject}: {exc}", changes)
            return
        self.approvals.apply(event, msg.seq, changes)
        self.stats.applied += 1


def request_msg_id(approval_id: str) -> str:
    """``Nats-Msg-Id`` of an approval's ApprovalRequested: one per approval, whoever appends it."""
    return f"approval:{approval_id}"


def expiry_msg_id(approval_id: str) -> str:
    """``Nats-Msg-Id`` of an approval's ApprovalExpired."""
    return f"approval-expired:{approval_id}"


def requested_event(r: ApprovalRecord) -> ApprovalRequested:
    """The ApprovalRequested for an opened approval."""
    return ApprovalRequested(
        agent=r.agent,
        org=r.org,
        team=r.team,
        approval_id=r.approval_id,
        request_id=r.request_id,
        action_hash=r.action_hash,
        action=r.action,
        rules=list(r.rules),
        reasons=list(r.reasons),
        risk=r.risk,
        expires_ns=r.expires_ns,
        fallback=r.fallback,
    )


def expired_event(r: ApprovalRecord) -> ApprovalExpired:
    """The ApprovalExpired for an approval nobody resolved in time."""
    return ApprovalExpired(
        agent=r.agent, org=r.org, team=r.team, approval_id=r.approval_id, action_hash=r.action_hash, fallback=r.fallback
    )
