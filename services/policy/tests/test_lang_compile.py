"""Compiling a bundle: its identity, rule ids and the levels that apply to an agent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agentgov.policy.lang import compile_bundle, load_bundle
from agentgov.policy.lang.model import Bundle, Policy, Rule

EXAMPLE = Path(__file__).parents[3] / "examples" / "policies" / "acme-payments.yaml"
HEADER = 'apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {name: t, scope: "org:acme"}\n'


def test_identity() -> None:
    """A compiled bundle knows its name, scope, revision, default and the SHA-256 of its source."""
    src = EXAMPLE.read_text()
    b = compile_bundle(load_bundle(src, "acme.yaml"), revision=7)
    assert (b.name, b.scope, b.revision, b.default) == ("acme-payments", "org:acme", 7, "deny")
    assert b.sha256 == hashlib.sha256(src.encode()).hexdigest()


def test_rule_ids_name_every_rule_once_with_level_prefixes() -> None:
    """rule_ids lists user rules, synthesized section ids, limits and thresholds; lower levels are prefixed."""
    src = HEADER + (
        "tools: {allow: [a], settings: {'g*': {effect: review, rate: 1/1s}}}\n"
        "risk: {review_at: 50}\n"
        "rules: [{id: r1, effect: deny}]\n"
        "rate_limits: [{id: burst, limit: 1, per: 1s}]\n"
        "teams: {pay: {shell: {deny: [x]}}}\n"
        "agents: {a1: {rules: [{id: r2, effect: allow}]}}\n"
    )
    ids = compile_bundle(load_bundle(src)).rule_ids
    assert ids == (
        "default",
        "tools.allow",
        "tools.not_allowed",
        "r1",
        "rate_limits.burst",
        "risk.review_at",
        "tool:g*/tools.settings",
        "tool:g*/tools.settings.rate",
        "team:pay/shell.deny",
        "agent:a1/r2",
    )


def test_levels_for_an_agent() -> None:
    """An agent gets the org level, its team's level and its own, in that order."""
    src = HEADER + "teams: {pay: {}}\nagents: {a1: {}, a2: {}}\n"
    b = compile_bundle(load_bundle(src))
    assert [lv.scope for lv in b.levels("pay", "a1")] == ["org", "team:pay", "agent:a1"]
    assert [lv.scope for lv in b.levels("ops", "a3")] == ["org"]


def test_compiling_a_hand_made_bundle_with_bad_cel_fails_loudly() -> None:
    """A Bundle that did not come from load_bundle is still not compiled with broken CEL."""
    bad = Bundle(
        name="x",
        scope="*",
        source="",
        filename="",
        sha256="",
        org=Policy(rules=(Rule(id="r", effect="deny", when="1 +"),)),
    )
    with pytest.raises(ValueError, match="rule r"):
        compile_bundle(bad)


def test_a_compiled_bundle_evaluates_repeatedly_without_recompiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Evaluation never compiles CEL: the programs were built once, at compile time."""
    import cel

    from agentgov.contracts.events import Action
    from agentgov.policy.lang import AgentFacts, EvalInput

    b = compile_bundle(load_bundle(EXAMPLE.read_text()))

    def refuse(_: str) -> None:
        raise AssertionError("cel.compile called during evaluation")

    monkeypatch.setattr(cel, "compile", refuse)
    agent = AgentFacts("a1", "acme", "payments", trust=20)
    for target in ("git status", "make deploy-staging"):
        ev = b.evaluate(EvalInput(action=Action(kind="shell", tool="run_shell", target=target), agent=agent, now_ns=0))
        assert ev.verdict in ("review", "deny")
