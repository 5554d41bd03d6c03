"""What the ledger holds and answers: scopes, limits, usage, shortfalls and reservations (plain data).

Money is integer micro-dollars (``usd_micros``), time integer nanoseconds since the Unix epoch (UTC). A
*scope* is ``agent:<id>``, ``team:<id>``, ``org:<id>`` or ``global``; a *window* is ``daily`` or
``monthly`` in an IANA time zone, or ``rolling`` over the last ``rolling_s`` seconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from agentgov.ledger.errors import InvalidLimitError

Scope = str
"""``agent:<id>`` | ``team:<id>`` | ``org:<id>`` | ``global``."""
Window = Literal["daily", "monthly", "rolling"]
WINDOWS: Final[tuple[Window, ...]] = ("daily", "monthly", "rolling")

_SCOPE: Final = re.compile(r"global|(?:agent|team|org):[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def check_scope(scope: str) -> Scope:
    """``scope`` if it is a well-formed scope, else :class:`InvalidLimitError`."""
    if not _SCOPE.fullmatch(scope):
        raise InvalidLimitError(f"{scope!r} is not a scope (agent:<id>, team:<id>, org:<id> or global)")
    return scope


def scopes_of(agent: str, team: str | None, org: str | None) -> list[Scope]:
    """The scopes an agent's spend counts against: agent, team, org, global, in that order."""
    out = [f"agent:{agent}"]
    if team:
        out.append(f"team:{team}")
    if org:
        out.append(f"org:{org}")
    out.append("global")
    return out


def hold_id(agent: str, request_id: str) -> str:
    """The id a checked request holds budget under (the policy reserves, the budget service settles with it).

    Qualified by the agent, so one agent can never claim another agent's hold by reusing its request id."""
    return f"{agent}:{request_id}"


@dataclass(frozen=True)
class Limit:
    """A cap on spend in one window of one scope. One limit per (scope, window)."""

    scope: Scope
    window: Window
    limit_usd_micros: int
    tz: str = "UTC"
    """IANA time zone of daily and monthly windows."""
    rolling_s: int = 0
    """Length of a rolling window in seconds (rolling windows only)."""

    def __post_init__(self) -> None:
        check_scope(self.scope)
        if self.window not in WINDOWS:
            raise InvalidLimitError(f"window {self.window!r} is not one of {', '.join(WINDOWS)}")
        if self.limit_usd_micros < 0:
            raise InvalidLimitError(f"limit {self.limit_usd_micros} is negative")
        if self.window == "rolling" and self.rolling_s <= 0:
            raise InvalidLimitError("a rolling window needs rolling_s > 0")


@dataclass(frozen=True)
class Usage:
    """Where one limited window stands at a moment."""

    scope: Scope
    window: Window
    window_start_ns: int
    limit_usd_micros: int
    spent_usd_micros: int
    reserved_usd_micros: int

    @property
    def remaining(self) -> int:
        """What is left (negative when over the limit)."""
        return self.limit_usd_micros - self.spent_usd_micros - self.reserved_usd_micros


@dataclass(frozen=True)
class Shortfall:
    """A window a reservation would have overrun, and by how much."""

    scope: Scope
    window: Window
    limit_usd_micros: int
    spent_usd_micros: int
    reserved_usd_micros: int
    requested_usd_micros: int
    over_by_usd_micros: int

    def describe(self) -> str:
        """``budget team:ml monthly would be exceeded by $0.42: limit $10.00, spent $9.80, reserved $0.62``."""
        return (
            f"budget {self.scope} {self.window} would be exceeded by {usd(self.over_by_usd_micros)}: "
            f"limit {usd(self.limit_usd_micros)}, spent {usd(self.spent_usd_micros)}, "
            f"reserved {usd(self.reserved_usd_micros)}"
        )


@dataclass(frozen=True)
class Reservation:
    """The answer to a reserve: held on every limited window of ``scopes``, or refused with ``shortfalls``.

    ``scopes`` are the scopes the amount is held on (those with a limit); empty when none applies, and then
    nothing is held and ``ok`` is true.
    """

    ok: bool
    request_id: str
    usd_micros: int
    scopes: list[Scope] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    reason: str = ""
    """Why a refusal has no shortfalls (the ledger stayed contended); empty otherwise."""


@dataclass(frozen=True)
class SettleItem:
    """One spend to settle (see :meth:`~agentgov.ledger.port.Ledger.settle_many`): ``usd_micros`` spent at
    ``ts_ns`` on every limited window of ``scopes``, releasing ``request_id``'s hold (None: no hold)."""

    event_id: str
    request_id: str | None
    scopes: Sequence[Scope]
    usd_micros: int
    ts_ns: int


def usd(micros: int) -> str:
    """Micro-dollars as dollars with cents, rounded up to the cent (``$0.42``); never shows a loss as zero."""
    sign = "-" if micros < 0 else ""
    cents = -(-abs(micros) // 10_000)
    return f"{sign}${cents // 100}.{cents % 100:02d}"


def shortfall(u: Usage, requested: int) -> Shortfall | None:
    """The shortfall of taking ``requested`` more from ``u``, or None when it fits."""
    over = u.spent_usd_micros + u.reserved_usd_micros + requested - u.limit_usd_micros
    if over <= 0:
        return None
    return Shortfall(
        scope=u.scope,
        window=u.window,
        limit_usd_micros=u.limit_usd_micros,
        spent_usd_micros=u.spent_usd_micros,
        reserved_usd_micros=u.reserved_usd_micros,
        requested_usd_micros=requested,
        over_by_usd_micros=over,
    )
