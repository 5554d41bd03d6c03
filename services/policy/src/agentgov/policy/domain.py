"""The decision core of the policy service: gates, then the compiled policy. Pure apart from the token cache.

:func:`decide` runs, in order, each gate a deny with its contracts ``DenyCode``:

1. ids are subject-safe (``invalid_id``);
2. the token verifies (``token_missing`` / ``token_invalid`` / ``token_expired``), names ``check.agent`` as
   its subject (``agent_mismatch``), and is not revoked by id or by a revoke-all after it was issued
   (``token_revoked``);
3. the agent is registered (``unknown_agent``) with the org and team the token names (``agent_mismatch``),
   not retired (``agent_retired``) and not paused (``agent_paused``);
4. a bundle covers the agent's org (``org:<org>``, else ``*``; ``no_policy``);
5. the bundle evaluates the action;
6. an agent under anomaly review (the anomaly service's AnomalyDetected with response ``review``, until its
   window passes or ``agentgov agent resume``) has an allow or redact turned into a review (rule
   ``anomaly.review``, the anomaly's explanation as the reason).

Every outcome carries the sanitized action (secrets redacted), also when a gate denies, because the action
is persisted. Rate limits are counted outside (a :class:`~agentgov.policy.ratelimit.Limiter`) and applied
with :func:`finalize`. :func:`decided_event` turns an outcome into the ActionDecided that records it; the
session store (:class:`~agentgov.policy.sessions.Sessions`) learns from those events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import msgspec

from agentgov.contracts.errors import InvalidIdError
from agentgov.contracts.events import (
    Action,
    ActionDecided,
    Claim,
    DenyCode,
    Evidence,
    MatchedRule,
    Redaction,
    RiskPart,
    Verdict,
)
from agentgov.contracts.ids import check_token, uuid7
from agentgov.contracts.requests import CheckAction
from agentgov.identity import TokenError, TokenVerifier
from agentgov.policy.lang import AgentFacts, BudgetView, CompiledBundle, EvalInput, sanitize
from agentgov.policy.lang.levels import describe
from agentgov.policy.lang.model import Approvals
from agentgov.policy.ratelimit import RateCharge
from agentgov.policy.sessions import Sessions

__all__ = ["AgentFacts", "BudgetView", "Outcome", "UnderReview", "World", "decide", "decided_event", "finalize"]

ANOMALY_REVIEW_RULE = "anomaly.review"


@dataclass(frozen=True, slots=True)
class UnderReview:
    """An agent the anomaly service asked to be reviewed (AnomalyDetected, response ``review``): what it saw,
    and until when (ns) the agent's allows wait for a person."""

    anomaly_id: str
    explanation: str
    until_ns: int


@dataclass(frozen=True)
class World:
    """What a decision reads: projections of the stream, the token verifier, the redaction salt.

    ``revoked_before`` maps an agent to Unix seconds: its tokens issued (``iat``) strictly before are revoked.
    ``budgets`` maps an agent to what is left of its budget; None means no budget service is running.
    ``sessions`` holds session taint; None means sessions are not tracked.
    """

    bundles: Mapping[str, CompiledBundle]
    agents: Mapping[str, AgentFacts]
    retired: Mapping[str, str]
    paused: Mapping[str, str]
    revoked_tokens: set[str]
    revoked_before: Mapping[str, int]
    tokens: TokenVerifier
    salt: bytes
    budgets: Mapping[str, BudgetView] | None = field(default=None)
    sessions: Sessions | None = field(default=None)
    under_review: Mapping[str, UnderReview] = field(default_factory=dict)


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """A decision before it is recorded: the verdict and everything the ActionDecided event carries."""

    verdict: Verdict
    claim: Claim
    action: Action
    """Sanitized: secrets (and personal data, when the bundle says so) replaced by ``[REDACTED:<kind>]``."""
    code: DenyCode | None = None
    risk: int = 0
    rules: list[MatchedRule] = []
    reasons: list[str] = []
    errors: list[str] = []
    evidence: list[Evidence] = []
    redactions: list[Redaction] = []
    policy_revision: int = 0
    bundle_scope: str = ""
    charges: list[RateCharge] = []
    """The rate-limit charges to count (empty when denied; emptied by :func:`finalize` when over a limit)."""
    agent: AgentFacts | None = None
    """The registry facts used, when the agent was found."""
    risk_parts: list[RiskPart] = []
    taint: list[str] = []
    """Labels the action adds to its session (empty when denied)."""
    approval_timeout_s: int | None = None
    """On a review: how long the approval may stay pending (the ``approval`` of the review rules that decided
    it, else the bundle's ``approvals`` section; the strictest when several apply)."""
    approval_fallback: Verdict | None = None
    """On a review: the verdict when nobody resolves the approval in time."""
    approval_id: str | None = None
    """The granted approval this allow carries out, or the pending one a re-ask's review waits for
    (see :mod:`agentgov.policy.approvals`)."""
    reserved_usd_micros: int = 0
    """Budget held for the action (:mod:`agentgov.policy.budget`); 0 when nothing was held."""
    budget_scopes: list[str] = []
    """The budget scopes the hold was taken from."""


def decide(check: CheckAction, world: World, now_ns: int, budget: BudgetView | None = None) -> Outcome:
    """Gate and evaluate one request (see the module docstring for the order); ``budget``, when given, is
    what the budget ledger says is left (else ``world.budgets`` is read)."""
    try:
        check_token("agent", check.agent)
        check_token("request", check.request_id)
        if check.session is not None:
            check_token("session", check.session)
    except InvalidIdError as exc:
        return _deny(check, world, "invalid_id", str(exc))
    try:
        claims = world.tokens.verify(check.token, now=now_ns / 1e9)
    except TokenError as exc:
        return _deny(check, world, cast(DenyCode, exc.code), exc.why)
    if claims.agent != check.agent:
        return _deny(check, world, "agent_mismatch", f"the token was issued to {claims.agent!r}, not {check.agent!r}")
    if claims.token_id in world.revoked_tokens:
        return _deny(check, world, "token_revoked", f"token {claims.token_id} has been revoked")
    before = world.revoked_before.get(check.agent)
    if before is not None and claims.issued_at < before:
        return _deny(check, world, "token_revoked", f"tokens of {check.agent!r} issued before {before} are revoked")
    facts = world.agents.get(check.agent)
    if facts is None:
        return _deny(check, world, "unknown_agent", f"agent {check.agent!r} is not registered")
    if (facts.org, facts.team) != (claims.org, claims.team):
        why = f"the token names org {claims.org!r} team {claims.team!r}; the registry says {facts.org!r} {facts.team!r}"
        return _deny(check, world, "agent_mismatch", why, facts)
    if (reason := world.retired.get(check.agent)) is not None:
        return _deny(check, world, "agent_retired", f"agent {check.agent!r} is retired: {reason}", facts)
    if (reason := world.paused.get(check.agent)) is not None:
        return _deny(check, world, "agent_paused", f"agent {check.agent!r} is paused: {reason}", facts)
    bundle = world.bundles.get(f"org:{facts.org}") or world.bundles.get("*")
    if bundle is None:
        return _deny(check, world, "no_policy", f"no active policy covers org {facts.org!r}", facts)
    if budget is None and world.budgets is not None:
        budget = world.budgets.get(check.agent) or BudgetView()
    ev = bundle.evaluate(
        EvalInput(
            action=check.action,
            agent=facts,
            now_ns=now_ns,
            session=check.session,
            request_context=check.context,
            estimated_usd_micros=check.estimated_usd_micros,
            budget=budget,
            salt=world.salt,
            session_view=world.sessions.view(check.agent, check.session, now_ns) if world.sessions else None,
        )
    )
    outcome = Outcome(
        approval_timeout_s=ev.approval_timeout_s,
        approval_fallback=ev.approval_fallback,
        verdict=ev.verdict,
        claim=ev.claim,
        action=ev.action,
        risk=ev.risk,
        rules=ev.rules,
        reasons=ev.reasons,
        errors=ev.errors,
        evidence=ev.evidence,
        redactions=ev.redactions,
        policy_revision=bundle.revision,
        bundle_scope=bundle.scope,
        charges=ev.charges,
        agent=facts,
        risk_parts=ev.risk_parts,
        taint=ev.taint,
    )
    watch = world.under_review.get(check.agent)
    if watch is not None and now_ns < watch.until_ns and outcome.verdict in ("allow", "redact"):
        return _anomaly_review(outcome, watch, bundle.approvals(facts.team, facts.id))
    return outcome


def _anomaly_review(outcome: Outcome, watch: UnderReview, approvals: Approvals) -> Outcome:
    """An allow or redact of an agent under anomaly review, sent to a person instead (the level-wide
    ``approvals`` settings apply: no rule asked for this review)."""
    reason = f"under anomaly review: {watch.explanation}"
    rule = MatchedRule(id=ANOMALY_REVIEW_RULE, effect="review", reason=reason, scope="anomaly")
    return msgspec.structs.replace(
        outcome,
        verdict="review",
        rules=[*outcome.rules, rule],
        reasons=[*outcome.reasons, reason],
        approval_timeout_s=approvals.timeout_s,
        approval_fallback=approvals.fallback,
    )


def finalize(outcome: Outcome, exceeded: Sequence[RateCharge]) -> Outcome:
    """Apply a limiter's answer: any exceeded limit turns the outcome into a ``rate_limited`` deny."""
    if not exceeded:
        return outcome
    lines = [describe(c) for c in exceeded]
    limits = [
        MatchedRule(id=c.rule_id, effect="deny", reason=line, scope=c.scope)
        for c, line in zip(exceeded, lines, strict=True)
    ]
    return msgspec.structs.replace(
        outcome,
        verdict="deny",
        claim="denied_before_execution",
        code="rate_limited",
        rules=[*outcome.rules, *limits],
        reasons=lines,
        charges=[],
        taint=[],
    )


def decided_event(check: CheckAction, outcome: Outcome, latency_us: int, now_ns: int) -> ActionDecided:
    """The ActionDecided that records ``outcome``, stamped ``now_ns`` (when the request was decided)."""
    facts = outcome.agent
    return ActionDecided(
        id=uuid7(),
        ts=now_ns,
        agent=check.agent,
        team=facts.team if facts else None,
        org=facts.org if facts else None,
        trace_id=check.trace_id,
        request_id=check.request_id,
        action=outcome.action,
        verdict=outcome.verdict,
        claim=outcome.claim,
        risk=outcome.risk,
        rules=list(outcome.rules),
        evidence=list(outcome.evidence),
        redactions=list(outcome.redactions),
        reasons=list(outcome.reasons),
        errors=list(outcome.errors),
        policy_revision=outcome.policy_revision,
        latency_us=latency_us,
        code=outcome.code,
        session=check.session,
        risk_parts=list(outcome.risk_parts),
        taint=list(outcome.taint),
        approval_id=outcome.approval_id,
        approval_timeout_s=outcome.approval_timeout_s if outcome.verdict == "review" else None,
        approval_fallback=outcome.approval_fallback if outcome.verdict == "review" else None,
        estimated_usd_micros=check.estimated_usd_micros,
        reserved_usd_micros=outcome.reserved_usd_micros,
        budget_scopes=list(outcome.budget_scopes),
    )


def deny(check: CheckAction, world: World, code: DenyCode, reason: str) -> Outcome:
    """A deny decided without the gates or the bundle (a passed deadline): the action sanitized, as every
    recorded action is, and the agent's registry facts when it is registered."""
    return _deny(check, world, code, reason, world.agents.get(check.agent))


def _deny(check: CheckAction, world: World, code: DenyCode, reason: str, facts: AgentFacts | None = None) -> Outcome:
    action, redactions = sanitize(check.action, world.salt)
    return Outcome(
        verdict="deny",
        claim="denied_before_execution",
        action=action,
        code=code,
        reasons=[reason],
        redactions=redactions,
        agent=facts,
    )
