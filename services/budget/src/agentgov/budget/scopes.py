"""Budget scopes and windows: names, subjects and window boundaries (pure).

A scope is ``agent:<id>``, ``team:<id>``, ``org:<id>`` or ``global``. Budget events of a scope go on
``gov.budget.<kind>-<id>`` (``gov.budget.global`` for the overall budget): ``:`` is not subject-safe, and no
kind contains ``-``, so the first ``-`` separates kind from id unambiguously. ``gov.budget.pricing`` and
``gov.budget.limits`` cannot collide with a scope subject (they have no ``-``).

Windows: ``daily`` starts at local midnight and ``monthly`` on the first of the month at local midnight,
in the limit's IANA time zone (daylight-saving days are 23 or 25 hours long); ``rolling`` covers the last
``rolling_s`` seconds and has no boundary (its alerts re-arm once spend falls back below a threshold).
Rolling spend is kept in the ledger's time buckets (:func:`rolling_width_ns`, 1/60 of the window): the
bucket holding the window's start counts whole, so spend leaves a rolling window up to one bucket late.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from agentgov.budget.errors import LimitError
from agentgov.contracts.events_budget import BudgetWindow
from agentgov.contracts.ids import check_token
from agentgov.ledger import windows
from agentgov.ledger.errors import InvalidLimitError
from agentgov.ledger.model import Limit

GLOBAL: Final = "global"
KINDS: Final = ("agent", "team", "org")
CALENDAR: Final[tuple[BudgetWindow, ...]] = ("daily", "monthly")


def parse_scope(text: str) -> str:
    """``text`` if it is a valid scope, else LimitError saying why."""
    if text == GLOBAL:
        return text
    kind, sep, ident = text.partition(":")
    if not sep or kind not in KINDS:
        raise LimitError(f"bad scope {text!r}: use agent:<id>, team:<id>, org:<id> or global")
    try:
        check_token(kind, ident)
    except ValueError as exc:
        raise LimitError(f"bad scope {text!r}: {exc}") from None
    return text


def scope_subject(scope: str) -> str:
    """``gov.budget.<kind>-<id>`` (or ``gov.budget.global``) for a valid scope."""
    if scope == GLOBAL:
        return "gov.budget.global"
    kind, _, ident = parse_scope(scope).partition(":")
    return f"gov.budget.{kind}-{ident}"


def zone(tz: str) -> ZoneInfo:
    """The IANA zone, or LimitError when it does not exist."""
    try:
        return windows.zone(tz)
    except InvalidLimitError as exc:
        raise LimitError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Paris)") from exc


@lru_cache(maxsize=4096)
def _calendar(window: BudgetWindow, tz: str) -> Limit:
    return Limit(scope=GLOBAL, window=window, limit_usd_micros=0, tz=tz)


def calendar_bounds(window: BudgetWindow, tz: str, ts_ns: int) -> tuple[int, int]:
    """Start and end (ns) of the daily or monthly window of ``tz`` holding ``ts_ns`` (the ledger's arithmetic,
    so this projection and the ledger always agree on which window a spend falls in)."""
    lim = _calendar(window, tz)
    return windows.window_start_ns(lim, ts_ns), windows.window_end_ns(lim, ts_ns)


def calendar_start_ns(window: BudgetWindow, tz: str, ts_ns: int) -> int:
    """Start (ns since the epoch) of the daily or monthly window of ``tz`` that holds ``ts_ns``."""
    return calendar_bounds(window, tz, ts_ns)[0]


def rolling_width_ns(rolling_s: int) -> int:
    """The time bucket of a rolling window of ``rolling_s`` seconds, as the ledger buckets it (ns)."""
    return max(1, rolling_s // windows.MAX_BUCKETS) * windows.NS


def rolling_first_ns(rolling_s: int, now_ns: int) -> int:
    """Start of the oldest bucket the rolling window ending at ``now_ns`` sums (it counts whole)."""
    width = rolling_width_ns(rolling_s)
    return (now_ns - rolling_s * windows.NS) // width * width
