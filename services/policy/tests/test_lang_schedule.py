"""Schedules: parsing days and hours, and wall-clock evaluation across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentgov.policy.lang.schedule import ScheduleError, Window, active, local_time, parse_days, parse_hours, zone

BERLIN = zone("Europe/Berlin")
OFFICE = (Window(parse_days(["mon-fri"]), *parse_hours("09:00-18:00")),)


def _at(iso: str) -> datetime:
    ns = int(datetime.fromisoformat(iso).astimezone(UTC).timestamp()) * 1_000_000_000
    return local_time(ns, BERLIN)


def test_days_and_hours_parse() -> None:
    """Day names and ranges (also wrapping) become weekday numbers; hours become minutes."""
    assert parse_days(["mon-fri"]) == frozenset(range(5))
    assert parse_days(["fri-mon"]) == frozenset({4, 5, 6, 0})
    assert parse_days(["sat", "sun"]) == frozenset({5, 6})
    assert parse_hours("09:00-18:00") == (540, 1080)
    assert parse_hours("22:00-24:00") == (1320, 1440)


@pytest.mark.parametrize("bad", ["mon-fry", "monday", ""])
def test_bad_days(bad: str) -> None:
    """Unknown day names are rejected."""
    with pytest.raises(ScheduleError):
        parse_days([bad])


@pytest.mark.parametrize("bad", ["9-18", "25:00-26:00", "09:00-09:00", "09:60-10:00", "24:30-01:00"])
def test_bad_hours(bad: str) -> None:
    """Malformed, impossible and empty windows are rejected."""
    with pytest.raises(ScheduleError):
        parse_hours(bad)


@pytest.mark.parametrize(
    ("iso", "inside"),
    [
        ("2025-03-31T06:59:00+00:00", False),  # Monday after spring forward: 08:59 CEST
        ("2025-03-31T07:00:00+00:00", True),  # 09:00 CEST
        ("2025-03-31T15:59:00+00:00", True),  # 17:59 CEST
        ("2025-03-31T16:00:00+00:00", False),  # 18:00 CEST
        ("2025-03-28T07:59:00+00:00", False),  # Friday before: 08:59 CET
        ("2025-03-28T08:00:00+00:00", True),  # 09:00 CET
        ("2025-10-27T07:59:00+00:00", False),  # Monday after fall back: 08:59 CET
        ("2025-10-27T08:00:00+00:00", True),
        ("2025-10-24T07:00:00+00:00", True),  # Friday before: 09:00 CEST
        ("2025-10-25T10:00:00+00:00", False),  # Saturday
    ],
)
def test_office_hours_follow_wall_clock_time_across_dst(iso: str, inside: bool) -> None:
    """The same local window maps to different UTC instants before and after each DST change."""
    assert active(OFFICE, _at(iso)) is inside


def test_the_spring_forward_gap_and_the_fall_back_repeat() -> None:
    """On 2025-03-30 02:00-03:00 does not exist; on 2025-10-26 02:00-03:00 happens twice."""
    night = (Window(frozenset(range(7)), *parse_hours("02:00-03:00")),)
    assert not active(night, _at("2025-03-30T01:00:00+00:00"))  # 03:00 CEST, the gap was skipped
    assert active(night, _at("2025-10-26T00:30:00+00:00"))  # 02:30 CEST
    assert active(night, _at("2025-10-26T01:30:00+00:00"))  # 02:30 CET, the repeat


def test_windows_past_midnight_belong_to_their_start_day() -> None:
    """'22:00-06:00' on fri covers Friday night and Saturday morning, not Friday morning."""
    w = (Window(parse_days(["fri"]), *parse_hours("22:00-06:00")),)
    assert active(w, _at("2025-03-14T22:30:00+01:00"))  # Friday 22:30
    assert active(w, _at("2025-03-15T05:59:00+01:00"))  # Saturday 05:59
    assert not active(w, _at("2025-03-14T05:00:00+01:00"))  # Friday 05:00


def test_unknown_zone() -> None:
    """An unknown zone name is a ValueError."""
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus")
