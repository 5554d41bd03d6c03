"""evaluate: one action against the compiled levels that apply to its agent. Pure: no I/O, no clock.

Order: scan (secrets and prompt injection always; personal data when a level asks) → sanitize (secrets, and
personal data when a level redacts or blocks it) → shell analysis for shell actions → session flows → the
risk score and its parts (:mod:`agentgov.policy.detect.risk`) → every section and rule of every level votes
→ risk thresholds vote → the most restrictive vote wins (deny > review > redact > allow), the bundle
default when nobody voted → on a review, its approval settings (:func:`approval_settings`) → rate-limit
charges and the session labels this action adds, unless denied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agentgov.contracts.events import Evidence, MatchedRule, RiskPart, Verdict
from agentgov.policy.detect import risk as risk_score
from agentgov.policy.detect import taint
from agentgov.policy.detect.shell import analyze
from agentgov.policy.lang import model
from agentgov.policy.lang.celcache import ContextCache
from agentgov.policy.lang.inputs import CLAIMS, STRICTNESS, EvalInput, Evaluation, full_id
from agentgov.policy.lang.levels import Level, ToolSettingC
from agentgov.policy.lang.sanitize import redact
from agentgov.policy.lang.scanner import Finding, Scanner
from agentgov.policy.lang.state import State
from agentgov.policy.ratelimit import RateCharge


@dataclass(frozen=True, slots=True)
class Plan:
    """What applies to one (team, agent) pair, worked out once: its levels and their data settings."""

    levels: tuple[Level, ...]
    scan_pii: bool
    """Some level sets ``data.pii`` to redact, block or alert."""
    redact_pii: bool
    """Some level sets ``data.pii`` to redact or block: personal data is removed from the recorded action."""
    neutral: frozenset[str]
    """Finding categories every level that mentions them redacts: they do not raise the risk score."""
    settings: bool
    """Some level has ``tools.settings``."""
    approvals: model.Approvals
    """The level-wide ``approvals`` section that applies: the most specific level's, taken whole (else the
    defaults)."""

    @classmethod
    def of(cls, levels: tuple[Level, ...]) -> Plan:
        """The plan for these levels."""
        secret_modes = {lv.data.secrets for lv in levels if lv.data is not None and lv.data.secrets}
        pii_modes = {lv.data.pii for lv in levels if lv.data is not None and lv.data.pii} - {"ignore"}
        neutral = frozenset(c for c, modes in (("secret", secret_modes), ("pii", pii_modes)) if modes == {"redact"})
        approvals = next((lv.approvals for lv in reversed(levels) if lv.approvals is not None), model.Approvals())
        return cls(
            levels,
            bool(pii_modes),
            bool(pii_modes & {"redact", "block"}),
            neutral,
            any(lv.settings for lv in levels),
            approvals,
        )


def evaluate(
    plan: Plan,
    inp: EvalInput,
    *,
    default: Verdict,
    scope: str,
    scanner: Scanner,
    salt: bytes,
    contexts: ContextCache | None = None,
) -> Evaluation:
    """Evaluate ``inp`` under ``plan`` (levels: org first, then team, then agent)."""
    action = inp.action
    findings = scanner.scan(action.target, action.args, pii=plan.scan_pii)
    removed = [f for f in findings if f.category == "secret" or (plan.redact_pii and f.category == "pii")]
    sanitized, redactions = redact(action, removed, salt)

    if action.kind == "shell" and action.target:
        findings = findings + shell_findings(action.target)
    view = inp.session_view
    if view is not None:
        flows = taint.flows(action, view)
        findings = findings + [
            Finding("session", f.kind, f.severity, "session", 0, 0, 0, 0, "", f.detail) for f in flows
        ]
    st = State(inp, findings, contexts)
    settings = _settings(plan, action.tool)
    tool_risk = max((s.s.risk for s in settings if s.s.risk is not None), default=None)
    st.pre_risk, parts = risk_score.score(
        ((f.category, f.kind, f.severity) for f in findings),
        neutral=plan.neutral,
        tool_risk=tool_risk,
        action=action,
        trust=inp.agent.trust,
        session=view,
    )

    votes: list[MatchedRule] = []
    rule_risk = 0
    for lv in plan.levels:
        for section in lv.sections:
            section.vote(st, votes)
        if lv.rules is not None:
            rule_risk = max(rule_risk, lv.rules.vote(st, votes))
    for s in settings:
        s.vote(st, votes)
    risk = min(100, max(st.pre_risk, rule_risk))
    if risk > st.pre_risk:
        parts.append(RiskPart(name="rules", points=risk - st.pre_risk, detail="a matched rule's risk"))
    for lv in plan.levels:
        if lv.risk is not None:
            lv.risk_vote(risk, votes)

    if votes:
        verdict: Verdict = "allow"
        level = 0
        for v in votes:
            if STRICTNESS[v.effect] > level:
                verdict, level = v.effect, STRICTNESS[v.effect]
    else:
        verdict = default
        why = f"no rule matched; the bundle default is {default}"
        votes.append(MatchedRule(id="default", effect=default, reason=why, scope="org"))
    approval = approval_settings(votes, st.rule_approvals, plan.approvals) if verdict == "review" else None

    charges: list[RateCharge] = []
    labels: list[str] = []
    if verdict != "deny":
        labels = [src.label for src in taint.sources(action, ((f.category, f.kind, f.severity) for f in findings))]
        for lv in plan.levels:
            if lv.limits:
                lv.charges(st, scope, inp.agent, charges)
        for s in settings:
            if s.s.rate is not None:
                key = f"{scope}|{s.scope}|tools.settings.rate|agent:{inp.agent.id}"
                charges.append(RateCharge(key, s.s.rate[0], s.s.rate[1], "tools.settings.rate", s.scope))

    return Evaluation(
        verdict=verdict,
        claim=CLAIMS[verdict],
        risk=risk,
        rules=votes,
        reasons=[f"{full_id(v.scope, v.id)}: {v.reason}" for v in votes if v.effect == verdict],
        errors=st.errors,
        evidence=[
            Evidence(
                category=f.category,
                severity=f.severity,
                detail=evidence_detail(f),
                field=f.field,
                start=f.start,
                end=f.end,
            )
            for f in findings
        ],
        redactions=redactions,
        action=sanitized,
        charges=charges,
        risk_parts=parts,
        taint=labels,
        approval_timeout_s=approval.timeout_s if approval else None,
        approval_fallback=approval.fallback if approval else None,
    )


def approval_settings(
    votes: Sequence[MatchedRule], own: Mapping[tuple[str, str], model.Approvals], level_wide: model.Approvals
) -> model.Approvals:
    """The approval settings of a review: the strictest over the review votes, each bringing its rule's own
    ``approval`` (``own``, by scope and id) or else ``level_wide``. Strictest is the shortest timeout and deny
    over allow, each taken on its own, so no one reason for the review can make another wait longer or fall
    back to allow."""
    chosen = [own.get((v.scope, v.id), level_wide) for v in votes if v.effect == "review"]
    if not chosen:  # no review vote, so no review verdict: nothing waits for an approval
        return level_wide
    fallback: model.Fallback = "deny" if any(a.fallback == "deny" for a in chosen) else "allow"
    return model.Approvals(min(a.timeout_s for a in chosen), fallback)


def evidence_detail(f: Finding) -> str:
    """An evidence line: the finding's kind, then its explanation (``kind: why``), or the kind alone."""
    return f"{f.kind}: {f.detail}" if f.detail else f.kind


def evidence_kind(e: Evidence) -> str:
    """The finding kind an evidence line names (see :func:`evidence_detail`)."""
    return e.detail.split(":", 1)[0]


def _settings(plan: Plan, tool: str | None) -> list[ToolSettingC]:
    if not plan.settings or tool is None:
        return []
    return [s for lv in plan.levels for s in lv.settings if s.glob.match(tool) is not None]


def shell_findings(command: str) -> list[Finding]:
    """The command analyzer's findings as scanner findings on ``target`` (they raise the risk, never redact)."""
    out: list[Finding] = []
    raw = command.encode()
    for f in analyze(command):
        c0 = len(raw[: f.start].decode(errors="ignore"))
        c1 = c0 + len(raw[f.start : f.end].decode(errors="ignore"))
        out.append(Finding("shell", f.category, f.severity, "target", f.start, f.end, c0, c1, f.snippet, f.detail))
    return out
