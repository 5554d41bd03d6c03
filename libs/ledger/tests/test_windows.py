"""Window arithmetic, scopes and money formatting (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentgov.ledger import InvalidLimitError, Limit, Shortfall, scopes_of, usd, window_end_ns, window_start_ns
from agentgov.ledger.windows import NS, Starts, bucket_ns, bucket_range


def ns(text: str) -> int:
    """UTC nanoseconds of an ISO time."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * NS


def test_scopes_of_orders_agent_team_org_global() -> None:
    """An agent's scopes are agent, team, org, global; missing team or org are left out."""
    assert scopes_of("a1", "ml", "acme") == ["agent:a1", "team:ml", "org:acme", "global"]
    assert scopes_of("a1", None, "") == ["agent:a1", "global"]


def test_daily_window_in_utc() -> None:
    """A UTC daily window starts at midnight UTC and lasts 24 hours."""
    lim = Limit("global", "daily", 1, "UTC")
    assert window_start_ns(lim, ns("2025-06-10T15:00:00")) == ns("2025-06-10T00:00:00")
    assert window_end_ns(lim, ns("2025-06-10T15:00:00")) == ns("2025-06-11T00:00:00")


def test_paris_spring_forward_day_is_23_hours() -> None:
    """On 2025-03-30 Paris skips 02:00-03:00: the day starts 23:00 UTC before and lasts 23 hours."""
    lim = Limit("team:ml", "daily", 1, "Europe/Paris")
    now = ns("2025-03-30T12:00:00")
    assert window_start_ns(lim, now) == ns("2025-03-29T23:00:00")
    assert window_end_ns(lim, now) == ns("2025-03-30T22:00:00")


def test_paris_fall_back_day_is_25_hours() -> None:
    """On 2025-10-26 Paris repeats 02:00-03:00: the day lasts 25 hours."""
    lim = Limit("team:ml", "daily", 1, "Europe/Paris")
    now = ns("2025-10-26T12:00:00")
    assert window_end_ns(lim, now) - window_start_ns(lim, now) == 25 * 3600 * NS


def test_monthly_window_turns_at_local_midnight_of_the_first() -> None:
    """At 23:30 UTC on 31 January it is already 1 February in Paris: February's window has begun."""
    lim = Limit("org:acme", "monthly", 1, "Europe/Paris")
    assert window_start_ns(lim, ns("2025-01-31T22:59:59")) == ns("2024-12-31T23:00:00")
    assert window_start_ns(lim, ns("2025-01-31T23:30:00")) == ns("2025-01-31T23:00:00")
    assert window_end_ns(lim, ns("2025-12-15T00:00:00")) == ns("2025-12-31T23:00:00")


def test_rolling_window_and_its_buckets() -> None:
    """A rolling window starts rolling_s ago and is summed over at most 61 buckets of 1/60 of it."""
    lim = Limit("agent:a1", "rolling", 1, rolling_s=3600)
    now = ns("2025-06-10T15:00:30")
    assert window_start_ns(lim, now) == now - 3600 * NS
    assert bucket_ns(lim) == 60 * NS
    span = bucket_range(lim, now)
    assert len(span) == 61 and span.stop - 1 == now // (60 * NS)


def test_invalid_limits_are_refused() -> None:
    """A bad scope, window, negative limit, missing rolling length or unknown zone is refused."""
    bad: list[tuple[str, str, int]] = [("user:x", "daily", 1), ("global", "weekly", 1), ("global", "daily", -1)]
    bad.append(("global", "rolling", 1))
    for scope, window, amount in bad:
        with pytest.raises(InvalidLimitError):
            Limit(scope, window, amount)  # type: ignore[arg-type]
    with pytest.raises(InvalidLimitError):
        window_start_ns(Limit("global", "daily", 1, "Mars/Olympus"), 0)


def test_shortfall_names_the_budget_and_the_amount() -> None:
    """A shortfall reads as the budget, the window, the amount over, the limit, spent and reserved."""
    s = Shortfall("team:ml", "monthly", 10_000_000, 9_800_000, 620_000, 0, 420_000)
    assert s.describe() == (
        "budget team:ml monthly would be exceeded by $0.42: limit $10.00, spent $9.80, reserved $0.62"
    )
    assert usd(1) == "$0.01" and usd(-1_500_000) == "-$1.50"


def test_starts_remembers_windows_and_agrees_with_window_start() -> None:
    """Starts gives window_start_ns for any order of times, across Paris's spring-forward day and month end."""
    day, month = Limit("global", "daily", 1, "Europe/Paris"), Limit("global", "monthly", 1, "Europe/Paris")
    starts = Starts()
    base = ns("2025-03-29T12:00:00")
    for minutes in (0, 600, 30, 700, 1300, 2000, 2900, 5, 3000, 1500):
        t = base + minutes * 60 * NS
        assert starts.start(day, t) == window_start_ns(day, t)
        assert starts.start(month, t + 2 * 86_400 * NS) == window_start_ns(month, t + 2 * 86_400 * NS)
