"""The ledger on Redis: every reservation and every settle is one Lua script, atomic over all its scopes.

Guarantees (also in the README): a reservation checks every limited window of every scope and holds the
amount on all of them in one atomic step, so concurrent reservations are serialized by Redis and the cap is
exact: never exceeded, and no request is refused unless it really does not fit. Holds end at their TTL
(purged by the next script touching the scope, or by :meth:`RedisLedger.expire`). Durability is Redis's
(AOF/RDB settings); the budget service can rebuild the ledger from the stream.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentgov.ledger import redis_lua
from agentgov.ledger.errors import InvalidLimitError, LedgerUnavailableError
from agentgov.ledger.model import (
    WINDOWS,
    Limit,
    Reservation,
    Scope,
    SettleItem,
    Shortfall,
    Usage,
    check_scope,
    shortfall,
)
from agentgov.ledger.windows import Starts, bucket_ns, bucket_of, bucket_range, retention_s, window_start_ns

DEFAULT_PREFIX: Final = "agentgov:budget:"
MS: Final = 1_000_000
SETTLE_CHUNK: Final = 500
"""Items settled per script call: bounds how long one call keeps Redis (and the reservations) waiting."""

_encode = msgspec.json.Encoder().encode
_decode_rec = msgspec.json.Decoder(tuple[int, str, int]).decode


class RedisLedger:
    """The ledger on one Redis (see the module docstring for what it guarantees)."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = DEFAULT_PREFIX, events_ttl_s: int = 7 * 86_400) -> None:
        self._r = client
        self._p = prefix
        self._events_ttl_s = events_ttl_s
        self._check = client.register_script(redis_lua.CHECK)
        self._settle = client.register_script(redis_lua.SETTLE)
        self._expire = client.register_script(redis_lua.EXPIRE)

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, timeout_s: float = 1.0, max_connections: int = 16
    ) -> RedisLedger:
        """A ledger on the Redis at ``url`` (connects lazily). At most ``max_connections`` are open; a burst of
        requests waits up to ``2 * timeout_s`` for one rather than opening hundreds."""
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=2 * timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
        return cls(aioredis.Redis(connection_pool=pool), prefix=prefix)

    # -- limits ---------------------------------------------------------------------------------------

    async def set_limit(self, limit: Limit) -> None:
        """Set the limit of (scope, window)."""
        rec = _encode((limit.limit_usd_micros, limit.tz, limit.rolling_s))
        async with _available(), self._r.pipeline(transaction=True) as pipe:
            pipe.hset(f"{self._p}l:{limit.scope}", limit.window, rec)
            pipe.sadd(f"{self._p}scopes", limit.scope)
            await pipe.execute()

    async def remove_limit(self, scope: Scope, window: str) -> None:
        """Remove the limit of (scope, window)."""
        check_scope(scope)
        async with _available():
            await self._r.hdel(f"{self._p}l:{scope}", window)
            if not await self._r.hlen(f"{self._p}l:{scope}"):
                await self._r.srem(f"{self._p}scopes", scope)

    async def limits(self) -> list[Limit]:
        """Every limit, by scope then window."""
        async with _available():
            scopes = sorted(_text(s) for s in await self._r.smembers(f"{self._p}scopes"))
        by_scope = await self._limits_of(scopes)
        return [lim for s in scopes for lim in by_scope[s]]

    async def _limits_of(self, scopes: Sequence[Scope]) -> dict[Scope, list[Limit]]:
        """The limits of each scope, in window order (one round trip)."""
        for s in scopes:
            check_scope(s)
        async with _available(), self._r.pipeline(transaction=False) as pipe:
            for s in scopes:
                pipe.hgetall(f"{self._p}l:{s}")
            raw: list[dict[bytes, bytes]] = await pipe.execute()
        out: dict[Scope, list[Limit]] = {}
        for s, fields in zip(scopes, raw, strict=True):
            recs = {k.decode(): _decode_rec(v) for k, v in fields.items()}
            out[s] = [Limit(s, w, *recs[w]) for w in WINDOWS if w in recs]
        return out

    # -- reservations and spend -----------------------------------------------------------------------

    async def reserve(
        self, request_id: str, scopes: Sequence[Scope], usd_micros: int, now_ns: int, ttl_ns: int
    ) -> Reservation:
        """Hold ``usd_micros`` on every limited window of ``scopes`` in one atomic step, or refuse."""
        if usd_micros < 0:
            raise InvalidLimitError(f"cannot reserve a negative amount ({usd_micros})")
        status, rows, lims = await self._run(request_id, scopes, usd_micros, now_ns, now_ns + ttl_ns, ttl_ns)
        if status == 2:
            usd, _, held = rows[0].decode().partition("|")
            return Reservation(True, request_id, int(usd), [s for s in held.split(",") if s])
        if status == 0:
            usages = [_usage(r, lim, now_ns) for r, lim in zip(rows, lims, strict=True)]
            short = [s for u in usages if (s := shortfall(u, usd_micros)) is not None]
            return Reservation(False, request_id, usd_micros, [], _order(short, scopes))
        held_scopes = list(dict.fromkeys(r[0].decode() for r in rows))
        return Reservation(True, request_id, usd_micros if held_scopes else 0, held_scopes)

    async def settle(
        self, event_id: str, request_id: str | None, scopes: Sequence[Scope], usd_micros: int, ts_ns: int
    ) -> bool:
        """Record spend on every limited window and release the hold, once per ``event_id``, atomically."""
        return await self.settle_many([SettleItem(event_id, request_id, scopes, usd_micros, ts_ns)]) > 0

    async def settle_many(self, items: Sequence[SettleItem]) -> int:
        """Settle ``items`` in order: one round trip for the limits of every scope they name, then one script
        per :data:`SETTLE_CHUNK` items (each atomic; every item once per event id)."""
        if not items:
            return 0
        by_scope = await self._limits_of(list(dict.fromkeys(s for it in items for s in it.scopes)))
        applied = 0
        starts = Starts()
        for i in range(0, len(items), SETTLE_CHUNK):
            argv: list[Any] = [self._p, self._events_ttl_s, 0]
            for it in items[i : i + SETTLE_CHUNK]:
                keys: list[Any] = []
                for s in dict.fromkeys(it.scopes):
                    for lim in by_scope[s]:
                        if lim.window == "rolling":
                            keys += [f"r:{s}:{bucket_ns(lim)}:{bucket_of(lim, it.ts_ns)}", retention_s(lim)]
                        else:
                            keys += [f"c:{s}:{lim.window}:{starts.start(lim, it.ts_ns)}", retention_s(lim)]
                argv += [it.event_id, it.request_id or "", it.usd_micros, len(keys) // 2, *keys]
                argv[2] += 1
            async with _available():
                applied += int(await self._settle(args=argv))
        return applied

    async def usage(self, scopes: Sequence[Scope], now_ns: int) -> list[Usage]:
        """Every limited window of ``scopes`` (expired holds are dropped on the way)."""
        _, rows, lims = await self._run("", scopes, -1, now_ns, now_ns, 1)
        return [_usage(r, lim, now_ns) for r, lim in zip(rows, lims, strict=True)]

    async def remaining(self, scopes: Sequence[Scope], now_ns: int) -> int | None:
        """The least left over the limited windows of ``scopes``; None when none is limited."""
        return min((u.remaining for u in await self.usage(scopes, now_ns)), default=None)

    async def expire(self, now_ns: int) -> int:
        """Drop the holds that ended; return how many."""
        async with _available():
            scopes = [_text(s) for s in await self._r.smembers(f"{self._p}scopes")]
            if not scopes:
                return 0
            return int(await self._expire(args=[self._p, now_ns // MS, *scopes]))

    async def reset(self) -> None:
        """Delete every key under the prefix."""
        async with _available():
            batch: list[bytes] = []
            async for key in self._r.scan_iter(match=f"{self._p}*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    await self._r.unlink(*batch)
                    batch.clear()
            if batch:
                await self._r.unlink(*batch)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._r.aclose(close_connection_pool=True)

    # -- the check script -----------------------------------------------------------------------------

    async def _run(
        self, request_id: str, scopes: Sequence[Scope], usd: int, now_ns: int, expires_ns: int, ttl_ns: int
    ) -> tuple[int, list[Any], list[Limit]]:
        by_scope = await self._limits_of(list(dict.fromkeys(scopes)))
        argv: list[Any] = [
            self._p,
            request_id,
            usd,
            now_ns // MS,
            math.ceil(expires_ns / MS),
            max(1, math.ceil(ttl_ns / MS)),
            len(by_scope),
        ]
        for s, lims in by_scope.items():
            argv += [s, len(lims)]
            for lim in lims:
                if lim.window == "rolling":
                    span = bucket_range(lim, now_ns)
                    argv += [lim.window, lim.limit_usd_micros, "r", bucket_ns(lim), span.start, span.stop - 1]
                else:
                    argv += [lim.window, lim.limit_usd_micros, "c", window_start_ns(lim, now_ns), 0, 0]
        async with _available():
            reply = await self._check(args=argv)
        return int(reply[0]), list(reply[1:]), [lim for lims in by_scope.values() for lim in lims]


def _usage(row: list[Any], lim: Limit, now_ns: int) -> Usage:
    _, _, _, spent, held = row
    return Usage(lim.scope, lim.window, window_start_ns(lim, now_ns), lim.limit_usd_micros, int(spent), int(held))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _order(short: list[Shortfall], scopes: Sequence[Scope]) -> list[Shortfall]:
    rank = {s: i for i, s in enumerate(scopes)}
    return sorted(short, key=lambda s: rank.get(s.scope, len(rank)))


@contextlib.asynccontextmanager
async def _available() -> AsyncIterator[None]:
    """Turns Redis connection errors into :class:`LedgerUnavailableError`."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise LedgerUnavailableError(f"Redis: {exc}") from exc
