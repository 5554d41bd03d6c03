"""Judging one usage report (pure): a priced SpendRecorded, or a SpendRejected saying why.

The gates, in order, each a rejection reason of the contract (``SpendRejectReason``):
``malformed`` (not a RecordSpend), ``invalid_id`` (ids not subject-safe, or the report names another agent
than its subject), ``unknown_agent`` (token missing, invalid, expired or revoked, exactly as the policy
service checks it; agent not registered, retired, or registered with another org/team than its token
names), ``no_pricing`` (no pricing revision yet), ``unknown_model``, ``bad_tokens`` (a negative count or
more than ``MAX_TOKENS_PER_CALL`` of one kind).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from agentgov.budget.pricing import MAX_TOKENS_PER_CALL, cost_usd_micros
from agentgov.budget.state import State
from agentgov.contracts.events import SpendRecorded
from agentgov.contracts.events_budget import SpendRejected, SpendRejectReason
from agentgov.contracts.ids import check_token, uuid7
from agentgov.contracts.requests import RecordSpend
from agentgov.identity.errors import TokenError
from agentgov.identity.tokens import TokenVerifier

_decoder = msgspec.json.Decoder(RecordSpend)


@dataclass(frozen=True, slots=True)
class Judged:
    """The outcome of a report: exactly one of ``recorded`` and ``rejected`` is set."""

    report_id: str
    recorded: SpendRecorded | None = None
    rejected: SpendRejected | None = None


def judge(data: bytes, subject_agent: str, state: State, tokens: TokenVerifier, now_ns: int) -> Judged:
    """Decode, verify, validate and price one report sent on ``gov.usage.<subject_agent>``."""
    try:
        req = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return _reject(subject_agent, "", "malformed", f"not a RecordSpend: {exc}")
    rid = req.report_id

    def no(reason: SpendRejectReason, detail: str) -> Judged:
        return _reject(subject_agent, rid, reason, detail, req)

    try:
        check_token("report", rid)
        check_token("agent", req.agent)
        if req.request_id:
            check_token("request", req.request_id)
    except ValueError as exc:
        return no("invalid_id", str(exc))
    if req.agent != subject_agent:
        return no("invalid_id", f"the report names agent {req.agent!r} but was sent on {subject_agent!r}'s subject")
    try:
        claims = tokens.verify(req.token, now=now_ns / 1e9)
    except TokenError as exc:
        return no("unknown_agent", f"{exc.code}: {exc.why}")
    if claims.agent != req.agent:
        return no("unknown_agent", f"agent_mismatch: the token was issued to {claims.agent!r}")
    if claims.token_id in state.revoked_tokens:
        return no("unknown_agent", f"token_revoked: token {claims.token_id} has been revoked")
    before = state.revoked_before.get(req.agent)
    if before is not None and claims.issued_at < before:
        return no("unknown_agent", f"token_revoked: tokens issued before {before} are revoked")
    facts = state.agents.get(req.agent)
    if facts is None:
        return no("unknown_agent", f"agent {req.agent!r} is not registered")
    if req.agent in state.retired:
        return no("unknown_agent", f"agent {req.agent!r} is retired")
    team, org = facts
    if (org, team) != (claims.org, claims.team):
        return no("unknown_agent", f"agent_mismatch: the token names org {claims.org!r} team {claims.team!r}")
    pricing = state.pricing
    if not pricing.revision:
        return no("no_pricing", "no pricing revision has been published (agentgov budget pricing publish FILE)")
    price = next((p for p in pricing.prices if p.model == req.model), None)
    if price is None:
        return no("unknown_model", f"model {req.model!r} is not in pricing revision {pricing.revision}")
    counts = (req.input_tokens, req.output_tokens, req.cached_tokens, req.reasoning_tokens)
    if any(n < 0 or n > MAX_TOKENS_PER_CALL for n in counts):
        return no("bad_tokens", f"token counts must be 0..{MAX_TOKENS_PER_CALL} per call, got {counts}")
    usd = cost_usd_micros(
        price,
        input_tokens=req.input_tokens,
        output_tokens=req.output_tokens,
        cached_tokens=req.cached_tokens,
        reasoning_tokens=req.reasoning_tokens,
    )
    recorded = SpendRecorded(
        id=uuid7(),  # set here so the receipt can name it (the producer keeps a given id)
        agent=req.agent,
        team=team or None,
        org=org or None,
        trace_id=req.trace_id,
        model=req.model,
        provider=req.provider or price.provider,
        request_id=req.request_id,
        input_tokens=req.input_tokens,
        output_tokens=req.output_tokens,
        cached_tokens=req.cached_tokens,
        reasoning_tokens=req.reasoning_tokens,
        usd_micros=usd,
        pricing_revision=pricing.revision,
    )
    return Judged(rid, recorded=recorded)


def _reject(agent: str, rid: str, reason: SpendRejectReason, detail: str, req: RecordSpend | None = None) -> Judged:
    event = SpendRejected(
        agent=agent,
        reason=reason,
        detail=detail,
        request_id=req.request_id if req is not None else "",
        model=req.model if req is not None else "",
        trace_id=req.trace_id if req is not None else None,
    )
    return Judged(rid, rejected=event)
