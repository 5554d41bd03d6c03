"""Per-agent baselines, learned from the stream: plain mutable data, serialisable with msgspec for snapshots.

- **rate per tool**: events per minute, as an exponentially weighted mean and variance over the minutes in
  which the agent used the tool (idle minutes and nights do not drag the usual rate to zero), plus the
  timestamps of the last minute for the live count;
- **tools, targets, domains** the agent has used (targets bounded, for the record);
- **active hours**: a per-hour-of-week histogram in the agent's time zone;
- **deny ratio**: an exponentially weighted share of denied decisions;
- **spend rate**: micro-dollars per hour, weighted mean and variance over the hours with spend.

Windows (loops, denials, risk, spend, the breaker) are lists of ``(ts, value, event id)`` kept in time order
and trimmed from the front, so a snapshot is exactly the state.
"""

from __future__ import annotations

import bisect
import math

import msgspec

from agentgov.contracts.events import PolicyPublished

NS = 1_000_000_000
MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS
ALPHA = 0.1
"""Weight of the newest minute (or hour) in the moving mean and variance (~ the last 10-20 matter)."""
MAX_TARGETS = 512


class Ewm(msgspec.Struct):
    """An exponentially weighted mean and variance over closed buckets (minutes or hours)."""

    mean: float = 0.0
    var: float = 0.0
    n: int = 0

    def add(self, x: float) -> None:
        """Fold in one closed bucket's value."""
        if self.n == 0:
            self.mean, self.var = x, 0.0
        else:
            diff = x - self.mean
            incr = ALPHA * diff
            self.mean += incr
            self.var = (1 - ALPHA) * (self.var + diff * incr)
        self.n += 1

    @property
    def std(self) -> float:
        """The deviation, never below the Poisson floor ``sqrt(mean)`` or 1 (counts are noisy when small)."""
        return max(math.sqrt(max(self.var, 0.0)), math.sqrt(max(self.mean, 0.0)), 1.0)


class Bucketed(msgspec.Struct):
    """A count (or sum) per bucket; each closed non-empty bucket feeds the weighted baseline."""

    size_ns: int
    bucket: int = -1
    value: int = 0
    base: Ewm = msgspec.field(default_factory=Ewm)

    def add(self, ts: int, amount: int = 1) -> None:
        """Count ``amount`` in the bucket of ``ts``, closing the previous bucket first."""
        b = ts // self.size_ns
        if b != self.bucket:
            if self.value > 0:
                self.base.add(self.value)
            self.bucket, self.value = b, 0
        self.value += amount


class Window(msgspec.Struct):
    """``(ts, value, event id)`` entries in time order within a sliding window."""

    items: list[tuple[int, int, str]] = []
    total: int = 0

    def add(self, ts: int, value: int, event_id: str) -> None:
        """Append one entry (``ts`` never below the last one: callers pass the agent's monotonic clock)."""
        self.items.append((ts, value, event_id))
        self.total += value

    def trim(self, now: int, window_ns: int) -> None:
        """Drop the entries older than ``now - window_ns``."""
        items = self.items
        if items and items[0][0] <= now - window_ns:
            cut = bisect.bisect_right(items, now - window_ns, key=lambda it: it[0])
            self.total -= sum(it[1] for it in items[:cut])
            del items[:cut]

    def clear(self) -> None:
        """Forget everything (after a resume: the condition that paused the agent is over)."""
        self.items.clear()
        self.total = 0

    def count(self) -> int:
        """How many entries are in the window."""
        return len(self.items)

    def evidence(self, n: int = 5) -> list[str]:
        """The ids of the last ``n`` entries."""
        return [it[2] for it in self.items[-n:]]


class ToolRate(msgspec.Struct):
    """One tool's usual rate per minute and its last minute."""

    minutes: Bucketed = msgspec.field(default_factory=lambda: Bucketed(size_ns=MINUTE_NS))
    recent: Window = msgspec.field(default_factory=Window)


class AgentBaseline(msgspec.Struct):
    """Everything learned about one agent, and the live windows its detectors read."""

    agent: str
    org: str = ""
    team: str = ""
    registered: bool = False
    timezone: str = ""
    """From the agent's ``timezone`` label; empty = the bundle's zone."""
    first_ts: int = 0
    last_ts: int = 0
    events: int = 0
    decisions: int = 0
    tools: dict[str, ToolRate] = {}
    targets: dict[str, int] = {}
    domains: dict[str, int] = {}
    hours: list[int] = msgspec.field(default_factory=lambda: [0] * 168)
    deny_ratio: float = 0.0
    denies: Window = msgspec.field(default_factory=Window)
    loops: dict[str, Window] = {}
    risk: Window = msgspec.field(default_factory=Window)
    spend: Bucketed = msgspec.field(default_factory=lambda: Bucketed(size_ns=HOUR_NS))
    spend_window: Window = msgspec.field(default_factory=Window)
    cooldown: dict[str, int] = {}
    """``<kind>/<response>`` → the time (ns) before which that finding is not raised again."""
    breaker: Window = msgspec.field(default_factory=Window)
    paused: bool = False
    grace_until: int = 0
    """After a resume, until when the breaker is half-open (the first weighty finding pauses at once)."""

    def tick(self, ts: int) -> int:
        """Advance the agent's clock to ``ts`` (never backwards); returns the clock."""
        if not self.first_ts:
            self.first_ts = ts
        self.last_ts = max(self.last_ts, ts)
        return self.last_ts

    def forget_windows(self) -> None:
        """Clear the live windows, keep what was learned (after a resume)."""
        for w in (self.denies, self.risk, self.spend_window, self.breaker):
            w.clear()
        self.loops.clear()
        for rate in self.tools.values():
            rate.recent.clear()


class State(msgspec.Struct):
    """The whole projection: every agent's baseline, the bundles in force, and the last position applied."""

    agents: dict[str, AgentBaseline] = {}
    bundles: dict[str, PolicyPublished] = {}
    """Scope → the newest PolicyPublished that is signed by a trusted operator and whose anomaly sections
    validate (kept whole, so a restore can check its signature against the trust file in force)."""
    position: int = 0
    applied: int = 0
