"""What evaluation reads (:class:`EvalInput`, :class:`AgentFacts`, :class:`BudgetView`) and returns
(:class:`Evaluation`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from agentgov.contracts.events import Action, Claim, Evidence, MatchedRule, Redaction, RiskPart, Verdict
from agentgov.policy.detect.taint import SessionView
from agentgov.policy.lang.model import Fallback
from agentgov.policy.ratelimit import RateCharge


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """What the registry knows about an agent; ``trust`` is 0-100, ``lineage`` its ancestors, oldest first."""

    id: str
    org: str
    team: str
    parent: str | None = None
    lineage: tuple[str, ...] = ()
    depth: int = 0
    trust: int = 50
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BudgetView:
    """What the budget ledger says is left for an agent: ``remaining_usd_micros`` (the least left over its
    limited scopes and windows), or None = not known; ``unlimited`` = known, and no limit applies to it."""

    remaining_usd_micros: int | None = None
    unlimited: bool = False


@dataclass(frozen=True, slots=True)
class EvalInput:
    """One action to evaluate, with everything evaluation may read. ``budget`` None = no budget service."""

    action: Action
    agent: AgentFacts
    now_ns: int
    session: str | None = None
    request_context: dict[str, Any] = field(default_factory=dict)
    estimated_usd_micros: int | None = None
    budget: BudgetView | None = None
    salt: bytes = b""
    """Salt of the redaction hashes (the service's; empty falls back to the one given at compile time)."""
    session_view: SessionView | None = None
    """What the session holds so far (labels, fingerprints, denies); None when there is no session."""


class Evaluation(msgspec.Struct, frozen=True, kw_only=True):
    """The result of evaluating one action against one compiled bundle.

    ``rules`` are all the votes (every matched rule), ``reasons`` one line per deciding vote, ``errors`` rules
    that failed at run time, ``action`` the sanitized action (secrets always removed) with ``redactions``
    saying what was removed, ``charges`` the rate limits to count (empty when the verdict is deny),
    ``risk_parts`` how ``risk`` was reached, ``taint`` the labels the action adds to its session (empty when
    denied), and on a review only, ``approval_timeout_s`` and ``approval_fallback``: how long the approval may
    stay pending and the verdict after that (see :func:`~agentgov.policy.lang.evaluate.approval_settings`).
    """

    verdict: Verdict
    claim: Claim
    risk: int
    rules: list[MatchedRule]
    reasons: list[str]
    errors: list[str]
    evidence: list[Evidence]
    redactions: list[Redaction]
    action: Action
    charges: list[RateCharge]
    risk_parts: list[RiskPart] = []
    taint: list[str] = []
    approval_timeout_s: int | None = None
    approval_fallback: Fallback | None = None


CLAIMS: dict[Verdict, Claim] = {
    "deny": "denied_before_execution",
    "review": "approval_required",
    "redact": "redacted",
    "allow": "evaluated",
}
STRICTNESS: dict[str, int] = {"allow": 0, "redact": 1, "review": 2, "deny": 3}
"""deny > review > redact > allow."""


def full_id(scope: str, rule_id: str) -> str:
    """A rule's id unique in its bundle: ``id`` at the org level, ``<scope>/<id>`` below it."""
    return rule_id if scope == "org" else f"{scope}/{rule_id}"
