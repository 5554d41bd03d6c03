"""The pure projection and pricing: window rollover in a non-UTC zone, alerts once per window, refusals
that change nothing, a broken pricing file named by line, and rounding."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agentgov.budget.domain import BudgetProjection
from agentgov.budget.errors import PricingError
from agentgov.budget.pricing import cost_usd_micros, parse_pricing
from agentgov.budget.state import LimitRow, key
from agentgov.contracts.events import AgentRegistered, SpendRecorded
from agentgov.contracts.events_budget import BudgetAlert, BudgetReset, ModelPrice
from agentgov.identity.operators import TrustStore

PARIS = ZoneInfo("Europe/Paris")


def _ns(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, s, tzinfo=PARIS).timestamp()) * 10**9


def _world() -> BudgetProjection:
    p = BudgetProjection(TrustStore())
    p.apply(AgentRegistered(agent="a", team="t", org="o"), 1)
    p.state.limits[key("org:o", "daily")] = LimitRow(
        scope="org:o", window="daily", limit_usd_micros=100, tz="Europe/Paris"
    )
    return p


def test_daily_window_rolls_at_paris_midnight_with_one_reset_and_fresh_alerts() -> None:
    """Spend at 23:30 and 00:30 Paris time falls in two windows: a BudgetReset opens the second, and the
    80 % alert is said once in each window, never twice in one."""
    p = _world()
    kinds = []
    seq = 2
    for ts in (_ns(2025, 3, 10, 23, 0), _ns(2025, 3, 10, 23, 30), _ns(2025, 3, 11, 0, 30), _ns(2025, 3, 11, 1, 0)):
        fx = p.apply(SpendRecorded(id=f"e{seq}", agent="a", ts=ts, model="m", usd_micros=45), seq)
        kinds += [(type(e.event).__name__, e.event.window_start_ns) for e in fx.emit]  # type: ignore[attr-defined]
        seq += 1
    day1, day2 = _ns(2025, 3, 10, 0, 0), _ns(2025, 3, 11, 0, 0)
    assert kinds == [("BudgetAlert", day1), ("BudgetReset", day2), ("BudgetAlert", day2)]
    assert p.spent("org:o", "daily", _ns(2025, 3, 11, 2, 0)) == 90


def test_tick_rolls_a_window_without_spend() -> None:
    """A timer tick after the boundary appends the BudgetReset even when no spend arrives."""
    p = _world()
    p.apply(SpendRecorded(id="e", agent="a", ts=_ns(2025, 3, 10, 12, 0), model="m", usd_micros=1), 2)
    fx = p.tick(_ns(2025, 3, 11, 0, 0, 1))
    assert [type(e.event) for e in fx.emit] == [BudgetReset]
    assert p.tick(_ns(2025, 3, 11, 0, 0, 2)).emit == []


def test_spend_of_an_unknown_agent_is_rejected_and_changes_nothing() -> None:
    """A collector's SpendRecorded for an unregistered agent yields SpendRejected and no spend."""
    p = _world()
    fx = p.apply(SpendRecorded(id="x", agent="ghost", ts=1, model="m", usd_micros=5), 2, "gov.spend.ghost")
    assert [e.event.reason for e in fx.emit] == ["unknown_agent"]  # type: ignore[attr-defined]
    assert p.state.spent_total == {} and not fx.settle
    assert not [e for e in fx.emit if isinstance(e.event, BudgetAlert)]


def test_broken_pricing_names_the_line() -> None:
    """Every problem of a pricing file is reported with its line."""
    with pytest.raises(PricingError) as err:
        parse_pricing("version: 1\nmodels:\n  a: {input: 1, output: 2}\n  b: {input: cheap, output: 2}\n", "p.yaml")
    assert err.value.line == 4 and "p.yaml:4" in str(err.value) and "input price" in str(err.value)
    with pytest.raises(PricingError) as err2:
        parse_pricing("version: 1\nmodels:\n  a: {input: 1\n")
    assert err2.value.line == 4 and "not valid YAML" in err2.value.why


def test_shipped_pricing_parses_and_rounds_up() -> None:
    """deploy/pricing.yaml parses; cost is rounded up to a whole micro-dollar."""
    root = Path(__file__).resolve().parents[3]
    prices = parse_pricing((root / "deploy" / "pricing.yaml").read_text())
    assert {"gpt-4o", "claude-sonnet-4", "gemini-2.5-flash"} <= {p.model for p in prices}
    price = ModelPrice(model="m", input=1_000_000, output=2_000_000)
    assert cost_usd_micros(price, input_tokens=1, output_tokens=0, cached_tokens=0, reasoning_tokens=0) == 1
    assert cost_usd_micros(price, input_tokens=0, output_tokens=0, cached_tokens=3, reasoning_tokens=1) == 5
