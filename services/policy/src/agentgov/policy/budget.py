"""Budget on the decision path: read what is left before evaluating, reserve the estimate after.

Only checks that need it touch the ledger: an ``llm_call`` or an action with ``estimated_usd_micros``, of an
agent whose bundle has a ``budget`` section at one of its levels. Any other check costs nothing here.

1. :meth:`BudgetGate.read` asks the ledger what remains over the agent's scopes (agent, team, org, global)
   and gives evaluation a :class:`~agentgov.policy.lang.BudgetView` (``deny_when_remaining_below_usd``
   and the CEL ``budget`` variable read it);
2. :meth:`BudgetGate.reserve`, when the verdict is allow or redact and the request carries an estimate,
   holds the estimate on every limited window (all or nothing, :mod:`agentgov.ledger`). A refusal turns the
   verdict into a deny by rule ``budget.exceeded`` whose reason names the budget and how much it would be
   exceeded by. The hold lasts ``hold_ns``; the budget service releases it when the SpendRecorded of the
   same request arrives (:func:`agentgov.ledger.hold_id`).

Fail closed: when the ledger cannot be reached, the check gets the bundle's ``budget.when_unknown`` (the
strictest of the applicable levels); with ``when_unknown: allow`` the decision says so in its errors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import msgspec

from agentgov.contracts.events import MatchedRule, Verdict
from agentgov.contracts.requests import CheckAction
from agentgov.ledger import Ledger, LedgerError, Reservation, hold_id, scopes_of
from agentgov.policy.domain import Outcome, World
from agentgov.policy.lang import BudgetView
from agentgov.policy.lang.conditions import BudgetSection
from agentgov.policy.lang.inputs import CLAIMS, STRICTNESS

log = logging.getLogger(__name__)

EXCEEDED = "budget.exceeded"
UNKNOWN = "budget.unknown"


@dataclass(frozen=True, slots=True)
class BudgetRead:
    """What a check learned from the ledger before evaluation."""

    view: BudgetView
    scopes: list[str]
    sections: tuple[BudgetSection, ...]
    error: str | None = None
    """Why the ledger could not be read (then ``view`` knows nothing)."""


class BudgetGate:
    """Reads and reserves budget for the checks that need it."""

    def __init__(self, ledger: Ledger, *, hold_ns: int) -> None:
        self.ledger = ledger
        self.hold_ns = hold_ns

    def sections(self, check: CheckAction, world: World) -> tuple[BudgetSection, ...]:
        """The budget sections that apply to the check (empty: the ledger is not needed)."""
        if check.action.kind != "llm_call" and check.estimated_usd_micros is None:
            return ()
        facts = world.agents.get(check.agent)
        if facts is None:
            return ()
        bundle = world.bundles.get(f"org:{facts.org}") or world.bundles.get("*")
        if bundle is None:
            return ()
        levels = bundle.levels(facts.team, facts.id)
        return tuple(s for lv in levels for s in lv.sections if isinstance(s, BudgetSection))

    async def read(self, check: CheckAction, world: World, now_ns: int) -> BudgetRead | None:
        """What remains for the check's agent, or None when the check needs no budget."""
        sections = self.sections(check, world)
        if not sections:
            return None
        facts = world.agents[check.agent]
        scopes = scopes_of(facts.id, facts.team or None, facts.org or None)
        try:
            left = await self.ledger.remaining(scopes, now_ns)
        except LedgerError as exc:
            log.warning("budget ledger unavailable for %s: %s", check.agent, exc)
            return BudgetRead(BudgetView(), scopes, sections, f"the budget ledger is unavailable: {exc}")
        return BudgetRead(BudgetView(left, unlimited=left is None), scopes, sections)

    async def reserve(self, check: CheckAction, outcome: Outcome, read: BudgetRead, now_ns: int) -> Outcome:
        """Hold the estimate when the verdict lets the action run; deny when it does not fit."""
        if read.error is not None:
            return _unknown(outcome, read, read.error)
        est = check.estimated_usd_micros
        if outcome.verdict not in ("allow", "redact") or est is None or est <= 0:
            return outcome
        try:
            res = await self.ledger.reserve(
                hold_id(check.agent, check.request_id), read.scopes, est, now_ns, self.hold_ns
            )
        except LedgerError as exc:
            log.warning("budget reservation failed for %s: %s", check.agent, exc)
            return _unknown(outcome, read, f"the budget ledger is unavailable: {exc}")
        if res.ok:
            return msgspec.structs.replace(outcome, reserved_usd_micros=res.usd_micros, budget_scopes=list(res.scopes))
        return exceeded(outcome, res, read.sections[0].scope)


def exceeded(outcome: Outcome, res: Reservation, scope: str) -> Outcome:
    """The outcome denied by ``budget.exceeded``: one reason per window the estimate would overrun."""
    lines = [s.describe() for s in res.shortfalls] or [res.reason or "the budget reservation was refused"]
    rules = [MatchedRule(id=EXCEEDED, effect="deny", reason=line, scope=scope) for line in lines]
    return msgspec.structs.replace(
        outcome,
        verdict="deny",
        claim="denied_before_execution",
        rules=[*outcome.rules, *rules],
        reasons=lines,
        charges=[],
        taint=[],
    )


def _unknown(outcome: Outcome, read: BudgetRead, why: str) -> Outcome:
    """Apply the strictest ``when_unknown`` of the check's budget sections (fail closed)."""
    if any(r.id == UNKNOWN for r in outcome.rules):  # evaluation already voted it (deny_when_remaining_below)
        return outcome
    section = max(read.sections, key=lambda s: STRICTNESS[s.s.when_unknown])
    effect: Verdict = section.s.when_unknown
    line = f"{why}; budget.when_unknown is {effect}"
    rule = MatchedRule(id=UNKNOWN, effect=effect, reason=line, scope=section.scope)
    if STRICTNESS[effect] <= STRICTNESS[outcome.verdict]:
        return msgspec.structs.replace(outcome, rules=[*outcome.rules, rule], errors=[*outcome.errors, line])
    denied = effect == "deny"
    return msgspec.structs.replace(
        outcome,
        verdict=effect,
        claim=CLAIMS[effect],
        rules=[*outcome.rules, rule],
        reasons=[line],
        charges=[] if denied else outcome.charges,
        taint=[] if denied else outcome.taint,
    )
