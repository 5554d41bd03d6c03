"""The decision core: the gates in order, evaluation, sanitizing on every path, and applying rate limits."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto
from agentgov.contracts.events import Action
from agentgov.contracts.requests import CheckAction
from agentgov.identity import Operator, TokenVerifier, TrustStore, issue_token
from agentgov.policy.domain import AgentFacts, BudgetView, World, decide, finalize
from agentgov.policy.lang import compile_bundle, load_bundle
from agentgov.policy.ratelimit import MemoryLimiter

NOW_S = 1_741_777_200  # 2025-03-12T11:00:00Z
NOW = NOW_S * 1_000_000_000
KEY = Ed25519PrivateKey.generate()
BUNDLE = """\
apiVersion: agentgov/v1
kind: PolicyBundle
metadata: {name: d, scope: "org:acme"}
shell: {allow: ["ls*", "echo *"]}
rate_limits: [{id: two, match: {kinds: [shell]}, limit: 2, per: 1m}]
data: {secrets: redact}
"""
SECRET = Action(kind="shell", target="echo AKIAIOSFODNN7EXAMPLE")


def _world(**kw: Any) -> World:
    op = Operator(name="ops", public_key=crypto.public_key_text(KEY), roles=["agents"], scopes=["*"])
    base: dict[str, Any] = {
        "bundles": {"org:acme": compile_bundle(load_bundle(BUNDLE), revision=4)},
        "agents": {"a1": AgentFacts("a1", "acme", "pay", trust=80)},
        "retired": {},
        "paused": {},
        "revoked_tokens": set(),
        "revoked_before": {},
        "tokens": TokenVerifier(TrustStore([op])),
        "salt": b"salt",
    }
    base.update(kw)
    return World(**base)


def _check(action: Action = SECRET, *, agent: str = "a1", token: str | None = None, **kw: Any) -> CheckAction:
    if token is None:
        token, _ = issue_token(KEY, agent=agent, org="acme", team="pay", now=NOW_S)
    return CheckAction(request_id="r-1", agent=agent, token=token, action=action, **kw)


def test_an_allowed_request() -> None:
    """A good request is evaluated: verdict, revision, scope, facts and charges come back."""
    out = decide(_check(Action(kind="shell", target="ls")), _world(), NOW)
    assert (out.verdict, out.claim, out.code) == ("allow", "evaluated", None)
    assert (out.policy_revision, out.bundle_scope) == (4, "org:acme")
    assert out.agent is not None and out.agent.team == "pay"
    assert [c.rule_id for c in out.charges] == ["rate_limits.two"]


def test_the_action_is_sanitized_when_evaluated() -> None:
    """The outcome's action never holds the secret; the verdict follows the bundle (redact)."""
    out = decide(_check(), _world(), NOW)
    assert out.verdict == "redact"
    assert out.action.target == "echo [REDACTED:aws_access_key]"
    assert out.redactions[0].kind == "aws_access_key"


@pytest.mark.parametrize(
    ("check_kw", "world_kw", "code"),
    [
        ({"agent": "bad.id", "token": "t"}, {}, "invalid_id"),
        ({"session": "s p a c e"}, {}, "invalid_id"),
        ({"token": ""}, {}, "token_missing"),
        ({"token": "not-a-jwt"}, {}, "token_invalid"),
        ({"token": issue_token(KEY, agent="a1", org="acme", team="pay", now=NOW_S - 7200)[0]}, {}, "token_expired"),
        ({"token": issue_token(KEY, agent="a2", org="acme", team="pay", now=NOW_S)[0]}, {}, "agent_mismatch"),
        ({}, {"revoked_before": {"a1": NOW_S + 1}}, "token_revoked"),
        ({}, {"agents": {}}, "unknown_agent"),
        ({}, {"agents": {"a1": AgentFacts("a1", "acme", "ops")}}, "agent_mismatch"),
        ({}, {"retired": {"a1": "replaced"}}, "agent_retired"),
        ({}, {"paused": {"a1": "anomaly: burst"}}, "agent_paused"),
        ({}, {"bundles": {}}, "no_policy"),
    ],
)
def test_gates(check_kw: dict[str, Any], world_kw: dict[str, Any], code: str) -> None:
    """Each gate denies with its code, before evaluation, with the sanitized action."""
    out = decide(_check(**check_kw), _world(**world_kw), NOW)
    assert (out.verdict, out.claim, out.code) == ("deny", "denied_before_execution", code)
    assert out.rules == [] and out.charges == []
    assert out.action.target == "echo [REDACTED:aws_access_key]"
    assert out.reasons


def test_revoked_token_id() -> None:
    """A token whose jti is revoked is denied."""
    token, claims = issue_token(KEY, agent="a1", org="acme", team="pay", now=NOW_S)
    out = decide(_check(token=token), _world(revoked_tokens={claims.token_id}), NOW)
    assert out.code == "token_revoked"


def test_tokens_issued_after_a_revoke_all_pass() -> None:
    """revoked_before revokes tokens issued strictly before it only."""
    assert decide(_check(), _world(revoked_before={"a1": NOW_S}), NOW).code is None


def test_gate_order() -> None:
    """A request failing several gates gets the first: token before registry before pause before policy."""
    world = _world(agents={}, paused={"a1": "x"}, bundles={})
    assert decide(_check(token=""), world, NOW).code == "token_missing"
    assert decide(_check(), world, NOW).code == "unknown_agent"
    world = _world(paused={"a1": "x"}, bundles={})
    assert decide(_check(), world, NOW).code == "agent_paused"


def test_the_pause_reason_is_in_the_reasons() -> None:
    """A paused agent's denial says why it was paused."""
    out = decide(_check(), _world(paused={"a1": "anomaly: 40 denials"}), NOW)
    assert out.reasons == ["agent 'a1' is paused: anomaly: 40 denials"]


def test_a_star_bundle_covers_orgs_without_their_own() -> None:
    """'org:<org>' wins over '*'; '*' serves every other org."""
    star = compile_bundle(load_bundle(BUNDLE.replace('"org:acme"', '"*"') + "default: allow\n"), revision=9)
    world = _world(bundles={"*": star})
    assert decide(_check(Action(kind="other")), world, NOW).policy_revision == 9
    world = _world(bundles={"*": star, "org:acme": _world().bundles["org:acme"]})
    assert decide(_check(Action(kind="other")), world, NOW).policy_revision == 4


def test_budgets_reach_the_policy() -> None:
    """With a budget map, listed agents have known budgets and others unknown; without one, none is known."""
    bundle = BUNDLE + "budget: {deny_when_remaining_below_usd: 5, when_unknown: review}\n"
    world = _world(bundles={"org:acme": compile_bundle(load_bundle(bundle))})
    llm = Action(kind="llm_call", tool="llm", args={"provider": "x"})
    assert decide(_check(llm), world, NOW).verdict == "review"
    assert decide(_check(llm), replace(world, budgets={"a1": BudgetView(1_000_000)}), NOW).verdict == "deny"
    assert decide(_check(llm), replace(world, budgets={}), NOW).verdict == "review"


def test_finalize_turns_an_exceeded_limit_into_a_deny() -> None:
    """Exceeded charges deny with rate_limited, the limit's rule and a reason naming limit and window."""
    world, limiter = _world(), MemoryLimiter()
    ls = _check(Action(kind="shell", target="ls"))
    outcomes = []
    for _ in range(3):
        out = decide(ls, world, NOW)
        outcomes.append(finalize(out, limiter.hit_now(out.charges, NOW)))
    assert [o.verdict for o in outcomes] == ["allow", "allow", "deny"]
    last = outcomes[-1]
    assert (last.code, last.claim, last.charges) == ("rate_limited", "denied_before_execution", [])
    assert last.rules[-1].id == "rate_limits.two"
    assert last.reasons == ["rate_limits.two: more than 2 requests per 1m"]


def test_finalize_without_exceeded_changes_nothing() -> None:
    """No exceeded charge: the same outcome comes back."""
    out = decide(_check(Action(kind="shell", target="ls")), _world(), NOW)
    assert finalize(out, []) is out


def test_outcomes_are_msgspec_structs() -> None:
    """Outcome works with msgspec.structs.replace, which the handler uses."""
    out = decide(_check(), _world(paused={"a1": "x"}), NOW)
    assert msgspec.structs.replace(out, code="deadline_exceeded").code == "deadline_exceeded"


def test_an_agent_under_anomaly_review_has_its_allows_reviewed() -> None:
    """The anomaly service's review response (cumulative risk at R1) reaches the policy: an allow or redact
    becomes a review naming the anomaly, a deny stays a deny, and it ends with its window or a resume."""
    from agentgov.contracts.events import AgentResumed, AnomalyDetected
    from agentgov.policy.projection import Projection

    projection = Projection(trust=TrustStore([]), salt=b"salt")
    world = replace(_world(), under_review=projection.under_review)
    finding = AnomalyDetected(
        id="an-1",
        ts=NOW - 60 * 10**9,
        agent="a1",
        kind="cumulative_risk",
        severity=60,
        explanation="risk 240 in 10 min (review at 200)",
        response="review",
        window_s=600,
    )
    projection.apply(AnomalyDetected(**{**msgspec.structs.asdict(finding), "id": "an-0", "response": "none"}))
    assert decide(_check(Action(kind="shell", target="ls")), world, NOW).verdict == "allow"
    projection.apply(finding)
    out = decide(_check(Action(kind="shell", target="ls")), world, NOW)
    assert (out.verdict, out.claim) == ("review", "evaluated")
    assert out.rules[-1].id == "anomaly.review" and "risk 240 in 10 min" in out.reasons[-1]
    assert (out.approval_timeout_s, out.approval_fallback) == (900, "deny")
    assert decide(_check(), world, NOW).verdict == "review"  # a redact is held back as well
    assert decide(_check(Action(kind="shell", target="rm -rf /")), world, NOW).verdict == "deny"
    later = NOW + 600 * 10**9
    token, _ = issue_token(KEY, agent="a1", org="acme", team="pay", now=later // 10**9)
    assert decide(_check(Action(kind="shell", target="ls"), token=token), world, later).verdict == "allow"
    projection.apply(AgentResumed(agent="a1", ts=NOW))
    assert decide(_check(Action(kind="shell", target="ls")), world, NOW).verdict == "allow"
