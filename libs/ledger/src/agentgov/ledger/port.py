"""The ledger's interface, one Protocol that every backend implements (``redis.py``, ``kv.py``).

Conformance is tested once against both backends (``libs/ledger/tests/test_conformance.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from agentgov.ledger.model import Limit, Reservation, Scope, SettleItem, Usage


class Ledger(Protocol):
    """Hot budget state: limits, spend per window, and reservations held for checked actions."""

    async def set_limit(self, limit: Limit) -> None:
        """Set the limit of (scope, window), replacing any before it."""
        ...

    async def remove_limit(self, scope: Scope, window: str) -> None:
        """Remove the limit of (scope, window), if any."""
        ...

    async def limits(self) -> list[Limit]:
        """Every limit, ordered by scope then window."""
        ...

    async def reserve(
        self, request_id: str, scopes: Sequence[Scope], usd_micros: int, now_ns: int, ttl_ns: int
    ) -> Reservation:
        """Hold ``usd_micros`` on every limited window of ``scopes`` until ``now_ns + ttl_ns``: all or nothing.

        Idempotent per ``request_id``: a request already holding budget gets its reservation back."""
        ...

    async def settle(
        self, event_id: str, request_id: str | None, scopes: Sequence[Scope], usd_micros: int, ts_ns: int
    ) -> bool:
        """Add actual spend at ``ts_ns`` to every limited window of ``scopes`` and release ``request_id``'s
        hold. Idempotent per ``event_id``: False when that event was already applied."""
        ...

    async def settle_many(self, items: Sequence[SettleItem]) -> int:
        """Settle every item as :meth:`settle` would, in order, ending in the same state as settling them one by
        one, at a cost that does not grow with the number of items (Redis: one script per chunk of items; KV:
        one compare-and-set per touched scope document). Idempotent per event id like :meth:`settle` (a batch
        re-run after a crash applies nothing twice); returns how many items were applied now."""
        ...

    async def usage(self, scopes: Sequence[Scope], now_ns: int) -> list[Usage]:
        """Every limited window of ``scopes`` at ``now_ns``, in the order of ``scopes`` then window."""
        ...

    async def remaining(self, scopes: Sequence[Scope], now_ns: int) -> int | None:
        """The least left over the limited windows of ``scopes``; None when no limit applies."""
        ...

    async def expire(self, now_ns: int) -> int:
        """Drop reservations whose hold ended at or before ``now_ns``; return how many."""
        ...

    async def reset(self) -> None:
        """Wipe limits, spend, holds and the record of applied events (for ``--rebuild``)."""
        ...

    async def close(self) -> None:
        """Release connections (the ledger's state stays in the backend)."""
        ...
