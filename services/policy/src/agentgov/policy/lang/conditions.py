"""The compiled condition sections of one level: data, schedule, budget; and compiled ``match`` blocks.

Like the scope sections (:mod:`~agentgov.policy.lang.sections`) each votes with ``vote(state, out)`` and lists
the rule ids it can produce with ``ids()``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from agentgov.contracts.events import MatchedRule
from agentgov.policy.lang import model
from agentgov.policy.lang.globs import GlobSet
from agentgov.policy.lang.schedule import active
from agentgov.policy.lang.state import State


class DataSection:
    """``data.secrets|pii``: what findings do to the verdict (they are always redacted when persisted)."""

    _EFFECT = {"redact": "redact", "block": "deny"}

    def __init__(self, scope: str, s: model.Data) -> None:
        self.scope = scope
        self.secrets = s.secrets
        self.pii = s.pii

    def ids(self) -> list[str]:
        """Rule ids this section can produce."""
        return [f"data.{c}" for c, mode in (("secrets", self.secrets), ("pii", self.pii)) if mode in self._EFFECT]

    def vote(self, st: State, out: list[MatchedRule]) -> None:
        """A redact or deny vote per category with findings, as the section says."""
        for category, name, mode in (("secret", "secrets", self.secrets), ("pii", "pii", self.pii)):
            effect = self._EFFECT.get(mode or "")
            if effect is None:
                continue
            found = [f for f in st.findings if f.category == category]
            if found:
                what = ", ".join(sorted({f"{f.kind} in {f.field}" for f in found}))
                why = f"{'blocked' if effect == 'deny' else 'redacted'} {name}: {what}"
                out.append(MatchedRule(id=f"data.{name}", effect=effect, reason=why, scope=self.scope))  # type: ignore[arg-type]


class ScheduleSection:
    """``schedule``: a vote when the action falls outside every active window."""

    def __init__(self, scope: str, s: model.Schedule, tz: ZoneInfo) -> None:
        self.scope = scope
        self.s = s
        self.tz = tz
        self.match = Matcher(s.match)

    def ids(self) -> list[str]:
        """Rule ids this section can produce."""
        return ["schedule.outside"]

    def vote(self, st: State, out: list[MatchedRule]) -> None:
        """Vote the ``outside`` effect when no window covers the local time."""
        if not self.match.test(st.action.kind, st.action.tool):
            return
        local = st.local(self.tz)
        if not active(self.s.active, local):
            why = f"{local:%a %H:%M} ({self.tz.key}) is outside the active schedule"
            out.append(MatchedRule(id="schedule.outside", effect=self.s.outside, reason=why, scope=self.scope))


class BudgetSection:
    """``budget``: for LLM calls and any action with a cost estimate."""

    def __init__(self, scope: str, s: model.Budget) -> None:
        self.scope = scope
        self.s = s

    def ids(self) -> list[str]:
        """Rule ids this section can produce."""
        ids = ["budget.estimate_over"] if self.s.review_over_micros is not None else []
        if self.s.deny_below_micros is not None:
            ids.append("budget.remaining_below")
            ids += ["budget.unknown"] if self.s.when_unknown != "allow" else []
        return ids

    def vote(self, st: State, out: list[MatchedRule]) -> None:
        """Review large estimates; deny when little is left; ``when_unknown`` when nothing is known."""
        inp = st.inp
        if st.action.kind != "llm_call" and inp.estimated_usd_micros is None:
            return
        s, est = self.s, inp.estimated_usd_micros
        if s.review_over_micros is not None and est is not None and est > s.review_over_micros:
            why = f"estimated cost ${est / 1e6:.2f} is over ${s.review_over_micros / 1e6:.2f}"
            out.append(MatchedRule(id="budget.estimate_over", effect="review", reason=why, scope=self.scope))
        if s.deny_below_micros is None:
            return
        if inp.budget is not None and inp.budget.unlimited:
            return
        left = inp.budget.remaining_usd_micros if inp.budget is not None else None
        if left is None:
            if s.when_unknown != "allow":
                why = "the remaining budget is not known (no budget service data)"
                out.append(MatchedRule(id="budget.unknown", effect=s.when_unknown, reason=why, scope=self.scope))
        elif left < s.deny_below_micros:
            why = f"remaining budget ${left / 1e6:.2f} is below ${s.deny_below_micros / 1e6:.2f}"
            out.append(MatchedRule(id="budget.remaining_below", effect="deny", reason=why, scope=self.scope))


class Matcher:
    """A compiled ``match``: the action's kind is one of ``kinds`` and its tool matches ``tools`` (None = any)."""

    __slots__ = ("kinds", "tools")

    def __init__(self, m: model.Match) -> None:
        self.kinds = frozenset(m.kinds) if m.kinds is not None else None
        self.tools = GlobSet(m.tools, "name") if m.tools is not None else None

    def test(self, kind: str, tool: str | None) -> bool:
        """True when an action of ``kind`` with ``tool`` is matched."""
        if self.kinds is not None and kind not in self.kinds:
            return False
        return self.tools is None or (tool is not None and self.tools.match(tool) is not None)
