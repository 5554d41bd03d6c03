"""The validated bundle: plain frozen data, what :func:`~agentgov.policy.lang.load_bundle` returns.

Each *level* (the top of the bundle, ``teams.<team>``, ``agents.<agent>``) is a :class:`Policy` with the same
optional sections. ``None`` means the section (or list) is absent; an empty list in the source is read as
absent too (with a warning), so no field here is ever an empty tuple by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from agentgov.contracts.events import ActionKind, Verdict
from agentgov.policy.lang.schedule import Window

Effect = Verdict
Default = Literal["allow", "review", "deny"]
DataMode = Literal["redact", "block", "alert", "ignore"]
Fallback = Literal["allow", "deny"]
LimitKey = Literal["agent", "team", "org"]

EFFECTS: Final = ("allow", "review", "deny", "redact")
KINDS: Final[tuple[ActionKind, ...]] = ActionKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Match:
    """Which actions a rule, limit or schedule applies to; None = any."""

    kinds: tuple[str, ...] | None = None
    tools: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ToolSetting:
    """``tools.settings.<glob>``: risk, rate, effect and argument size for matching tools."""

    glob: str
    line: int
    risk: int | None = None
    rate: tuple[int, int] | None = None
    effect: Effect | None = None
    max_args_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Tools:
    """The ``tools`` section."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] | None = None
    review: tuple[str, ...] | None = None
    settings: tuple[ToolSetting, ...] = ()


@dataclass(frozen=True, slots=True)
class Shell:
    """The ``shell`` section."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] | None = None
    review: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Files:
    """The ``files`` section."""

    read: tuple[str, ...] | None = None
    write: tuple[str, ...] | None = None
    sensitive: tuple[str, ...] | None = None
    sensitive_effect: Effect = "deny"


@dataclass(frozen=True, slots=True)
class Network:
    """The ``network`` section."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Data:
    """The ``data`` section."""

    secrets: DataMode | None = None
    pii: DataMode | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """The ``schedule`` section."""

    active: tuple[Window, ...]
    outside: Effect = "deny"
    timezone: str | None = None
    match: Match = Match()


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One ``rate_limits`` entry."""

    id: str
    limit: int
    per_s: int
    key: LimitKey = "agent"
    match: Match = Match()
    line: int = 0


@dataclass(frozen=True, slots=True)
class Budget:
    """The ``budget`` section, in integer micro-dollars."""

    review_over_micros: int | None = None
    deny_below_micros: int | None = None
    when_unknown: Default = "allow"


@dataclass(frozen=True, slots=True)
class Risk:
    """The ``risk`` section."""

    review_at: int | None = None
    deny_at: int | None = None


@dataclass(frozen=True, slots=True)
class Approvals:
    """How long a review may wait for an approver, and the verdict after that: the ``approvals`` section of a
    level, or the ``approval`` of one review rule."""

    timeout_s: int = 900
    fallback: Fallback = "deny"


@dataclass(frozen=True, slots=True)
class Anomaly:
    """The ``anomaly`` section: thresholds the anomaly service reads from the bundle itself (the policy only
    validates them). ``values`` maps ``key`` or ``part.key`` to what was written (durations in seconds)."""

    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``rules`` entry; ``when`` is CEL source (None = always); ``approval`` only on a review rule (None =
    the level-wide ``approvals`` section decides)."""

    id: str
    effect: Effect
    when: str | None = None
    reason: str = ""
    match: Match = Match()
    risk: int | None = None
    line: int = 0
    approval: Approvals | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """The sections of one level."""

    timezone: str | None = None
    risk: Risk | None = None
    tools: Tools | None = None
    shell: Shell | None = None
    files: Files | None = None
    network: Network | None = None
    data: Data | None = None
    schedule: Schedule | None = None
    rate_limits: tuple[RateLimit, ...] = ()
    budget: Budget | None = None
    rules: tuple[Rule, ...] = ()
    approvals: Approvals | None = None
    anomaly: Anomaly | None = None


@dataclass(frozen=True, slots=True)
class Bundle:
    """A whole validated bundle and the text it came from."""

    name: str
    scope: str
    source: str
    filename: str
    sha256: str
    default: Default = "deny"
    description: str = ""
    timezone: str = "UTC"
    org: Policy = Policy()
    teams: dict[str, Policy] = field(default_factory=dict)
    agents: dict[str, Policy] = field(default_factory=dict)
