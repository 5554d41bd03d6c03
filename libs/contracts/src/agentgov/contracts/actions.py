"""The words every event and request shares: verdicts, claim levels, deny codes, and the action itself.

Kept apart from :mod:`agentgov.contracts.events` so the per-concern event modules (budget, approval, anomaly)
can use them while ``events`` gathers every event type into one union.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Verdict = Literal["allow", "review", "deny", "redact"]
Claim = Literal["observed", "detected", "evaluated", "denied_before_execution", "redacted", "approval_required"]
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

ActionKind = Literal["shell", "file", "http", "mcp_tool", "llm_call", "k8s", "aws", "spawn", "other"]


class Action(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What an agent wants to do, after sanitizing (secrets already redacted)."""

    kind: ActionKind
    tool: str | None = None
    target: str | None = None
    args: dict[str, Any] = {}
