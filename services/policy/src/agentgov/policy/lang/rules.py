"""CEL rules of one level, indexed by action kind so only candidate rules run.

Each rule's ``when`` was compiled once, at bundle compile time. At evaluation the candidates for the
action's kind are filtered by their ``match.tools`` globs, then run on the evaluation's single CEL context
(built on first use with only the variables, fields and keys the kind's candidates read). A rule that
raises, or whose ``when`` is not a boolean, is skipped, reported in ``errors`` as ``rule <id>: <error>``,
and votes ``review``: a rule that could not decide never lets an action through unseen. A review rule that
matched and carries an ``approval`` leaves it in the state, for the approval settings of a review verdict
(a rule that failed did not match: its review has the level-wide settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from agentgov.contracts.events import MatchedRule
from agentgov.policy.lang import model
from agentgov.policy.lang.celexpr import CelProblem, compile_when
from agentgov.policy.lang.celneeds import Needs, merge
from agentgov.policy.lang.conditions import Matcher
from agentgov.policy.lang.state import State


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule, ready to run."""

    rule: model.Rule
    program: Any
    needs: Needs
    match: Matcher


class RulesSection:
    """The ``rules`` of one level."""

    def __init__(self, scope: str, rules: tuple[model.Rule, ...], tz: ZoneInfo) -> None:
        self.scope = scope
        self.tz = tz
        compiled: list[CompiledRule] = []
        for r in rules:
            program, needs = None, {}
            if r.when is not None:
                got = compile_when(r.when)
                if isinstance(got, CelProblem):  # load_bundle rejected it already; only a hand-made Bundle gets here
                    raise ValueError(f"rule {r.id}: {got.message}")
                program, needs = got.program, got.needs
            compiled.append(CompiledRule(r, program, needs, Matcher(r.match)))
        self.rules = tuple(compiled)
        self._by_kind: dict[str, tuple[tuple[CompiledRule, ...], Needs]] = {}
        """Per action kind: the candidate rules, and what they read together (one context serves them all)."""
        for k in model.KINDS:
            candidates = tuple(c for c in compiled if c.match.kinds is None or k in c.match.kinds)
            union: Needs = {}
            for c in candidates:
                union = merge(union, c.needs)
            self._by_kind[k] = (candidates, union)

    def ids(self) -> list[str]:
        """Rule ids this section can produce."""
        return [c.rule.id for c in self.rules]

    def vote(self, st: State, out: list[MatchedRule]) -> int:
        """Run the candidate rules; append their votes; return the highest ``risk`` of the rules that matched."""
        tool = st.action.tool
        risk = 0
        candidates, needs = self._by_kind.get(st.action.kind, ((), {}))
        ctx = None
        for c in candidates:
            tools = c.match.tools
            if tools is not None and (tool is None or tools.match(tool) is None):
                continue
            if c.program is not None:
                if ctx is None:
                    ctx = st.cel_context(needs, self.tz)
                try:
                    result = c.program.execute(ctx)
                except Exception as exc:  # any CEL run-time failure (missing key, type, division) is reported
                    self._failed(st, c, f"{type(exc).__name__}: {exc}", out)
                    continue
                if result is not True:
                    if result is not False:
                        self._failed(st, c, f"`when` returned {type(result).__name__} {result!r}, not a boolean", out)
                    continue
            r = c.rule
            out.append(
                MatchedRule(id=r.id, effect=r.effect, reason=r.reason or f"rule {r.id} matched", scope=self.scope)
            )
            if r.approval is not None:
                st.rule_approvals[(self.scope, r.id)] = r.approval
            if r.risk is not None and r.risk > risk:
                risk = r.risk
        return risk

    def _failed(self, st: State, c: CompiledRule, error: str, out: list[MatchedRule]) -> None:
        st.errors.append(f"rule {c.rule.id}: {error}")
        why = f"rule {c.rule.id} could not be evaluated ({error}); review required"
        out.append(MatchedRule(id=c.rule.id, effect="review", reason=why, scope=self.scope))
