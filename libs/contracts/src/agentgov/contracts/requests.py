"""The decision path's request and reply (DESIGN.md §4): CheckAction in, Decision out.

They travel as core NATS request/reply on ``gov.check.<agent>`` and are never stored as such; the policy
service records each decision as an ActionDecided event. Both are plain msgspec JSON (no signature frame):
the agent proves who it is with the signed ``token`` inside the request.

The same evolution rules as events apply: fields are only added, with defaults; unknown fields are ignored.

Deny codes (``Decision.code``) are stable strings that scripts may match on; the list is :data:`DENY_CODES`.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from agentgov.contracts.actions import Action, Claim, DenyCode, Verdict
from agentgov.contracts.events import Evidence, MatchedRule, Redaction, RiskPart

DENY_CODES: Final[tuple[str, ...]] = DenyCode.__args__  # type: ignore[attr-defined]

MAX_REQUEST_BYTES: Final = 64 * 1024
"""CheckAction requests above this size are denied with ``oversized_request`` (and recorded)."""


class CheckAction(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An agent asks whether it may perform ``action``.

    ``request_id`` identifies the request: retries reuse it (with ``attempt`` > 1), and the policy service
    records at most one decision per agent and request id (``<agent>:<request_id>`` is the ``Nats-Msg-Id``
    of the ActionDecided append, de-duplicated by JetStream for ten minutes).
    ``deadline_ms`` is the Unix time in milliseconds after which the caller no longer waits; the service
    does not spend work on requests already past it.
    """

    request_id: str
    agent: str
    token: str
    action: Action
    attempt: int = 1
    """1 for the first try; a retry of the same request sends the same ``request_id`` with ``attempt`` > 1,
    which makes the service check the stream for a decision already recorded by another replica."""
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
    risk_parts: list[RiskPart] = []
    """How ``risk`` was reached: each part and the points it added."""
    ticket: str | None = None
    """On an allow that carries out a granted approval: a single-use execution ticket (JWT, EdDSA) bound to
    the hash of the exact action; executors check it with the SDK's ticket verifier."""
    approval_id: str | None = None
    """The approval this decision carried out, if any."""


class RecordSpend(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An agent reports the tokens an LLM call used, as a core request on ``gov.usage.<agent>``.

    Agents never price their own spend: the budget service validates the report, prices it from the current
    pricing revision, appends SpendRecorded on ``gov.spend.<agent>`` and replies with :class:`SpendReceipt`.
    ``request_id`` is the CheckAction's, so the spend reconciles the budget that check reserved; a report is
    recorded at most once per agent and ``report_id``.
    """

    report_id: str
    agent: str
    token: str
    model: str
    provider: str = ""
    request_id: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    trace_id: str | None = None


class SpendReceipt(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The reply to RecordSpend: the recorded spend, or why it was refused (``error`` set, nothing recorded)."""

    report_id: str
    usd_micros: int = 0
    pricing_revision: int | None = None
    event_id: str = ""
    error: str | None = None
    """A ``SpendRejected`` reason when the report was refused."""
    detail: str = ""
