"""The functional core: events in, findings out, and the per-agent circuit breaker. No NATS, no clock.

:meth:`Anomalies.observe` applies one event to the :class:`~agentgov.anomaly.baseline.State` and returns the
:class:`Finding` s it raises. Time is the events' own ``ts`` (per agent never running backwards), so a
replay of the same stream gives the same findings with the same ids: that is what makes restarts and
``--rebuild`` safe (ids are derived from the triggering event, see :func:`derived_id`).

The responder and breaker, per agent:
- a finding whose detector asks for ``pause`` pauses the agent (AgentPaused, ``by="anomaly"``);
- so does the ``breaker.count``-th finding of severity 50 or more within ``breaker.window`` (the breaker trips);
- after an AgentResumed the live windows, cool-downs and breaker are cleared (the condition that paused the
  agent is over), and for ``breaker.grace`` the breaker is *half-open*: the first finding of severity 50
  or more pauses the agent again at once;
- a paused agent raises no findings (and is never paused again) until it is resumed; ``pause: false`` in
  the bundle turns pauses into ``review`` findings; one finding per agent, kind and response per ``cooldown``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from agentgov.anomaly import detectors as d
from agentgov.anomaly.baseline import MAX_TARGETS, NS, AgentBaseline, State, ToolRate, Window
from agentgov.anomaly.config import DEFAULTS, AnomalyConfig, BundleSections, ConfigError, read_bundle
from agentgov.anomaly.errors import BadEventError, UnknownAgentError
from agentgov.anomaly.trust import untrusted_because
from agentgov.contracts import codec
from agentgov.contracts.events import (
    ActionDecided,
    AgentPaused,
    AgentRegistered,
    AgentResumed,
    AgentRetired,
    KnownEvent,
    PolicyPublished,
    SpendRecorded,
)
from agentgov.contracts.events_anomaly import AnomalyKind, AnomalyResponse
from agentgov.identity.operators import TrustStore

log = logging.getLogger(__name__)

WEIGHTY = 50
"""Findings of at least this severity count towards the breaker."""
MAX_SPEND_MICROS = 1_000_000_000
"""One SpendRecorded above $1,000 is taken for a bad value, not a spend spike."""
MAX_TOKENS = 100_000_000
MAX_TS = 1 << 62


@dataclass(frozen=True, slots=True)
class Finding:
    """One anomaly to record (and, when ``pause``, the AgentPaused to append after it)."""

    id: str
    agent: str
    kind: AnomalyKind
    severity: int
    response: AnomalyResponse
    explanation: str
    ts: int
    trigger: str
    observed: int = 0
    baseline: int = 0
    unit: str = ""
    window_s: int = 0
    events: list[str] = field(default_factory=list)
    team: str | None = None
    org: str | None = None
    pause: bool = False

    @property
    def pause_id(self) -> str:
        """The id of the AgentPaused this finding appends (derived, so a retry is de-duplicated)."""
        return derived_id(self.ts, f"{self.id}|pause")


def derived_id(ts: int, key: str) -> str:
    """A UUIDv7-shaped id whose time is ``ts`` (ns) and whose random bits are a hash of ``key``."""
    ms = (ts // 1_000_000) & ((1 << 48) - 1)
    rand = int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big") >> 6
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Anomalies:
    """The anomaly projection and detectors over a :class:`State` (restored from a snapshot or empty)."""

    def __init__(self, state: State | None = None, trust: TrustStore | None = None) -> None:
        """``trust``: the operators whose signed bundles may set thresholds (none: every bundle is refused)."""
        self.state = state or State()
        self.trust = trust if trust is not None else TrustStore()
        self._sections: dict[str, BundleSections] = {}
        self._configs: dict[str, tuple[AnomalyConfig, str]] = {}
        self.untrusted: dict[str, str] = {}
        """Scopes whose restored bundle the trust in force no longer accepts, and why (they are dropped;
        the service then rebuilds from the stream, so an older, still trusted revision comes back)."""
        for scope, event in list(self.state.bundles.items()):
            why = untrusted_because(self.trust, event)
            if why is None:
                self._sections[scope] = read_bundle(event.source)
            else:
                self.untrusted[scope] = why
                del self.state.bundles[scope]

    # -- config ------------------------------------------------------------------------------------

    def config(self, b: AgentBaseline) -> tuple[AnomalyConfig, str]:
        """The agent's thresholds and time zone from the bundle of its org (or ``*``), defaults without one."""
        got = self._configs.get(b.agent)
        if got is None:
            sections = self._sections.get(f"org:{b.org}") or self._sections.get("*")
            cfg, tz = sections.for_agent(b.agent, b.team) if sections is not None else (DEFAULTS, "UTC")
            got = self._configs[b.agent] = (cfg, b.timezone or tz)
        return got

    def _policy(self, event: PolicyPublished) -> None:
        why = untrusted_because(self.trust, event)
        if why is not None:
            raise BadEventError("PolicyPublished", event.id, f"signature: {why}", code="untrusted_bundle")
        current = self.state.bundles.get(event.scope)
        if current is not None and event.revision <= current.revision:
            raise BadEventError(
                "PolicyPublished", event.id, f"revision {event.revision} is not newer", code="stale_revision"
            )
        if hashlib.sha256(event.source.encode()).hexdigest() != event.sha256:
            raise BadEventError("PolicyPublished", event.id, "source does not match its sha256", code="bad_bundle")
        try:
            sections = read_bundle(event.source)
        except ConfigError as exc:
            raise BadEventError("PolicyPublished", event.id, f"anomaly section: {exc}", code="bad_bundle") from None
        self.state.bundles[event.scope] = event
        self._sections[event.scope] = sections
        self._configs.clear()

    # -- events ------------------------------------------------------------------------------------

    def observe(self, event: KnownEvent, stream_seq: int = 0) -> list[Finding]:
        """Apply one event; the findings it raises. BadEventError (no state changed) for bad input."""
        self.state.position = max(self.state.position, stream_seq)
        match event:
            case ActionDecided():
                found = self._decision(event)
            case SpendRecorded():
                found = self._spend(event)
            case AgentRegistered(agent=str(agent)):
                self._register(agent, event)
                found = []
            case AgentRetired(agent=str(agent)) if agent in self.state.agents:
                self.state.agents[agent].registered = False
                found = []
            case AgentPaused(agent=str(agent)) if agent in self.state.agents:
                self.state.agents[agent].paused = True
                found = []
            case AgentResumed(agent=str(agent)) if agent in self.state.agents:
                self._resume(self.state.agents[agent], event.ts)
                found = []
            case PolicyPublished():
                self._policy(event)
                found = []
            case _:
                return []
        self.state.applied += 1
        return found

    def _register(self, agent: str, event: AgentRegistered) -> None:
        b = self.state.agents.get(agent) or AgentBaseline(agent=agent)
        b.org, b.team, b.registered = event.org or "", event.team or "", True
        b.timezone = event.labels.get("timezone", "")
        self.state.agents[agent] = b
        self._configs.pop(agent, None)

    def _resume(self, b: AgentBaseline, ts: int) -> None:
        cfg, _ = self.config(b)
        b.paused = False
        b.forget_windows()
        b.cooldown.clear()
        b.grace_until = max(ts, b.last_ts) + cfg.breaker.grace_s * NS

    def _agent(self, event: ActionDecided | SpendRecorded) -> AgentBaseline:
        kind = type(event).__name__
        if not event.agent:
            raise BadEventError(kind, event.id, "no agent", code="no_agent")
        b = self.state.agents.get(event.agent)
        if b is None or not b.registered:
            raise UnknownAgentError(kind, event.id, event.agent)
        if not 0 < event.ts < MAX_TS:
            raise BadEventError(kind, event.id, f"timestamp {event.ts} is not a time", code="bad_timestamp")
        return b

    def _decision(self, event: ActionDecided) -> list[Finding]:
        b = self._agent(event)
        if not 0 <= event.risk <= 100:
            raise BadEventError("ActionDecided", event.id, f"risk {event.risk} is outside 0-100", code="out_of_range")
        if event.code == "agent_paused":
            return []  # denied because it is paused: not behaviour to learn from
        if event.verdict == "review" and event.approval_id is not None:
            return []  # a guard waiting for an approval asks again: polling, not the agent acting
        cfg, tz = self.config(b)
        now = b.tick(event.ts)
        action = event.action
        tool = action.tool or action.kind
        warm = b.events >= cfg.warmup.events and now - b.first_ts >= cfg.warmup.time_s * NS
        found: list[d.Candidate] = []
        if warm and cfg.first_seen.tools and tool not in b.tools:
            found.append(d.first_seen_tool(b, tool, event.id))
        domains = d.domains_of(action)
        new = [x for x in domains if x not in b.domains]
        if warm and cfg.first_seen.domains and new:
            found.append(d.first_seen_domain(b, new[0], event.id))
        how = d.hour_of_week(now, tz)
        if warm and (c := d.off_hours(b, cfg, now, how, tz, event.id)):
            found.append(c)
        self._learn_action(b, event, tool, domains, how)
        rate = b.tools[tool]
        rate.recent.add(now, 1, event.id)
        rate.recent.trim(now, 60 * NS)
        if c := d.rate_spike(b, cfg, tool):
            found.append(c)
        digest = hashlib.sha256(codec.canonical(action)).hexdigest()[:24]
        w = b.loops.get(digest)
        if w is None:
            w = b.loops[digest] = Window()
        w.add(now, 1, event.id)
        w.trim(now, cfg.loop.window_s * NS)
        if c := d.loop(b, cfg, digest, action):
            found.append(c)
        if len(b.loops) > 256:
            _prune(b.loops, now, cfg.loop.window_s * NS)
        if event.verdict == "deny":
            b.denies.add(now, 1, event.id)
        b.denies.trim(now, cfg.deny_burst.window_s * NS)
        if event.verdict == "deny" and (c := d.deny_burst(b, cfg)):
            found.append(c)
        b.deny_ratio += ((event.verdict == "deny") - b.deny_ratio) / min(b.decisions, 200)
        risk = cfg.cumulative_risk
        if event.risk >= max(risk.min_risk, 1):
            b.risk.add(now, event.risk, event.id)
        b.risk.trim(now, risk.window_s * NS)
        if event.risk >= max(risk.min_risk, 1) and (c := d.cumulative_risk(b, cfg)):
            found.append(c)
        return self._respond(b, cfg, found, now, event.id)

    def _learn_action(self, b: AgentBaseline, event: ActionDecided, tool: str, domains: list[str], how: int) -> None:
        b.events += 1
        b.decisions += 1
        rate = b.tools.get(tool)
        if rate is None:
            rate = b.tools[tool] = ToolRate()
        rate.minutes.add(b.last_ts)
        target = event.action.target
        if target and (target in b.targets or len(b.targets) < MAX_TARGETS):
            b.targets[target[:200]] = b.targets.get(target[:200], 0) + 1
        for x in domains:
            b.domains[x] = b.domains.get(x, 0) + 1
        b.hours[how] += 1

    def _spend(self, event: SpendRecorded) -> list[Finding]:
        b = self._agent(event)
        tokens = (event.input_tokens, event.output_tokens, event.cached_tokens, event.reasoning_tokens)
        if not 0 <= event.usd_micros <= MAX_SPEND_MICROS:
            raise BadEventError(
                "SpendRecorded", event.id, f"usd_micros {event.usd_micros} is negative or absurd", code="out_of_range"
            )
        if any(not 0 <= t <= MAX_TOKENS for t in tokens):
            raise BadEventError(
                "SpendRecorded", event.id, f"token counts {tokens} are negative or absurd", code="out_of_range"
            )
        cfg, _ = self.config(b)
        now = b.tick(event.ts)
        b.events += 1
        b.spend.add(now, event.usd_micros)
        b.spend_window.add(now, event.usd_micros, event.id)
        b.spend_window.trim(now, cfg.spend_spike.window_s * NS)
        c = d.spend_spike(b, cfg)
        return self._respond(b, cfg, [c] if c else [], now, event.id)

    # -- responder and breaker ---------------------------------------------------------------------

    def _respond(
        self, b: AgentBaseline, cfg: AnomalyConfig, found: list[d.Candidate], now: int, trigger: str
    ) -> list[Finding]:
        if not cfg.enabled or b.paused:
            return []  # a paused agent's events are learned, but raise nothing until it is resumed
        out: list[Finding] = []
        for c in found:
            key = f"{c.kind}/{c.response}"
            if b.cooldown.get(key, 0) > now:
                continue
            b.cooldown[key] = now + cfg.cooldown_s * NS
            response, notes = c.response, []
            if c.severity >= WEIGHTY:
                b.breaker.add(now, 1, trigger)
                b.breaker.trim(now, cfg.breaker.window_s * NS)
                if response != "pause" and now < b.grace_until:
                    response = "pause"
                    notes.append("it was resumed less than " + d.span(cfg.breaker.grace_s) + " ago (half-open breaker)")
                elif response != "pause" and b.breaker.count() >= cfg.breaker.count:
                    response = "pause"
                    notes.append(
                        f"the breaker tripped: {b.breaker.count()} findings of severity {WEIGHTY} or more in "
                        f"{d.span(cfg.breaker.window_s)}"
                    )
            pause = False
            if response == "pause":
                if b.paused:
                    response = "none"
                    notes.append("already paused")
                elif not cfg.pause:
                    response = "review"
                    notes.append("pausing is off in the bundle")
                else:
                    pause = b.paused = True
            explanation = c.explanation + (f" ({'; '.join(notes)})" if notes else "")
            out.append(
                Finding(
                    id=derived_id(now, f"{b.agent}|{c.kind}|{c.response}|{trigger}"),
                    agent=b.agent,
                    kind=c.kind,
                    severity=c.severity,
                    response=response,
                    explanation=explanation,
                    ts=now,
                    trigger=trigger,
                    observed=c.observed,
                    baseline=c.baseline,
                    unit=c.unit,
                    window_s=c.window_s,
                    events=c.events,
                    team=b.team or None,
                    org=b.org or None,
                    pause=pause,
                )
            )
        return out


def _prune(loops: dict[str, Window], now: int, window_ns: int) -> None:
    """Drop the loop windows of actions not repeated within the window."""
    for key in [k for k, w in loops.items() if not w.items or w.items[-1][0] <= now - window_ns]:
        del loops[key]
