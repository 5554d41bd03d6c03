"""Policy test suites: a bundle, agents, and cases with expected decisions (``agentgov policy test``).

A suite is YAML::

    bundle: acme-payments.yaml         # a path relative to the suite file, or the bundle inline (a mapping)
    now: "2025-03-12T10:00:00+01:00"   # ISO time with offset; a case may override it
    agents:                            # registry facts, by agent id
      coder-1: {org: acme, team: payments, trust: 80}
    paused: {coder-9: "anomaly: burst"}
    retired: {old-bot: replaced}
    budgets: {coder-1: 12.5}           # remaining USD per agent; leave out for "no budget service"
    cases:
      - name: git status is fine
        agent: coder-1
        token: valid                   # valid | expired | forged | missing | revoked | other_agent
        action: {kind: shell, target: git status}
        repeat: 1                      # run N times (rate limits); every run must meet `expect`
        expect: {verdict: allow, code: null, rules: [shell.allow], reasons_contain: [...], risk_at_least: 0,
                 risk_at_most: 100, findings: [shell/destructive], taint: [credential],
                 redactions: [{kind, field, start, end}], errors_contain: [...]}
      - name: then sending it out is denied
        agent: coder-1
        session: s-1                   # cases naming the same session share its taint, in order
        ...

The runner makes its own operator key, trust store and agent tokens, runs each case through
:func:`~agentgov.policy.domain.decide`, a :class:`~agentgov.policy.ratelimit.MemoryLimiter` (shared by
the whole suite, so counts carry over from case to case) and :func:`~agentgov.policy.domain.finalize`,
and reports per-case results and the bundle's rule ids that no case reached. Each decided case is recorded
into one :class:`~agentgov.policy.sessions.Sessions` for the suite, as the service does, so later cases of a
session see what earlier ones read. ``findings`` entries are ``category/kind`` (``session/secret_to_egress``)
or a bare category, each of which some finding must match; ``taint`` is the exact list of labels added.

Rule ids in ``expect.rules`` are full ids (``team:payments/tools.deny``) or bare ones (``tools.deny``,
matching that rule at any level); a rate limit that counted the action counts as matched.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto
from agentgov.contracts.events import Action
from agentgov.contracts.requests import CheckAction
from agentgov.identity import Operator, TokenVerifier, TrustStore, issue_token
from agentgov.policy.domain import Outcome, World, decide, decided_event, finalize
from agentgov.policy.lang import (
    AgentFacts,
    BudgetView,
    BundleInvalid,
    CompiledBundle,
    compile_bundle,
    full_id,
    load_bundle,
)
from agentgov.policy.lang.evaluate import evidence_kind
from agentgov.policy.ratelimit import MemoryLimiter, RateCharge
from agentgov.policy.sessions import Sessions

TokenKind = Literal["valid", "expired", "forged", "missing", "revoked", "other_agent"]


class SuiteError(Exception):
    """A suite that cannot be loaded (bad YAML, wrong fields, a bundle that does not validate)."""


class AgentSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An agent's registry facts in a suite."""

    org: str
    team: str
    parent: str | None = None
    lineage: list[str] = []
    depth: int = 0
    trust: int = 50
    labels: dict[str, str] = {}


class RedactionSpec(msgspec.Struct, forbid_unknown_fields=True):
    """An expected redaction."""

    kind: str
    field: str
    start: int
    end: int


class Expect(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a case expects; only what is given is checked (``code: null`` checks there is no code)."""

    verdict: Literal["allow", "review", "deny", "redact"]
    code: str | msgspec.UnsetType | None = msgspec.UNSET
    rules: list[str] = []
    reasons_contain: list[str] = []
    errors_contain: list[str] = []
    risk_at_least: int | None = None
    risk_at_most: int | None = None
    findings: list[str] = []
    taint: list[str] | None = None
    redactions: list[RedactionSpec] | None = None


class ActionSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The action of a case."""

    kind: Literal["shell", "file", "http", "mcp_tool", "llm_call", "k8s", "aws", "spawn", "other"]
    tool: str | None = None
    target: str | None = None
    args: dict[str, Any] = {}


class Case(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One scenario."""

    name: str
    agent: str
    action: ActionSpec
    expect: Expect
    token_kind: TokenKind = msgspec.field(default="valid", name="token")
    now: str | None = None
    session: str | None = None
    context: dict[str, Any] = {}
    estimated_usd: float | None = None
    repeat: int = 1


class _SuiteFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    bundle: str | dict[str, Any]
    now: str
    cases: list[Case]
    agents: dict[str, AgentSpec] = {}
    paused: dict[str, str] = {}
    retired: dict[str, str] = {}
    budgets: dict[str, float] | None = None


@dataclass(frozen=True)
class Suite:
    """A loaded suite: its compiled bundle and its cases."""

    path: str
    bundle: CompiledBundle
    now_ns: int
    cases: list[Case]
    agents: dict[str, AgentFacts]
    paused: dict[str, str] = field(default_factory=dict)
    retired: dict[str, str] = field(default_factory=dict)
    budgets: dict[str, BudgetView] | None = None


@dataclass
class CaseResult:
    """How one case went; ``failures`` is empty when it passed."""

    name: str
    failures: list[str]
    outcome: Outcome

    @property
    def passed(self) -> bool:
        """True when every run met the expectation."""
        return not self.failures


@dataclass
class SuiteResult:
    """Every case's result and the bundle rule ids that no case reached."""

    cases: list[CaseResult]
    unreached: list[str]

    @property
    def passed(self) -> bool:
        """True when every case passed (coverage is reported, not enforced)."""
        return all(c.passed for c in self.cases)


def load_suite(path: Path) -> Suite:
    """Read a suite file and the bundle it names; SuiteError says what is wrong."""
    text = path.read_text()
    try:
        raw = msgspec.convert(yaml.safe_load(text), _SuiteFile)
    except (yaml.YAMLError, msgspec.ValidationError) as exc:
        raise SuiteError(f"{path}: {exc}") from None
    try:
        now_ns = _ns(raw.now)
        for c in raw.cases:
            if c.now is not None:
                _ns(c.now)
    except ValueError as exc:
        raise SuiteError(f"{path}: {exc}") from None
    if isinstance(raw.bundle, str):
        bundle_path = path.parent / raw.bundle
        source, filename = bundle_path.read_text(), str(bundle_path)
    else:
        source, filename = _inline_bundle(text), str(path)
    try:
        compiled = compile_bundle(load_bundle(source, filename))
    except BundleInvalid as exc:
        raise SuiteError("\n".join(str(d) for d in exc.diagnostics)) from None
    agents = {
        a: AgentFacts(a, s.org, s.team, s.parent, tuple(s.lineage), s.depth, s.trust, dict(s.labels))
        for a, s in raw.agents.items()
    }
    budgets = None
    if raw.budgets is not None:
        budgets = {a: BudgetView(round(usd * 1_000_000)) for a, usd in raw.budgets.items()}
    return Suite(str(path), compiled, now_ns, raw.cases, agents, raw.paused, raw.retired, budgets)


def run_suite(suite: Suite) -> SuiteResult:
    """Run every case in order; one limiter and one token verifier for the whole suite."""
    key, forger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    op = Operator(name="suite", public_key=crypto.public_key_text(key), roles=["agents"], scopes=["*"])
    verifier = TokenVerifier(TrustStore([op]))
    limiter = MemoryLimiter()
    sessions = Sessions()
    reached: set[str] = set()
    results: list[CaseResult] = []
    for case in suite.cases:
        now_ns = _ns(case.now) if case.now is not None else suite.now_ns
        token, revoked = _token(case, suite, key, forger, now_ns)
        world = World(
            bundles={suite.bundle.scope: suite.bundle},
            agents=suite.agents,
            retired=suite.retired,
            paused=suite.paused,
            revoked_tokens=revoked,
            revoked_before={},
            tokens=verifier,
            salt=b"suite",
            budgets=suite.budgets,
            sessions=sessions,
        )
        failures: list[str] = []
        outcome: Outcome | None = None
        for i in range(max(1, case.repeat)):
            check = _check(case, token)
            outcome = decide(check, world, now_ns)
            charged = outcome.charges
            reached.update(full_id(c.scope, c.rule_id) for c in charged)
            outcome = finalize(outcome, limiter.hit_now(charged, now_ns))
            sessions.apply(decided_event(check, outcome, 0, now_ns))
            reached.update(full_id(r.scope, r.id) for r in outcome.rules)
            problems = check_expect(case.expect, outcome, charged)
            if problems:
                run = f"run {i + 1} of {case.repeat}: " if case.repeat > 1 else ""
                failures = [run + p for p in problems]
                break
        assert outcome is not None
        results.append(CaseResult(case.name, failures, outcome))
    return SuiteResult(results, [r for r in suite.bundle.rule_ids if r not in reached])


def check_expect(expect: Expect, outcome: Outcome, charged: Sequence[RateCharge] = ()) -> list[str]:
    """What in ``outcome`` does not meet ``expect`` (empty when it does); ``charged`` limits count as matched."""
    out: list[str] = []
    if outcome.verdict != expect.verdict:
        out.append(f"verdict {outcome.verdict}, expected {expect.verdict} (reasons: {'; '.join(outcome.reasons)})")
    if expect.code is not msgspec.UNSET and outcome.code != expect.code:
        out.append(f"code {outcome.code!r}, expected {expect.code!r}")
    pairs = [(r.scope, r.id) for r in outcome.rules] + [(c.scope, c.rule_id) for c in charged]
    matched = {i for _, i in pairs} | {full_id(s, i) for s, i in pairs}
    out += [
        f"rule {r!r} did not match (matched: {', '.join(sorted(matched))})" for r in expect.rules if r not in matched
    ]
    reasons = "\n".join(outcome.reasons)
    out += [f"no reason contains {s!r} (reasons: {reasons!r})" for s in expect.reasons_contain if s not in reasons]
    errors = "\n".join(outcome.errors)
    out += [f"no error contains {s!r} (errors: {errors!r})" for s in expect.errors_contain if s not in errors]
    parts = ", ".join(f"{p.name} {p.points}" for p in outcome.risk_parts) or "none"
    if expect.risk_at_least is not None and outcome.risk < expect.risk_at_least:
        out.append(f"risk {outcome.risk}, expected at least {expect.risk_at_least} (parts: {parts})")
    if expect.risk_at_most is not None and outcome.risk > expect.risk_at_most:
        out.append(f"risk {outcome.risk}, expected at most {expect.risk_at_most} (parts: {parts})")
    found = {e.category for e in outcome.evidence} | {f"{e.category}/{evidence_kind(e)}" for e in outcome.evidence}
    out += [
        f"no finding {f!r} (found: {', '.join(sorted(found)) or 'none'})" for f in expect.findings if f not in found
    ]
    if expect.taint is not None and sorted(outcome.taint) != sorted(expect.taint):
        out.append(f"taint {sorted(outcome.taint)}, expected {sorted(expect.taint)}")
    if expect.redactions is not None:
        got = [(r.kind, r.field, r.start, r.end) for r in outcome.redactions]
        want = [(r.kind, r.field, r.start, r.end) for r in expect.redactions]
        if got != want:
            out.append(f"redactions {got}, expected {want}")
    return out


def _check(case: Case, token: str) -> CheckAction:
    a = case.action
    est = None if case.estimated_usd is None else round(case.estimated_usd * 1_000_000)
    return CheckAction(
        request_id=uuid.uuid4().hex,
        agent=case.agent,
        token=token,
        action=Action(kind=a.kind, tool=a.tool, target=a.target, args=a.args),
        session=case.session,
        context=case.context,
        estimated_usd_micros=est,
    )


def _token(
    case: Case, suite: Suite, key: Ed25519PrivateKey, forger: Ed25519PrivateKey, now_ns: int
) -> tuple[str, set[str]]:
    """The token a case presents, and the token ids to treat as revoked."""
    kind = case.token_kind
    if kind == "missing":
        return "", set()
    facts = suite.agents.get(case.agent)
    org, team = (facts.org, facts.team) if facts else ("unknown", "unknown")
    now = now_ns / 1e9
    subject = "someone-else" if kind == "other_agent" else case.agent
    issued_at = now - 7200 if kind == "expired" else now
    token, claims = issue_token(key, agent=subject, org=org, team=team, ttl_s=3600, now=issued_at)
    if kind == "forged":  # the trusted key's header and claims, with a signature made by another key
        other, _ = issue_token(forger, agent=subject, org=org, team=team, ttl_s=3600, now=issued_at)
        token = token.rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]
    return token, ({claims.token_id} if kind == "revoked" else set())


def _ns(text: str) -> int:
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError(f"time {text!r} needs an offset (e.g. +01:00 or Z)")
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000


def _inline_bundle(text: str) -> str:
    """The inline ``bundle:`` mapping's text, padded so its line and column numbers are the suite's own."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)
    for k, v in root.value:
        if k.value == "bundle":
            start, end = v.start_mark, v.end_mark
            return "\n" * int(start.line) + " " * int(start.column) + text[int(start.index) : int(end.index)]
    raise SuiteError("the suite has no bundle")  # unreachable: the suite schema requires it
