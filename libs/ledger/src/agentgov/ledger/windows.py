"""Window arithmetic, pure: where a window starts and ends, and the time buckets of rolling windows.

Daily and monthly windows start at local midnight (of the day, or of the 1st of the month) in the limit's
IANA time zone, so a daily window is 23 or 25 hours long on a daylight-saving day. A window is named by its
start (``window_start_ns``). Rolling windows are summed from time buckets of ``bucket_ns(limit)`` (at most
about 60 buckets per window); the bucket holding the window's start counts whole, so spend leaves a rolling
window up to one bucket late, never early (never under-counted).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from agentgov.ledger.errors import InvalidLimitError
from agentgov.ledger.model import Limit

NS: Final = 1_000_000_000
MAX_BUCKETS: Final = 60
"""A rolling window is summed over this many buckets (plus the one holding its start)."""


@functools.lru_cache(maxsize=64)
def zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz`` (cached), or :class:`InvalidLimitError`."""
    try:
        return ZoneInfo(tz)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise InvalidLimitError(f"unknown time zone {tz!r}") from exc


def _local_start(limit: Limit, ts_ns: int) -> datetime:
    local = datetime.fromtimestamp(ts_ns // NS, zone(limit.tz))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day.replace(day=1) if limit.window == "monthly" else day


def _utc_ns(local: datetime) -> int:
    return int(local.timestamp()) * NS


def window_start_ns(limit: Limit, now_ns: int) -> int:
    """The start of ``limit``'s window holding ``now_ns``: local midnight (daily), local midnight of the 1st
    (monthly), ``now_ns - rolling_s`` (rolling); as UTC nanoseconds."""
    if limit.window == "rolling":
        return now_ns - limit.rolling_s * NS
    return _utc_ns(_local_start(limit, now_ns))


def window_end_ns(limit: Limit, now_ns: int) -> int:
    """When the window holding ``now_ns`` ends (the next one's start; ``now_ns`` for rolling windows)."""
    if limit.window == "rolling":
        return now_ns
    start = _local_start(limit, now_ns)
    if limit.window == "daily":
        nxt = (start.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=start.tzinfo)
    else:
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        nxt = start.replace(year=year, month=month)
    return _utc_ns(nxt)


class Starts:
    """:func:`window_start_ns` of calendar windows for many times, remembering the last window of each
    (window, zone) so times in the same window cost a comparison (for settling batches)."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[int, int]] = {}

    def start(self, limit: Limit, ts_ns: int) -> int:
        """The start of ``limit``'s (daily or monthly) window holding ``ts_ns``."""
        k = (limit.window, limit.tz)
        b = self._last.get(k)
        if b is None or not b[0] <= ts_ns < b[1]:
            b = self._last[k] = (window_start_ns(limit, ts_ns), window_end_ns(limit, ts_ns))
        return b[0]


def bucket_ns(limit: Limit) -> int:
    """The bucket width of a rolling window: 1/60 of it, at least one second."""
    if limit.window != "rolling":
        raise InvalidLimitError(f"a {limit.window} window has no buckets")
    return max(1, limit.rolling_s // MAX_BUCKETS) * NS


def bucket_of(limit: Limit, ts_ns: int) -> int:
    """The index of the rolling bucket holding ``ts_ns``."""
    return ts_ns // bucket_ns(limit)


def bucket_range(limit: Limit, now_ns: int) -> range:
    """The bucket indices summed for the rolling window ending at ``now_ns``."""
    return range(bucket_of(limit, window_start_ns(limit, now_ns)), bucket_of(limit, now_ns) + 1)


def retention_s(limit: Limit) -> int:
    """How long a backend must keep a window's spend after it was written (with a margin)."""
    if limit.window == "rolling":
        return limit.rolling_s + 2 * (bucket_ns(limit) // NS) + 60
    return 3 * 86_400 if limit.window == "daily" else 35 * 86_400
