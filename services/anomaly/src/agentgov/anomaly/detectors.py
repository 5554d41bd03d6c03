"""The detectors: each reads one agent's baseline and windows and says, in plain words, what is unusual.

Every function is pure and deterministic: the same baseline, config and event give the same
:class:`Candidate` (or None). Thresholds come from the bundle's ``anomaly:`` section
(:class:`~agentgov.anomaly.config.AnomalyConfig`). Whether a candidate becomes an AnomalyDetected (cool-down,
breaker, pause) is the domain's decision, not theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentgov.anomaly.baseline import NS, AgentBaseline
from agentgov.anomaly.config import AnomalyConfig
from agentgov.contracts.events import Action
from agentgov.contracts.events_anomaly import AnomalyKind, AnomalyResponse

MIN_RATE_MINUTES: Final = 10
"""Minutes of a tool's use before its rate has a baseline to spike from."""
MIN_SPEND_HOURS: Final = 3
"""Hours with spend before the spend rate has a baseline."""
OFF_HOURS_HISTORY_S: Final = 86_400
"""Off-hours needs at least a day of history; the hour of the week counts once a week has been seen."""
OFF_HOURS_SHARE: Final = 500
"""An hour (with its neighbours) is off-hours when it holds less than 1/500 of the agent's activity."""
_URL: Final = re.compile(r"\bhttps?://([A-Za-z0-9.-]+)", re.IGNORECASE)
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Candidate:
    """What one detector found, before cool-down, the breaker and the responder."""

    kind: AnomalyKind
    severity: int
    response: AnomalyResponse
    explanation: str
    observed: int = 0
    baseline: int = 0
    unit: str = ""
    window_s: int = 0
    events: list[str] = field(default_factory=list)


def span(seconds: int) -> str:
    """``60`` → ``1 minute``, ``600`` → ``10 minutes``, ``3600`` → ``1 hour``."""
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
    return f"{seconds} seconds"


def usd(micros: float) -> str:
    """Micro-dollars as ``$1.23``."""
    return f"${micros / 1_000_000:,.2f}"


def domains_of(action: Action) -> list[str]:
    """The hosts an action contacts: an http target or URL argument, URLs in a command line or arguments."""
    if action.kind != "http" and "://" not in (action.target or "") and not action.args:
        return []
    hosts: list[str] = []
    texts = [action.target or ""]
    texts.extend(v for v in action.args.values() if isinstance(v, str))
    for text in texts:
        if action.kind == "http" and text and "://" not in text and "/" not in text and " " not in text:
            hosts.append(text.split(":")[0].lower())
            continue
        hosts.extend(m.lower() for m in _URL.findall(text))
        if action.kind == "http" and "://" in text:
            host = urlsplit(text).hostname
            if host:
                hosts.append(host.lower())
    return list(dict.fromkeys(h.rstrip(".") for h in hosts if h))


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def hour_of_week(ts: int, tz: str) -> int:
    """The hour of the week (Monday 00:00 = 0) of ``ts`` in ``tz``."""
    local = datetime.fromtimestamp(ts // NS, _zone(tz))
    return local.weekday() * 24 + local.hour


def local_time(ts: int, tz: str) -> str:
    """``Sun 03:00 CET``."""
    local = datetime.fromtimestamp(ts // NS, _zone(tz))
    return f"{_DAYS[local.weekday()]} {local:%H:%M} {local.tzname()}"


def off_hours(b: AgentBaseline, cfg: AnomalyConfig, now: int, how: int, tz: str, event_id: str) -> Candidate | None:
    """Activity in an hour of the week (or, in the first week, of the day) where the agent is almost never active."""
    if not cfg.off_hours or now - b.first_ts < OFF_HOURS_HISTORY_S * NS:
        return None
    total = b.decisions
    if total < max(cfg.warmup.events, 1) or b.hours[how] * OFF_HOURS_SHARE >= total:
        return None  # the second test is the fast path: a busy hour of the week is never off-hours
    weekly = now - b.first_ts >= 7 * 86_400 * NS
    if weekly:
        near = sum(b.hours[(how + d) % 168] for d in (-1, 0, 1))
        what = "hour of the week"
    else:
        hour = how % 24
        near = sum(b.hours[day * 24 + (hour + d) % 24] for day in range(7) for d in (-1, 0, 1))
        what = "hour of the day"
    if near * OFF_HOURS_SHARE >= total:
        return None
    return Candidate(
        kind="off_hours",
        severity=30,
        response="none",
        explanation=(
            f"{b.agent} acted on {local_time(now, tz)}, outside its usual hours: {near} of its {total} events "
            f"fell in that {what} or the hours beside it"
        ),
        observed=1,
        baseline=near,
        unit="events in this hour",
        events=[event_id],
    )


def rate_spike(b: AgentBaseline, cfg: AnomalyConfig, tool: str) -> Candidate | None:
    """A tool used far above its usual per-minute rate."""
    rate = b.tools.get(tool)
    if rate is None or rate.minutes.base.n < MIN_RATE_MINUTES:
        return None
    count = rate.recent.count()
    base = rate.minutes.base
    limit = base.mean + cfg.rate_spike.sigma * base.std
    if count < cfg.rate_spike.min_per_minute or count <= limit:
        return None
    severity = 70 if count > 2 * limit else 50
    return Candidate(
        kind="rate_spike",
        severity=severity,
        response="review",
        explanation=(
            f"{b.agent} ran {count} {tool} actions in the last minute; its usual rate is "
            f"{base.mean:.1f} ± {base.std:.1f} per minute"
        ),
        observed=count,
        baseline=round(base.mean),
        unit="events/minute",
        window_s=60,
        events=rate.recent.evidence(),
    )


def first_seen_tool(b: AgentBaseline, tool: str, event_id: str) -> Candidate:
    """A tool the agent has never used before."""
    return Candidate(
        kind="first_seen_tool",
        severity=30,
        response="none",
        explanation=(
            f"{b.agent} used the tool {tool!r} for the first time, after {b.events} events with "
            f"{len(b.tools)} other tools"
        ),
        observed=1,
        baseline=len(b.tools),
        unit="known tools",
        events=[event_id],
    )


def first_seen_domain(b: AgentBaseline, domain: str, event_id: str) -> Candidate:
    """A domain the agent has never contacted before."""
    known = len(b.domains)
    return Candidate(
        kind="first_seen_domain",
        severity=40,
        response="none",
        explanation=(
            f"{b.agent} contacted {domain} for the first time; it had contacted "
            f"{known} other domain{'' if known == 1 else 's'} before"
        ),
        observed=1,
        baseline=known,
        unit="known domains",
        events=[event_id],
    )


def loop(b: AgentBaseline, cfg: AnomalyConfig, digest: str, action: Action) -> Candidate | None:
    """The same exact action repeated ``loop.count`` times within ``loop.window``."""
    w = b.loops.get(digest)
    if w is None or w.count() < cfg.loop.count:
        return None
    what = f"{action.tool or action.kind} {action.target or ''}".strip()
    return Candidate(
        kind="loop",
        severity=80,
        response="pause",
        explanation=(
            f"{b.agent} repeated the same action {w.count()} times in the last {span(cfg.loop.window_s)} "
            f"({what[:80]}); a runaway loop"
        ),
        observed=w.count(),
        baseline=cfg.loop.count,
        unit="repeats",
        window_s=cfg.loop.window_s,
        events=w.evidence(),
    )


def deny_burst(b: AgentBaseline, cfg: AnomalyConfig) -> Candidate | None:
    """Many denials in a short window."""
    count = b.denies.count()
    if count < cfg.deny_burst.count:
        return None
    return Candidate(
        kind="deny_burst",
        severity=60,
        response="review",
        explanation=(
            f"{b.agent} was denied {count} times in the last {span(cfg.deny_burst.window_s)}; "
            f"its usual deny ratio is {b.deny_ratio:.1%}"
        ),
        observed=count,
        baseline=round(b.deny_ratio * 100),
        unit="denials (baseline: deny %)",
        window_s=cfg.deny_burst.window_s,
        events=b.denies.evidence(),
    )


def cumulative_risk(b: AgentBaseline, cfg: AnomalyConfig) -> Candidate | None:
    """The risk of recent decisions adding up: review at R1, pause at R2."""
    c = cfg.cumulative_risk
    total = b.risk.total
    if total < c.review_at:
        return None
    pause = total >= c.pause_at
    return Candidate(
        kind="cumulative_risk",
        severity=90 if pause else 60,
        response="pause" if pause else "review",
        explanation=(
            f"{b.agent} accumulated {total} risk points over the last {span(c.window_s)} from "
            f"{b.risk.count()} actions at risk {c.min_risk} or more (review at {c.review_at}, pause at {c.pause_at})"
        ),
        observed=total,
        baseline=c.pause_at if pause else c.review_at,
        unit="risk points",
        window_s=c.window_s,
        events=b.risk.evidence(),
    )


def spend_spike(b: AgentBaseline, cfg: AnomalyConfig) -> Candidate | None:
    """Spend over the window far above the usual hourly spend."""
    s = cfg.spend_spike
    base = b.spend.base
    if base.n < MIN_SPEND_HOURS:
        return None
    spent = b.spend_window.total
    hours = s.window_s / 3600
    expected = base.mean * hours
    per_hour = spent / hours
    if per_hour < s.min_usd_per_hour * 1_000_000 or spent <= s.factor * expected:
        return None
    return Candidate(
        kind="spend_spike",
        severity=80,
        response="pause",
        explanation=(
            f"{b.agent} spent {usd(spent)} in the last {span(s.window_s)} ({per_hour / max(base.mean, 1):.0f}x its "
            f"usual {usd(base.mean)} per hour)"
        ),
        observed=round(per_hour),
        baseline=round(base.mean),
        unit="usd_micros/hour",
        window_s=s.window_s,
        events=b.spend_window.evidence(),
    )
