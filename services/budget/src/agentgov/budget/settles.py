"""A batch's ledger writes (pure): limit changes, then spend summed wherever the ledger cannot tell it apart.

The ledger places spend by its event time only: into the daily or monthly window holding it (in the limit's
time zone) and the rolling bucket holding it (1/60 of the window). Two spends of one scope that land in the
same window of every limit of that scope and the same rolling bucket are therefore indistinguishable to it,
and one settle of their sum (at the later time) leaves the ledger exactly as settling each would. So spend
that releases no reservation is summed per (scope, placement) into one settle with the id
``agg:<batch end>:<scope>:<placement>``: a batch of 1,000 events makes a few ledger writes per limited scope
instead of one per event and scope. Ids depend only on the batch, which the snapshot's intent fixes before
the writes are made, so redoing the intent after a crash writes the same ids (the ledger skips them).

Spend that names an outstanding reservation is settled per event (only that settle can release the hold),
unless the reservation has already ended by the time the batch is written (replaying old spend after a
restart or ``--rebuild``): the ledger ignores an expired hold, so that spend is summed like the rest. The
projection already left out the scopes without a limit, which the ledger does not keep.
"""

from __future__ import annotations

from typing import Final

from agentgov.budget.domain import Effects
from agentgov.budget.scopes import calendar_bounds, rolling_width_ns
from agentgov.budget.state import LedgerOp, LimitRow

Placement = tuple[int, ...]

HOLD_MARGIN_NS: Final = 60 * 1_000_000_000
"""A reservation is released per event until this long after the end the projection computed for it (its
TTL is the policy replica's, counted from the decision's time: allow for clocks and latency)."""


class Placer:
    """Where the ledger places spend of a scope at a time, as a key equal for indistinguishable spend."""

    def __init__(self, limits: dict[str, LimitRow]) -> None:
        self._rows: dict[str, list[LimitRow]] = {}
        for row in limits.values():
            self._rows.setdefault(row.scope, []).append(row)
        self._bounds: dict[tuple[str, str], tuple[int, int]] = {}
        self._last: dict[str, tuple[int, int, Placement]] = {}
        """scope -> (from, until, placement): the placement of every time in [from, until)."""

    def place(self, scope: str, ts_ns: int) -> Placement | None:
        """The window starts and rolling bucket of ``scope``'s limits at ``ts_ns``; None without a limit."""
        last = self._last.get(scope)
        if last is not None and last[0] <= ts_ns < last[1]:
            return last[2]
        rows = self._rows.get(scope)
        if rows is None:
            return None
        out: list[int] = []
        for row in rows:
            if row.window == "rolling":
                out.append(ts_ns // rolling_width_ns(row.rolling_s))
                continue
            bounds = self._bounds.get((row.window, row.tz))
            if bounds is None or not bounds[0] <= ts_ns < bounds[1]:
                bounds = self._bounds[(row.window, row.tz)] = calendar_bounds(row.window, row.tz, ts_ns)
            out.append(bounds[0])
        placement = tuple(out)
        self._last[scope] = (*self._span(rows, ts_ns), placement)
        return placement

    def _span(self, rows: list[LimitRow], ts_ns: int) -> tuple[int, int]:
        """The times around ``ts_ns`` with the same placement for ``rows``."""
        lo, hi = ts_ns, ts_ns + 1
        first = True
        for row in rows:
            if row.window == "rolling":
                width = rolling_width_ns(row.rolling_s)
                a, b = ts_ns // width * width, (ts_ns // width + 1) * width
            else:
                a, b = self._bounds[(row.window, row.tz)]
            lo, hi = (a, b) if first else (max(lo, a), min(hi, b))
            first = False
        return lo, hi


def ledger_ops(fx: Effects, limits: dict[str, LimitRow], batch_end: int, now_ns: int) -> list[LedgerOp]:
    """The ledger writes of a batch, in order: limit changes, reservation-releasing settles, then summed
    spend (see the module docstring). ``limits`` are the limits after the batch, which the ledger will hold
    once the limit changes are written; ``now_ns`` decides which reservations may still be outstanding."""
    ops = [
        LedgerOp(remove=(lim.scope, lim.window)) if lim.row is None else LedgerOp(limit=lim.row) for lim in fx.limits
    ]
    placer = Placer(limits)
    sums: dict[tuple[str, Placement], list[int]] = {}
    for s in fx.settle:
        if (s.held and s.hold_expires_ns + HOLD_MARGIN_NS > now_ns) or s.event_id.startswith("opening:"):
            ops.append(
                LedgerOp(
                    event_id=s.event_id,
                    request_id=s.request_id,
                    scopes=s.scopes,
                    usd_micros=s.usd_micros,
                    ts_ns=s.ts_ns,
                )
            )
            continue
        for scope in s.scopes:
            where = placer.place(scope, s.ts_ns)
            if where is None:
                continue  # the limit was removed later in the batch: the ledger no longer counts this scope
            acc = sums.get((scope, where))
            if acc is None:
                sums[(scope, where)] = [s.usd_micros, s.ts_ns]
            else:
                acc[0] += s.usd_micros
                acc[1] = max(acc[1], s.ts_ns)
    for (scope, where), (usd, ts) in sums.items():
        tag = ".".join(map(str, where))
        ops.append(LedgerOp(event_id=f"agg:{batch_end}:{scope}:{tag}", scopes=[scope], usd_micros=usd, ts_ns=ts))
    return ops
