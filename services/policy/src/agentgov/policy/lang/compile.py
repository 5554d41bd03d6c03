"""compile: a validated bundle to a :class:`CompiledBundle`, once per revision.

Compiling builds every matcher (glob regexes, host tables, schedules, CEL programs, the rule index) so that
evaluation does no YAML, no regex compilation and no CEL compilation.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentgov.policy.lang import model
from agentgov.policy.lang.celcache import ContextCache
from agentgov.policy.lang.evaluate import Plan, evaluate
from agentgov.policy.lang.inputs import EvalInput, Evaluation
from agentgov.policy.lang.levels import Level
from agentgov.policy.lang.scanner import DEFAULT_SCANNER, Scanner


class CompiledBundle:
    """A bundle ready to evaluate. Immutable after construction; :meth:`evaluate` is pure."""

    def __init__(self, bundle: model.Bundle, revision: int, scanner: Scanner, salt: bytes) -> None:
        self.bundle = bundle
        self.name = bundle.name
        self.scope = bundle.scope
        self.revision = revision
        self.sha256 = bundle.sha256
        self.default: model.Default = bundle.default
        self.scanner = scanner
        self.salt = salt
        self.org = Level("org", bundle.org, bundle.timezone)
        self.teams: Mapping[str, Level] = {t: Level(f"team:{t}", p, bundle.timezone) for t, p in bundle.teams.items()}
        self.agents: Mapping[str, Level] = {
            a: Level(f"agent:{a}", p, bundle.timezone) for a, p in bundle.agents.items()
        }
        ids = ["default", *self.org.ids()]
        for lv in (*self.teams.values(), *self.agents.values()):
            ids += lv.ids()
        self.rule_ids: tuple[str, ...] = tuple(dict.fromkeys(ids))
        """Every rule id the bundle can produce (``<scope>/<id>`` below the org level), in bundle order."""
        self._contexts = ContextCache()
        self._plans: dict[tuple[str, str], Plan] = {}
        """Plans by (team, agent) for the teams and agents the bundle names (so at most their product)."""

    def levels(self, team: str, agent: str) -> tuple[Level, ...]:
        """The levels that apply to an agent: org, its team's, its own."""
        return self._plan(team, agent).levels

    def _plan(self, team: str, agent: str) -> Plan:
        t, a = self.teams.get(team), self.agents.get(agent)
        key = (team if t is not None else "", agent if a is not None else "")
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = Plan.of(tuple(lv for lv in (self.org, t, a) if lv is not None))
        return plan

    def approvals(self, team: str, agent: str) -> model.Approvals:
        """The ``approvals`` section that applies to an agent: its own, else its team's, else the bundle's (else
        the defaults). A review's own settings are in its :class:`Evaluation` (a review rule may carry some)."""
        return self._plan(team, agent).approvals

    def evaluate(self, inp: EvalInput) -> Evaluation:
        """Decide one action. Pure: the same input gives the same evaluation."""
        plan = self._plan(inp.agent.team, inp.agent.id)
        salt = inp.salt if inp.salt else self.salt
        return evaluate(
            plan,
            inp,
            default=self.default,
            scope=self.scope,
            scanner=self.scanner,
            salt=salt,
            contexts=self._contexts,
        )

    def __repr__(self) -> str:
        return (
            f"CompiledBundle({self.name!r}, scope={self.scope!r}, revision={self.revision}, rules={len(self.rule_ids)})"
        )


def compile_bundle(
    bundle: model.Bundle, *, revision: int = 0, scanner: Scanner = DEFAULT_SCANNER, salt: bytes = b""
) -> CompiledBundle:
    """Compile a validated bundle (from :func:`~agentgov.policy.lang.load_bundle`) for one revision."""
    return CompiledBundle(bundle, revision, scanner, salt)
