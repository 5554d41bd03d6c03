"""Schedules: weekly windows in a time zone, evaluated in local wall-clock time (DST-correct via zoneinfo).

A window is ``{days: [mon-fri], hours: "09:00-18:00"}``: the start minute is inside, the end minute is not.
``24:00`` may end a window. A window whose start is after its end runs past midnight: ``22:00-06:00`` on
``fri`` covers Friday 22:00 to Saturday 06:00. Days are ``mon … sun``, single or as ranges (``mon-fri``,
``fri-mon`` wraps); no ``days`` means every day, no ``hours`` the whole day.

Local time comes from :mod:`zoneinfo`, so on the spring-forward day a 09:00 window opens at 09:00 local
(07:00 UTC in Berlin summer time), and on the fall-back day the repeated hour is simply inside or outside
like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS: Final = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


class ScheduleError(ValueError):
    """Days or hours that do not parse."""


@cache
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name (cached); ValueError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def parse_days(items: list[str]) -> frozenset[int]:
    """Weekday numbers (0 = Monday) from names and ranges."""
    out: set[int] = set()
    for item in items:
        text = item.strip().lower()
        lo, sep, hi = text.partition("-")
        for name in (lo, hi) if sep else (lo,):
            if name not in DAYS:
                raise ScheduleError(f"{item!r}: {name!r} is not a day; use {', '.join(DAYS)} or a range like mon-fri")
        a, b = DAYS.index(lo), DAYS.index(hi) if sep else DAYS.index(lo)
        out.update((a + k) % 7 for k in range((b - a) % 7 + 1))
    return frozenset(out)


def parse_hours(text: str) -> tuple[int, int]:
    """Start and end minute of the day from ``HH:MM-HH:MM``."""
    m = _HOURS.fullmatch(text.strip())
    if m is None:
        raise ScheduleError(f"{text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ScheduleError(f"{text!r} is not a time of day (00:00 to 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ScheduleError(f"{text!r} is an empty window; for the whole day write 00:00-24:00")
    return start, end


@dataclass(frozen=True, slots=True)
class Window:
    """Days (0 = Monday) and the minutes [start, end) of those days; start > end runs past midnight."""

    days: frozenset[int]
    start: int = 0
    end: int = 24 * 60

    def covers(self, weekday: int, minute: int) -> bool:
        """True when the local weekday and minute of the day fall inside this window."""
        if self.start < self.end:
            return weekday in self.days and self.start <= minute < self.end
        return (weekday in self.days and minute >= self.start) or ((weekday - 1) % 7 in self.days and minute < self.end)


def local_time(now_ns: int, tz: ZoneInfo) -> datetime:
    """The wall-clock time at ``now_ns`` (Unix nanoseconds) in ``tz``."""
    return datetime.fromtimestamp(now_ns // 1_000_000_000, tz)


def active(windows: tuple[Window, ...], local: datetime) -> bool:
    """True when any window covers the local time."""
    weekday, minute = local.weekday(), local.hour * 60 + local.minute
    return any(w.covers(weekday, minute) for w in windows)
