"""The events on the GOV and checkpoint streams (DESIGN.md §2-§5).

Evolution rules (tested in ``tests/test_evolution.py``):
- a tag names one shape forever; a new shape is a new tag (``ActionDecided.v2``) and both stay decodable;
- fields are only ever added, and only with defaults; a field's type and meaning never change;
- decoders ignore fields they do not know, so old code reads new bytes and new code reads old bytes.

Money is integer micro-dollars and durations are integer microseconds or nanoseconds: no floats in events,
so the canonical bytes never depend on float formatting.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from agentgov.contracts.actions import Action, ActionKind, Claim, DenyCode, Verdict
from agentgov.contracts.envelope import Event
from agentgov.contracts.events_anomaly import AnomalyDetected
from agentgov.contracts.events_approval import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    ApprovalRequested,
)
from agentgov.contracts.events_budget import (
    BudgetAlert,
    BudgetExceeded,
    BudgetLimitSet,
    BudgetReserved,
    BudgetReset,
    PricingPublished,
    SpendRejected,
)

__all__ = [
    "CHECKPOINT_CHAIN",
    "EVENT_TYPES",
    "LEAF_PREFIX_BYTES",
    "Action",
    "ActionDecided",
    "ActionKind",
    "AgentPaused",
    "AgentRegistered",
    "AgentResumed",
    "AgentRetired",
    "AgentTokenRevoked",
    "AnomalyDetected",
    "ApprovalDenied",
    "ApprovalExpired",
    "ApprovalGranted",
    "ApprovalRequested",
    "BudgetAlert",
    "BudgetExceeded",
    "BudgetLimitSet",
    "BudgetReserved",
    "BudgetReset",
    "ChainBroken",
    "ChainBrokenReason",
    "ChainHead",
    "Checkpoint",
    "Claim",
    "DenyCode",
    "EventRejected",
    "Evidence",
    "KnownEvent",
    "MalformedEvent",
    "MatchedRule",
    "PolicyPublished",
    "PricingPublished",
    "ProducerKeyRegistered",
    "Redaction",
    "RiskPart",
    "SpendRecorded",
    "SpendRejected",
    "Verdict",
    "tag_of",
]


# --- registry ---------------------------------------------------------------------------------------


class ProducerKeyRegistered(Event, frozen=True, kw_only=True, tag="ProducerKeyRegistered.v1"):
    """A producer announces its Ed25519 public key; always the first event (seq 1) of its chain."""

    producer: str
    public_key: str
    """Raw 32-byte Ed25519 public key, base64url without padding."""
    key_id: str
    """First 16 hex characters of the SHA-256 of the raw public key."""
    role: str
    host: str = ""
    pid: int = 0
    software: str = ""


class AgentRegistered(Event, frozen=True, kw_only=True, tag="AgentRegistered.v1"):
    """An agent joins the registry with its team, org, lineage and (optionally) its public key."""

    parent: str | None = None
    depth: int = 0
    public_key: str | None = None
    trust: int = 50
    labels: dict[str, str] = {}


class AgentRetired(Event, frozen=True, kw_only=True, tag="AgentRetired.v1"):
    """An agent leaves the registry; later checks for it are denied."""

    reason: str = ""


class AgentTokenRevoked(Event, frozen=True, kw_only=True, tag="AgentTokenRevoked.v1"):
    """An agent token stops being accepted: one token by its id, or every token issued before ``ts``."""

    token_id: str | None = None
    """The token's ``jti``; ``None`` revokes every token of the agent issued before this event."""
    reason: str = ""
    by: str = ""


class AgentPaused(Event, frozen=True, kw_only=True, tag="AgentPaused.v1"):
    """Checks from this agent are denied until an AgentResumed (written by operators or the anomaly service)."""

    reason: str = ""
    by: str = ""
    anomaly_id: str | None = None
    """The AnomalyDetected that tripped the agent's circuit breaker, when the anomaly service paused it."""


class AgentResumed(Event, frozen=True, kw_only=True, tag="AgentResumed.v1"):
    """Lifts an AgentPaused."""

    reason: str = ""
    by: str = ""


# --- policy -----------------------------------------------------------------------------------------


class PolicyPublished(Event, frozen=True, kw_only=True, tag="PolicyPublished.v1"):
    """A policy bundle becomes the active revision for its scope.

    ``source`` is the bundle's YAML text exactly as written (so line numbers survive), ``sha256`` its hex
    digest. ``signature`` is an Ed25519 signature by the operator key ``signer`` over
    :func:`agentgov.contracts.crypto.policy_message` of (scope, revision, sha256); the policy service
    accepts the bundle only when that key is trusted with the ``policy`` role for ``scope``.
    ``revision`` counts up by one per scope.
    """

    scope: str
    """``*`` (every org) or ``org:<id>``."""
    revision: int
    name: str
    source: str
    sha256: str
    signer: str
    signer_name: str = ""
    signature: str
    note: str = ""


# --- decisions --------------------------------------------------------------------------------------


class MatchedRule(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A policy rule that matched, with the effect it asked for and why."""

    id: str
    effect: Verdict
    reason: str = ""
    scope: str = ""


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One detector finding behind a decision."""

    category: str
    severity: int
    detail: str = ""
    field: str = ""
    start: int | None = None
    end: int | None = None


class RiskPart(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One part of a risk score: what it is (``findings``, ``breadth``, ``target``, ``trust``, ``session``,
    ``rules``, ``tool``), the points it added, and why."""

    name: str
    points: int
    detail: str = ""


class Redaction(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A value removed before persisting: what kind, where (UTF-8 byte offsets), and a salted hash."""

    kind: str
    field: str
    start: int
    end: int
    salted_hash: str


class ActionDecided(Event, frozen=True, kw_only=True, tag="ActionDecided.v1"):
    """The policy's verdict on one action, recorded before the agent acts (or after, for observations)."""

    request_id: str
    action: Action
    verdict: Verdict
    claim: Claim
    risk: int = 0
    rules: list[MatchedRule] = []
    evidence: list[Evidence] = []
    redactions: list[Redaction] = []
    reasons: list[str] = []
    errors: list[str] = []
    policy_revision: int = 0
    latency_us: int = 0
    code: DenyCode | None = None
    """Why the request was denied before the policy was evaluated (a contracts ``DenyCode``), if it was."""
    session: str | None = None
    """The agent session the request named; session taint is rebuilt from these events."""
    risk_parts: list[RiskPart] = []
    """How ``risk`` was reached: each part and the points it added."""
    taint: list[str] = []
    """Labels this action added to its session (``secret``, ``credential``, ``internal``, ``untrusted``,
    ``injected``); empty when denied, since a denied action never ran."""
    estimated_usd_micros: int | None = None
    """The cost the request estimated (LLM calls), if it gave one."""
    reserved_usd_micros: int = 0
    """Budget held for this action until its SpendRecorded (same ``request_id``) reconciles it."""
    budget_scopes: list[str] = []
    """The budget scopes the reservation was taken from (``agent:<id>``, ``team:<id>``, ``org:<id>``, ``global``)."""
    approval_id: str | None = None
    """The approval this decision belongs to: on an allow, the granted approval it carries out; on a review,
    the pending approval a re-ask waits for (so it opens no new approval)."""
    approval_timeout_s: int | None = None
    """On a review: how long the approval may stay pending (the bundle's ``approvals.timeout_s``)."""
    approval_fallback: Verdict | None = None
    """On a review: the verdict when nobody resolves the approval in time (``approvals.fallback``)."""


# --- spend ------------------------------------------------------------------------------------------


class SpendRecorded(Event, frozen=True, kw_only=True, tag="SpendRecorded.v1"):
    """Tokens an LLM call used and what they cost, priced from a named pricing revision."""

    model: str
    provider: str = ""
    request_id: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    usd_micros: int = 0
    pricing_revision: int | None = None


# --- audit ------------------------------------------------------------------------------------------


class ChainHead(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where one producer's chain stood when a checkpoint was sealed."""

    producer: str
    seq: int
    hash: str
    stream_seq: int


class Checkpoint(Event, frozen=True, kw_only=True, tag="Checkpoint.v1"):
    """A signed seal over a contiguous range of the GOV stream (DESIGN.md §5).

    Checkpoints form one chain of their own across audit runs: ``chain.producer`` is always
    ``CHECKPOINT_CHAIN``, ``chain.seq`` numbers the checkpoints from 1 and ``chain.prev`` is the hash of the
    previous checkpoint. ``signer`` is the audit producer whose key (registered on GOV) signed it.

    ``merkle_root`` is the RFC 6962 Merkle tree hash over the leaves of every message present in
    ``first_seq..last_seq`` in stream order (a leaf is ``SHA-256(0x00 || message bytes)``, see
    :mod:`agentgov.contracts.merkle`). ``leaf_prefixes`` repeats the first 8 bytes of each leaf so a verifier
    can name the exact message where a stream diverges (reordered or replaced), not just the range;
    the root is the proof. ``gaps`` lists sequences in the range that were already missing when sealed, and
    ``heads`` the chain heads of the producers that wrote in the range.
    """

    stream: str
    signer: str
    first_seq: int
    last_seq: int
    count: int
    merkle_root: str
    leaf_prefixes: bytes
    heads: list[ChainHead] = []
    gaps: list[int] = []
    malformed: int = 0
    broken: int = 0


CHECKPOINT_CHAIN = "checkpoints"
"""The producer name of the checkpoint chain."""
LEAF_PREFIX_BYTES = 8


ChainBrokenReason = Literal[
    "altered",
    "truncated",
    "gap",
    "missing_message",
    "reordered",
    "replayed",
    "bad_prev",
    "bad_signature",
    "unregistered_producer",
    "key_mismatch",
    "bad_framing",
]


class ChainBroken(Event, frozen=True, kw_only=True, tag="ChainBroken.v1"):
    """The audit service found a stream message that does not verify."""

    stream: str
    stream_seq: int
    reason: ChainBrokenReason
    detail: str
    producer: str | None = None
    expected_seq: int | None = None
    got_seq: int | None = None


class MalformedEvent(Event, frozen=True, kw_only=True, tag="MalformedEvent.v1"):
    """Undecodable bytes found on the stream. Only their hash and the error are kept, never the bytes."""

    stream: str
    stream_seq: int
    subject: str
    size: int
    payload_sha256: str
    error: str


class EventRejected(Event, frozen=True, kw_only=True, tag="EventRejected.v1"):
    """A service read an event from the stream and refused it: none of that service's state changed.

    Appended by the service that refused it on ``gov.<service>._rejected`` (approval, anomaly), once per
    stream sequence. ``reason`` is a short code (``malformed``, ``forged``, ``unknown_approval``,
    ``unknown_agent``, ``invalid`` …); ``detail`` says what was wrong in words. ``about`` is the id the event
    referred to (an approval id, a bundle scope) when it has one. Budget refusals are ``SpendRejected``;
    undecodable bytes are also reported by the audit service as ``MalformedEvent``.
    """

    service: str
    stream_seq: int
    subject: str
    reason: str
    detail: str
    event_type: str = ""
    event_id: str = ""
    about: str = ""


KnownEvent = (
    ProducerKeyRegistered
    | AgentRegistered
    | AgentRetired
    | AgentTokenRevoked
    | AgentPaused
    | AgentResumed
    | PolicyPublished
    | ActionDecided
    | SpendRecorded
    | PricingPublished
    | BudgetLimitSet
    | BudgetReserved
    | BudgetAlert
    | BudgetExceeded
    | BudgetReset
    | SpendRejected
    | ApprovalRequested
    | ApprovalGranted
    | ApprovalDenied
    | ApprovalExpired
    | AnomalyDetected
    | Checkpoint
    | ChainBroken
    | MalformedEvent
    | EventRejected
)
"""The tagged union of every event type this build knows."""

EVENT_TYPES: tuple[type[Event], ...] = (
    ProducerKeyRegistered,
    AgentRegistered,
    AgentRetired,
    AgentTokenRevoked,
    AgentPaused,
    AgentResumed,
    PolicyPublished,
    ActionDecided,
    SpendRecorded,
    PricingPublished,
    BudgetLimitSet,
    BudgetReserved,
    BudgetAlert,
    BudgetExceeded,
    BudgetReset,
    SpendRejected,
    ApprovalRequested,
    ApprovalGranted,
    ApprovalDenied,
    ApprovalExpired,
    AnomalyDetected,
    Checkpoint,
    ChainBroken,
    MalformedEvent,
    EventRejected,
)


def tag_of(cls: type[msgspec.Struct]) -> str:
    """The versioned tag of an event type (``ActionDecided.v1``)."""
    return str(cls.__struct_config__.tag)
