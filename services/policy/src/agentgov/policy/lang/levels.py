"""A compiled level (the bundle top, a team, an agent): its sections, tool settings, limits and thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from agentgov.contracts.events import MatchedRule
from agentgov.contracts.units import format_duration
from agentgov.policy.lang import model
from agentgov.policy.lang.conditions import BudgetSection, DataSection, Matcher, ScheduleSection
from agentgov.policy.lang.globs import GlobSet
from agentgov.policy.lang.inputs import AgentFacts, full_id
from agentgov.policy.lang.rules import RulesSection
from agentgov.policy.lang.schedule import zone
from agentgov.policy.lang.sections import FilesSection, NetworkSection, ShellSection, ToolsSection
from agentgov.policy.lang.state import State
from agentgov.policy.ratelimit import RateCharge

Section = ToolsSection | ShellSection | FilesSection | NetworkSection | DataSection | ScheduleSection | BudgetSection


@dataclass(frozen=True, slots=True)
class ToolSettingC:
    """One ``tools.settings.<glob>`` entry, compiled; its votes carry the scope ``[<level>/]tool:<glob>``."""

    glob: GlobSet
    s: model.ToolSetting
    scope: str

    def ids(self) -> list[str]:
        """Rule ids this entry can produce."""
        s = self.s
        named = {
            "tools.settings": s.effect,
            "tools.settings.max_args_bytes": s.max_args_bytes,
            "tools.settings.rate": s.rate,
        }
        return [k for k, v in named.items() if v is not None]

    def vote(self, st: State, out: list[MatchedRule]) -> None:
        """The entry's effect, and a deny when the arguments are too large."""
        s = self.s
        if s.effect is not None:
            why = f"tool {st.action.tool!r} has effect {s.effect} in tools.settings {s.glob!r}"
            out.append(MatchedRule(id="tools.settings", effect=s.effect, reason=why, scope=self.scope))
        if s.max_args_bytes is not None and st.args_bytes() > s.max_args_bytes:
            why = f"arguments are {st.args_bytes()} bytes, over max_args_bytes {s.max_args_bytes} of {s.glob!r}"
            out.append(MatchedRule(id="tools.settings.max_args_bytes", effect="deny", reason=why, scope=self.scope))


@dataclass(frozen=True, slots=True)
class LimitC:
    """One ``rate_limits`` entry, compiled."""

    limit: model.RateLimit
    match: Matcher
    scope: str


class Level:
    """Everything one level says, compiled."""

    def __init__(self, scope: str, p: model.Policy, default_tz: str) -> None:
        self.scope = scope
        self.tz: ZoneInfo = zone(p.timezone or default_tz)
        sections: list[Section | None] = [
            ToolsSection(scope, p.tools) if p.tools else None,
            ShellSection(scope, p.shell) if p.shell else None,
            FilesSection(scope, p.files) if p.files and (p.files.read or p.files.write or p.files.sensitive) else None,
            NetworkSection(scope, p.network) if p.network and (p.network.allow or p.network.deny) else None,
            DataSection(scope, p.data) if p.data else None,
            ScheduleSection(scope, p.schedule, zone(p.schedule.timezone) if p.schedule.timezone else self.tz)
            if p.schedule
            else None,
            BudgetSection(scope, p.budget) if p.budget else None,
        ]
        self.sections = tuple(s for s in sections if s is not None)
        self.rules = RulesSection(scope, p.rules, self.tz) if p.rules else None
        prefix = "" if scope == "org" else f"{scope}/"
        settings = p.tools.settings if p.tools else ()
        self.settings = tuple(ToolSettingC(GlobSet([s.glob], "name"), s, f"{prefix}tool:{s.glob}") for s in settings)
        self.limits = tuple(LimitC(r, Matcher(r.match), scope) for r in p.rate_limits)
        self.risk = p.risk
        self.data = p.data
        self.approvals = p.approvals

    def ids(self) -> list[str]:
        """Every full rule id this level can produce."""
        bare = [i for s in self.sections for i in s.ids()]
        bare += self.rules.ids() if self.rules else []
        bare += [f"rate_limits.{c.limit.id}" for c in self.limits]
        if self.risk is not None:
            bare += [f"risk.{k}" for k in ("review_at", "deny_at") if getattr(self.risk, k) is not None]
        ids = [full_id(self.scope, i) for i in bare]
        return ids + [full_id(s.scope, i) for s in self.settings for i in s.ids()]

    def risk_vote(self, risk: int, out: list[MatchedRule]) -> None:
        """A deny or review vote when ``risk`` reaches this level's thresholds."""
        r = self.risk
        if r is None:
            return
        if r.deny_at is not None and risk >= r.deny_at:
            out.append(
                MatchedRule(
                    id="risk.deny_at",
                    effect="deny",
                    reason=f"risk {risk} is at or above deny_at {r.deny_at}",
                    scope=self.scope,
                )
            )
        elif r.review_at is not None and risk >= r.review_at:
            why = f"risk {risk} is at or above review_at {r.review_at}"
            out.append(MatchedRule(id="risk.review_at", effect="review", reason=why, scope=self.scope))

    def charges(self, st: State, bundle_scope: str, agent: AgentFacts, out: list[RateCharge]) -> None:
        """The rate-limit charges this level makes for the action."""
        kind, tool = st.action.kind, st.action.tool
        for c in self.limits:
            if c.match.test(kind, tool):
                lim = c.limit
                who = {"agent": agent.id, "team": f"{agent.org}/{agent.team}", "org": agent.org}[lim.key]
                key = f"{bundle_scope}|{self.scope}|{lim.id}|{lim.key}:{who}"
                out.append(RateCharge(key, lim.limit, lim.per_s, f"rate_limits.{lim.id}", self.scope))


def describe(charge: RateCharge) -> str:
    """A human line for an exceeded charge."""
    per = format_duration(charge.window_s)
    return f"{full_id(charge.scope, charge.rule_id)}: more than {charge.limit} requests per {per}"
