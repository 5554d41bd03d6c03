"""The ``anomaly:`` section of a policy bundle, as the anomaly service reads it (thresholds, on/off switches).

The policy language validates the section with its diagnostics (``services/policy/docs/language.md``,
*anomaly*); this service must not import the policy service, so it reads only this section (and
``timezone``) from the bundle's YAML with the small pydantic model below: unknown keys are rejected, every
key has a default, and an absent section means the defaults. A level's section (the bundle top,
``teams.<team>``, ``agents.<agent>``) overrides the one above it key by key.
"""

from __future__ import annotations

from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentgov.contracts.units import parse_duration


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("window_s", "time_s", mode="before", check_fields=False)
    @classmethod
    def _duration(cls, v: object) -> int:
        return parse_duration(v)


class Warmup(_Part):
    """Before an agent has ``events`` events over at least ``time``, first-seen and off-hours only learn."""

    events: int = Field(default=200, ge=0, le=10_000_000)
    time_s: int = Field(default=3600, alias="time")


class RateSpike(_Part):
    """A tool used more than ``sigma`` deviations above its usual per-minute rate, and at least ``min_per_minute``."""

    sigma: float = Field(default=6.0, gt=0, le=1000)
    min_per_minute: int = Field(default=30, ge=1)


class FirstSeen(_Part):
    """Flag a tool or a domain the agent has never used before (after warm-up)."""

    tools: bool = True
    domains: bool = True


class Loop(_Part):
    """The same exact action (same canonical hash) ``count`` times within ``window``: a runaway loop."""

    count: int = Field(default=30, ge=2, le=1_000_000)
    window_s: int = Field(default=60, alias="window")


class DenyBurst(_Part):
    """``count`` denials within ``window``."""

    count: int = Field(default=8, ge=2, le=1_000_000)
    window_s: int = Field(default=60, alias="window")


class SpendSpike(_Part):
    """Spend over the last ``window`` above ``factor`` times the usual hourly spend (and over the floor)."""

    factor: float = Field(default=10.0, gt=1, le=1_000_000)
    window_s: int = Field(default=3600, alias="window")
    min_usd_per_hour: float = Field(default=1.0, ge=0)


class CumulativeRisk(_Part):
    """The sum of decision risk (each at least ``min_risk``) over ``window``: review at R1, pause at R2."""

    window_s: int = Field(default=600, alias="window")
    review_at: int = Field(default=200, ge=1)
    pause_at: int = Field(default=350, ge=1)
    min_risk: int = Field(default=30, ge=0, le=100)

    @model_validator(mode="after")
    def _order(self) -> CumulativeRisk:
        if self.review_at >= self.pause_at:
            raise ValueError(f"review_at ({self.review_at}) must be below pause_at ({self.pause_at})")
        return self


class Breaker(_Part):
    """``count`` findings of severity 50 or more within ``window`` pause the agent; after a resume, the first
    such finding within ``grace`` pauses it again at once (half-open)."""

    count: int = Field(default=3, ge=1, le=1000)
    window_s: int = Field(default=600, alias="window")
    grace_s: int = Field(default=600, alias="grace")

    @field_validator("grace_s", mode="before")
    @classmethod
    def _grace(cls, v: object) -> int:
        return parse_duration(v)


class AnomalyConfig(_Part):
    """Every threshold of the anomaly service; the defaults are what an absent section means."""

    enabled: bool = True
    pause: bool = True
    warmup: Warmup = Warmup()
    cooldown_s: int = Field(default=600, alias="cooldown")
    off_hours: bool = True
    first_seen: FirstSeen = FirstSeen()
    rate_spike: RateSpike = RateSpike()
    loop: Loop = Loop()
    deny_burst: DenyBurst = DenyBurst()
    spend_spike: SpendSpike = SpendSpike()
    cumulative_risk: CumulativeRisk = CumulativeRisk()
    breaker: Breaker = Breaker()

    @field_validator("cooldown_s", mode="before")
    @classmethod
    def _cooldown(cls, v: object) -> int:
        return parse_duration(v)


DEFAULTS: Final = AnomalyConfig()
KEYS: Final = tuple(f.alias or name for name, f in AnomalyConfig.model_fields.items())
"""The keys of the section (the policy language accepts exactly these)."""


class ConfigError(ValueError):
    """An ``anomaly:`` section that does not validate; ``where`` names the level."""

    def __init__(self, where: str, why: str) -> None:
        self.where = where
        self.why = why
        super().__init__(f"{where}: {why}")


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers override earlier ones key by key (nested mappings merged, everything else replaced)."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
    return out


def resolve(raw: dict[str, Any], where: str = "anomaly") -> AnomalyConfig:
    """Validate a (merged) raw section; ConfigError with every problem in one message."""
    try:
        return AnomalyConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'section'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ConfigError(where, problems) from None


class BundleSections(BaseModel, frozen=True):
    """The raw ``anomaly`` and ``timezone`` of each level of one bundle (validated once at load)."""

    top: dict[str, Any] = {}
    timezone: str = "UTC"
    teams: dict[str, tuple[dict[str, Any], str | None]] = {}
    agents: dict[str, tuple[dict[str, Any], str | None]] = {}

    def for_agent(self, agent: str, team: str | None) -> tuple[AnomalyConfig, str]:
        """The agent's config (top, then its team's, then its own section) and its time zone."""
        layers = [self.top]
        tz = self.timezone
        for level in (self.teams.get(team or ""), self.agents.get(agent)):
            if level is not None:
                layers.append(level[0])
                tz = level[1] or tz
        return resolve(merge(*layers)), tz


def read_bundle(source: str) -> BundleSections:
    """The anomaly sections of a bundle's YAML; ConfigError when the YAML or a section is invalid."""
    try:
        doc = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise ConfigError("bundle", f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError("bundle", "not a mapping")
    top, tz = _level(doc, "anomaly")
    out: dict[str, dict[str, tuple[dict[str, Any], str | None]]] = {"teams": {}, "agents": {}}
    for kind in ("teams", "agents"):
        levels = doc.get(kind) or {}
        if not isinstance(levels, dict):
            raise ConfigError(kind, "must be a mapping")
        for key, level in levels.items():
            if isinstance(level, dict):
                out[kind][str(key)] = _level(level, f"{kind}.{key}.anomaly")
    sections = BundleSections(top=top, timezone=tz or "UTC", teams=out["teams"], agents=out["agents"])
    resolve(top)
    for kind in ("teams", "agents"):
        for key, (raw, _) in out[kind].items():
            resolve(merge(top, raw), f"{kind}.{key}.anomaly")
    return sections


def _level(level: dict[str, Any], where: str) -> tuple[dict[str, Any], str | None]:
    raw = level.get("anomaly") or {}
    if not isinstance(raw, dict):
        raise ConfigError(where, "must be a mapping")
    tz = level.get("timezone")
    return raw, tz if isinstance(tz, str) else None
