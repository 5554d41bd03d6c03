"""The false-positive check: a benign steady-state trace of more than 10k events raises no pause."""

from __future__ import annotations

import collections

from agentgov.anomaly.traces import PERSONAS, benign, run

ALLOWED_LOW = 2
"""Low-severity findings tolerated over the week: with seed 1, two first_seen_domain findings for hosts the
coders reach only through an occasional ``curl`` (exactly what first-seen is meant to surface)."""


def test_a_benign_week_raises_no_pause_and_only_a_couple_of_low_findings() -> None:
    """Five personas (office hours in three zones, a 24/7 CI bot, a nightly batch) for a week: no pause."""
    events = benign(seed=1, days=7)
    assert len(events) >= 10_000
    assert {e.agent for e in events} == {p.agent for p in PERSONAS}
    findings = run(events)
    assert [f for f in findings if f.pause] == []
    assert [f for f in findings if f.severity >= 50] == []
    assert len(findings) <= ALLOWED_LOW, collections.Counter((f.agent, f.kind) for f in findings)
    assert {f.kind for f in findings} <= {"first_seen_domain", "first_seen_tool", "off_hours"}


def test_the_benign_trace_is_deterministic() -> None:
    """The same seed gives the same events (ids, times, actions)."""
    assert benign(seed=3, days=1) == benign(seed=3, days=1)
