"""Rate limits: what a decision charges, and the in-process limiter.

Evaluation is pure, so it does not count anything: it returns :class:`RateCharge` entries (one per limit
that applies to the action) and the handler passes them to a :class:`Limiter`, then to
:func:`agentgov.policy.domain.finalize`. Charges are made only when the verdict before limits is not deny.

Windows are **fixed and aligned to the Unix epoch**: a ``per: 1m`` window runs from second 0 to 59 of each
minute (window index ``now_s // window_s``), for every replica alike. A burst may therefore fit twice ``limit``
requests across a window boundary; what a window admits is exact (``limit`` and no more). A request counts
against every limit that applies to it, **all or nothing**: if any limit is over, none is counted, so a
denied request never uses up another limit's allowance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

_NS = 1_000_000_000


class RateCharge(msgspec.Struct, frozen=True):
    """One count against one limit: ``limit`` requests per ``window_s`` for the counter ``key``.

    ``rule_id`` is the limit's rule id (``rate_limits.<id>`` or ``tools.settings.rate``) and ``scope`` the
    level it was written at (``org``, ``team:<team>``, ``agent:<agent>``, ``tool:<glob>``).
    """

    key: str
    limit: int
    window_s: int
    rule_id: str
    scope: str = "org"


class Limiter(Protocol):
    """Counts requests against limits."""

    async def hit(self, charges: Sequence[RateCharge], now_ns: int) -> list[RateCharge]:
        """Count one request against every charge; return those over their limit (then nothing is counted)."""
        ...


class MemoryLimiter:
    """Exact fixed-window counters in this process (one replica, or tests and ``agentgov policy test``)."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._counts: dict[tuple[str, int, int], int] = {}
        """(key, window length, window index) -> requests counted."""
        self._max_keys = max_keys

    async def hit(self, charges: Sequence[RateCharge], now_ns: int) -> list[RateCharge]:
        """See :meth:`Limiter.hit`."""
        return self.hit_now(charges, now_ns)

    def hit_now(self, charges: Sequence[RateCharge], now_ns: int) -> list[RateCharge]:
        """The same as :meth:`hit`, synchronously."""
        if not charges:
            return []
        now_s = now_ns // _NS
        slots = [(c.key, c.window_s, now_s // c.window_s) for c in charges]
        wanted: dict[tuple[str, int, int], int] = {}
        for slot in slots:
            wanted[slot] = wanted.get(slot, 0) + 1
        over = [c for c, slot in zip(charges, slots, strict=True) if self._counts.get(slot, 0) + wanted[slot] > c.limit]
        if over:
            return over
        for slot, n in wanted.items():
            self._counts[slot] = self._counts.get(slot, 0) + n
        if len(self._counts) > self._max_keys:
            self._counts = {s: n for s, n in self._counts.items() if s[2] >= now_s // s[1]}
        return []

    def count(self, charge: RateCharge, now_ns: int) -> int:
        """How many requests the current window of ``charge`` has counted (for tests and inspection)."""
        return self._counts.get((charge.key, charge.window_s, now_ns // _NS // charge.window_s), 0)
