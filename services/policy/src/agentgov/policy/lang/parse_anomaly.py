"""Reading the ``anomaly`` section: the anomaly service's thresholds, validated with the language's diagnostics.

The policy itself does not evaluate this section; the anomaly service reads it from the published bundle
(``services/anomaly/src/agentgov/anomaly/config.py``, whose keys and defaults this table mirrors; a test
keeps the two in step). Validating it here means a bundle with a mistyped threshold is rejected before it is
published, with the same file:line:col diagnostics as every other section.
"""

from __future__ import annotations

from typing import Final, Literal

from agentgov.contracts.units import parse_duration
from agentgov.policy.lang import model
from agentgov.policy.lang.parse_base import SectionReader
from agentgov.policy.lang.source import Node

Kind = Literal["bool", "duration", "int", "number"]
Spec = tuple[Kind, float | None, float | None]
"""A value's kind and its bounds (inclusive; None = unbounded)."""

FLAGS: Final[dict[str, Spec]] = {
    "enabled": ("bool", None, None),
    "pause": ("bool", None, None),
    "off_hours": ("bool", None, None),
    "cooldown": ("duration", None, None),
}
PARTS: Final[dict[str, dict[str, Spec]]] = {
    "warmup": {"events": ("int", 0, 10_000_000), "time": ("duration", None, None)},
    "first_seen": {"tools": ("bool", None, None), "domains": ("bool", None, None)},
    "rate_spike": {"sigma": ("number", 0.001, 1000), "min_per_minute": ("int", 1, None)},
    "loop": {"count": ("int", 2, 1_000_000), "window": ("duration", None, None)},
    "deny_burst": {"count": ("int", 2, 1_000_000), "window": ("duration", None, None)},
    "spend_spike": {
        "factor": ("number", 1.001, 1_000_000),
        "window": ("duration", None, None),
        "min_usd_per_hour": ("number", 0, None),
    },
    "cumulative_risk": {
        "window": ("duration", None, None),
        "review_at": ("int", 1, None),
        "pause_at": ("int", 1, None),
        "min_risk": ("int", 0, 100),
    },
    "breaker": {"count": ("int", 1, 1000), "window": ("duration", None, None), "grace": ("duration", None, None)},
}
KEYS: Final = (*FLAGS, *PARTS)
RISK_DEFAULTS: Final = {"review_at": 200, "pause_at": 350}
"""The anomaly service's defaults for the cumulative-risk thresholds (to check one given without the other)."""


def read_anomaly(sr: SectionReader, node: Node) -> model.Anomaly | None:
    """``anomaly: {enabled, pause, warmup, cooldown, off_hours, first_seen, rate_spike, loop, deny_burst,
    spend_spike, cumulative_risk, breaker}``; every key optional."""
    where = sr._w("anomaly")
    m = sr.r.mapping(node, where, sorted(KEYS))
    if m is None:
        return None
    values: dict[str, object] = {}
    for key, (_, vnode) in m.items():
        if key in FLAGS:
            got = _value(sr, vnode, f"{where}.{key}", FLAGS[key])
            if got is not None:
                values[key] = got
            continue
        sub = sr.r.mapping(vnode, f"{where}.{key}", sorted(PARTS[key]))
        for name, (_, snode) in (sub or {}).items():
            got = _value(sr, snode, f"{where}.{key}.{name}", PARTS[key][name])
            if got is not None:
                values[f"{key}.{name}"] = got
    if "cumulative_risk" in m:
        review = values.get("cumulative_risk.review_at", RISK_DEFAULTS["review_at"])
        pause = values.get("cumulative_risk.pause_at", RISK_DEFAULTS["pause_at"])
        if isinstance(review, int) and isinstance(pause, int) and review >= pause:
            sr.r.error(
                "AG209",
                m["cumulative_risk"][1],
                f"{where}.cumulative_risk: review_at ({review}) must be below pause_at ({pause})",
            )
    return model.Anomaly(values)


def _value(sr: SectionReader, node: Node, what: str, spec: Spec) -> object | None:
    kind, lo, hi = spec
    if kind == "bool":
        v = sr.r.value(node)
        if not isinstance(v, bool):
            sr.r.error("AG102", node, f"{what} must be true or false")
            return None
        return v
    if kind == "duration":
        try:
            return parse_duration(sr.r.value(node))
        except ValueError as exc:
            sr.r.error("AG206", node, f"{what}: {exc}")
            return None
    if kind == "int":
        return sr.r.integer(node, what, None if lo is None else int(lo), None if hi is None else int(hi))
    n = sr.r.number(node, what)
    if n is not None and ((lo is not None and n < lo) or (hi is not None and n > hi)):
        bounds = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
        sr.r.error("AG109", node, f"{what} must be {bounds}, not {n:g}")
        return None
    return n
