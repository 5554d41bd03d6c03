"""The decision path's request and reply (DESIGN.md §4): CheckAction in, Decision out.

They travel as core NATS request/reply on ``gov.check.<agent>`` and are never stored as such; the policy
service records each decision as an ActionDecided event. Both are plain msgspec JSON (no signature frame):
the agent proves who it is with the signed ``token`` inside the request.

The same evolution rules as events apply: fields are only added, with defaults; unknown fields are ignored.

Deny codes (``Decision.code``) are stable strings that scripts may match on; the list is :data:`DENY_CODES`.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from agentgov.contracts.events import Action, Claim, Evidence, MatchedRule, Redaction, Verdict

DenyCode = Literal[
    "bad_request",  # the request is not JSON, not an object, or a field has the wrong type
    "incomplete_request",  # a required field is missing
    "oversized_request",  # the request is over MAX_REQUEST_BYTES
    "invalid_id",  # an agent, request or session id is not a subject-safe token
    "agent_mismatch",  # the subject's agent, the body's agent and the token's subject disagree
    "token_missing",
    "token_invalid",  # malformed, forged, or signed by a key not trusted to issue agent tokens
    "token_expired",
    "token_revoked",
    "unknown_agent",  # no AgentRegistered for this agent
    "agent_retired",
    "agent_paused",
    "no_policy",  # no active bundle covers the agent's org
    "rate_limited",
    "deadline_exceeded",  # the request's deadline passed before it could be decided
    "policy_unavailable",  # SDK side: no reply in time, or the service failed (fail closed)
    "internal_error",
]
"""Why a request was denied before (or instead of) evaluating the policy."""

DENY_CODES: Final[tuple[str, ...]] = DenyCode.__args__  # type: ignore[attr-defined]

MAX_REQUEST_BYTES: Final = 64 * 1024
"""CheckAction requests above this size are denied with ``oversized_request`` (and recorded)."""


class CheckAction(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An agent asks whether it may perform ``action``.

    ``request_id`` identifies the attempt: retries of the same request reuse it, and the policy service
    records at most one decision per request id (it is the ``Nats-Msg-Id`` of the ActionDecided append).
    ``deadline_ms`` is the Unix time in milliseconds after which the caller no longer waits; the service
    does not spend work on requests already past it.
    """

    request_id: str
    agent: str
    token: str
    action: Action
    session: str | None = None
    trace_id: str | None = None
    deadline_ms: int | None = None
    estimated_usd_micros: int | None = None
    """What the action is expected to cost (LLM calls), read by budget conditions."""
    context: dict[str, Any] = {}
    """Free-form facts the caller adds (e.g. ``source: web``); readable by CEL rules as ``request.context``."""


class Decision(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The reply to a CheckAction.

    ``code`` is set when the request was denied before the policy was evaluated (bad request, token,
    registry, pause, rate limit). ``decision_id`` and ``stream_seq`` locate the ActionDecided on the stream;
    both are empty only on SDK-side fail-closed decisions (``policy_unavailable``), which are not recorded.
    """

    request_id: str
    verdict: Verdict
    claim: Claim
    risk: int = 0
    rules: list[MatchedRule] = []
    reasons: list[str] = []
    errors: list[str] = []
    evidence: list[Evidence] = []
    redactions: list[Redaction] = []
    action: Action | None = None
    """The action as recorded, with redacted values replaced (set when the verdict is ``redact``)."""
    code: DenyCode | None = None
    policy_revision: int = 0
    decision_id: str = ""
    stream_seq: int = 0
    latency_us: int = 0
    trace_id: str | None = None
    duplicate: bool = False
    """True when this request id was already decided and the recorded decision is returned again."""
