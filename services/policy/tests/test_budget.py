"""The budget gate's pure parts: which checks need the ledger, and how a refusal or an outage changes a verdict."""

from __future__ import annotations

from agentgov.contracts.events import Action
from agentgov.contracts.requests import CheckAction
from agentgov.identity.operators import TrustStore
from agentgov.identity.tokens import TokenVerifier
from agentgov.ledger import Reservation, Shortfall
from agentgov.policy.budget import BudgetGate, BudgetRead, _unknown, exceeded
from agentgov.policy.domain import AgentFacts, Outcome, World
from agentgov.policy.lang import BudgetView, EvalInput, compile_bundle, load_bundle

BUNDLE = """\
apiVersion: agentgov/v1
kind: PolicyBundle
metadata:
  name: b
  scope: "*"
default: allow
budget:
  when_unknown: review
"""
ALLOWED = Outcome(verdict="allow", claim="evaluated", action=Action(kind="llm_call"))


def world() -> World:
    """A world with one agent and the bundle above."""
    return World(
        bundles={"*": compile_bundle(load_bundle(BUNDLE, "b.yaml"))},
        agents={"a1": AgentFacts(id="a1", org="acme", team="ml")},
        retired={},
        paused={},
        revoked_tokens=set(),
        revoked_before={},
        tokens=TokenVerifier(TrustStore([])),
        salt=b"",
    )


def test_only_llm_calls_or_estimates_of_budgeted_agents_need_the_ledger() -> None:
    """A shell check without an estimate, or an unknown agent, needs no ledger; an LLM call does."""
    gate = BudgetGate(ledger=None, hold_ns=1)  # type: ignore[arg-type]
    w = world()
    base = CheckAction(request_id="r1", agent="a1", token="t", action=Action(kind="shell", target="ls"))
    assert gate.sections(base, w) == ()
    assert gate.sections(CheckAction(request_id="r1", agent="zz", token="t", action=Action(kind="llm_call")), w) == ()
    assert (
        len(gate.sections(CheckAction(request_id="r1", agent="a1", token="t", action=Action(kind="llm_call")), w)) == 1
    )
    priced = CheckAction(request_id="r1", agent="a1", token="t", action=base.action, estimated_usd_micros=5)
    assert len(gate.sections(priced, w)) == 1


def test_a_refused_reservation_denies_with_each_shortfall() -> None:
    """A refusal becomes a deny by budget.exceeded, one reason per overrun window."""
    short = Shortfall("team:ml", "daily", 1_000_000, 900_000, 0, 200_000, 100_000)
    out = exceeded(ALLOWED, Reservation(False, "a1:r1", 200_000, [], [short]), "org")
    assert out.verdict == "deny" and out.claim == "denied_before_execution"
    assert out.reasons == [short.describe()] and out.rules[-1].id == "budget.exceeded"


def test_an_outage_applies_when_unknown() -> None:
    """With the ledger down an allow becomes the bundle's when_unknown (review here), a deny stays a deny."""
    w = world()
    sections = BudgetGate(ledger=None, hold_ns=1).sections(  # type: ignore[arg-type]
        CheckAction(request_id="r1", agent="a1", token="t", action=Action(kind="llm_call")), w
    )
    read = BudgetRead(BudgetView(), ["agent:a1"], sections, "down")
    out = _unknown(ALLOWED, read, "down")
    assert out.verdict == "review" and out.rules[-1].id == "budget.unknown"
    denied = Outcome(verdict="deny", claim="denied_before_execution", action=Action(kind="llm_call"))
    assert _unknown(denied, read, "down").verdict == "deny"


def test_unlimited_is_known_and_unknown_is_not() -> None:
    """No limit on any scope is a known answer (when_unknown stays silent); no answer at all is unknown."""
    source = BUNDLE.replace("  when_unknown: review\n", "  deny_when_remaining_below_usd: 1.0\n  when_unknown: deny\n")
    compiled = compile_bundle(load_bundle(source, "b.yaml"))
    facts = AgentFacts(id="a1", org="acme", team="ml")

    def rules(view: BudgetView) -> list[str]:
        inp = EvalInput(action=Action(kind="llm_call"), agent=facts, now_ns=0, budget=view)
        return [r.id for r in compiled.evaluate(inp).rules]

    assert "budget.unknown" not in rules(BudgetView(unlimited=True))
    assert "budget.unknown" in rules(BudgetView())
    assert "budget.remaining_below" in rules(BudgetView(500_000))
