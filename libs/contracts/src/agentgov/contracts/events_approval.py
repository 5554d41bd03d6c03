"""Approval events (DESIGN.md §2: ``gov.approval.<agent>``).

An approval is named by the id of the ActionDecided that asked for it (``approval_id`` = that decision's
``id``, which the SDK's :class:`ActionPending` carries) and bound to ``action_hash``: the hex SHA-256 of
:func:`agentgov.contracts.codec.canonical` of an :class:`ApprovalSubject` (agent + sanitized action). A grant
applies to that exact action only. Resolutions are ordered by the stream: the first ApprovalGranted,
ApprovalDenied or ApprovalExpired of an approval wins, and every consumer sees the same winner.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec

from agentgov.contracts import codec
from agentgov.contracts.actions import Action, Verdict
from agentgov.contracts.envelope import Event


class ApprovalSubject(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What an approval is bound to; its canonical bytes are hashed into ``action_hash``."""

    agent: str
    action: Action


ApprovalStatus = Literal["pending", "granted", "denied", "expired"]
"""Where an approval stands, as every projection of the approval events sees it."""

TICKET_AUDIENCE = "agentgov-executor"
"""The ``aud`` of execution tickets (JWT, EdDSA) that the policy mints on a granted approval."""


def action_hash(agent: str, action: Action) -> str:
    """The hex SHA-256 of the canonical bytes of ``ApprovalSubject(agent, action)``: what an approval and an
    execution ticket are bound to. ``action`` is the sanitized action as recorded in the ActionDecided."""
    return hashlib.sha256(codec.canonical(ApprovalSubject(agent=agent, action=action))).hexdigest()


class ApprovalRequested(Event, frozen=True, kw_only=True, tag="ApprovalRequested.v1"):
    """A review verdict needs a human: who may approve, for how long, and what happens on timeout."""

    approval_id: str
    request_id: str
    action_hash: str
    action: Action
    rules: list[str] = []
    reasons: list[str] = []
    risk: int = 0
    expires_ns: int
    fallback: Verdict = "deny"
    """The verdict when nobody resolves it in time (the rule's, deny unless the bundle says otherwise)."""


class ApprovalResolution(Event, frozen=True, kw_only=True):
    """What ApprovalGranted and ApprovalDenied carry. ``signature`` is by the operator key ``approver`` over
    :func:`agentgov.contracts.crypto.approval_message` (approval id, action hash, resolution)."""

    approval_id: str
    action_hash: str
    approver: str
    approver_name: str = ""
    reason: str = ""
    signature: str


class ApprovalGranted(ApprovalResolution, frozen=True, kw_only=True, tag="ApprovalGranted.v1"):
    """An approver allowed the action; ``signature`` by the approver's operator key (see ApprovalResolution)."""


class ApprovalDenied(ApprovalResolution, frozen=True, kw_only=True, tag="ApprovalDenied.v1"):
    """An approver refused the action; ``signature`` by the approver's operator key (see ApprovalResolution)."""


class ApprovalExpired(Event, frozen=True, kw_only=True, tag="ApprovalExpired.v1"):
    """Nobody resolved the approval in time; ``fallback`` is the verdict that applies."""

    approval_id: str
    action_hash: str
    fallback: Verdict = "deny"
