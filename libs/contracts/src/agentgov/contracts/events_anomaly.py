"""Anomaly events (DESIGN.md §2: ``gov.anomaly.<agent>``; AgentPaused and AgentResumed live in
:mod:`agentgov.contracts.events` since operators write them too)."""

from __future__ import annotations

from typing import Literal

from agentgov.contracts.envelope import Event

AnomalyKind = Literal[
    "rate_spike",
    "first_seen_tool",
    "first_seen_domain",
    "off_hours",
    "deny_burst",
    "loop",
    "spend_spike",
    "cumulative_risk",
]
AnomalyResponse = Literal["none", "review", "pause"]


class AnomalyDetected(Event, frozen=True, kw_only=True, tag="AnomalyDetected.v1"):
    """Behaviour that departs from the agent's baseline, with an explanation and the response chosen.

    ``observed`` and ``baseline`` are in the detector's unit (``unit``: events per minute, micro-dollars per
    hour, risk points …); ``events`` names up to a few event ids that show it.
    """

    kind: AnomalyKind
    severity: int
    explanation: str
    response: AnomalyResponse = "none"
    observed: int = 0
    baseline: int = 0
    unit: str = ""
    window_s: int = 0
    events: list[str] = []
