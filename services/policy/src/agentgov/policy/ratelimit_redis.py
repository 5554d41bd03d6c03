"""Rate limits shared by every policy replica, in Redis (used when ``AGENTGOV_REDIS_URL`` is set).

Same semantics as the in-process :class:`~agentgov.policy.ratelimit.MemoryLimiter`: fixed windows aligned
to the epoch, a request counts against every limit that applies to it, all or nothing. One Lua script
checks and increments every counter of a request atomically inside Redis, so two replicas racing on one
limit allow exactly ``limit`` requests per window between them (tested). Counters expire with their window.

If Redis cannot be reached the limiter raises; the decision path then denies the request (fail closed)
rather than let an unlimited burst through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import redis.asyncio as aioredis

from agentgov.policy.ratelimit import RateCharge

# KEYS: the distinct counters of one request. ARGV: n keys, then (wanted, ttl_s) per key, then m charges as
# (key index, limit). Returns one 0/1 per charge (1 = over its limit); counts nothing unless all fit.
_SCRIPT: Final = """
local n = tonumber(ARGV[1])
local m = tonumber(ARGV[2 + 2 * n])
local over = {}
local any = false
for j = 1, m do
  local base = 2 + 2 * n + 2 * (j - 1)
  local i = tonumber(ARGV[base + 1])
  local limit = tonumber(ARGV[base + 2])
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current + tonumber(ARGV[2 * i]) > limit then
    over[j] = 1
    any = true
  else
    over[j] = 0
  end
end
if not any then
  for i = 1, n do
    local count = redis.call('INCRBY', KEYS[i], tonumber(ARGV[2 * i]))
    if count == tonumber(ARGV[2 * i]) then
      redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2 * i + 1]))
    end
  end
end
return over
"""


class RedisLimiter:
    """Fixed-window counters in Redis, checked and counted atomically per request."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "agentgov:rl:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_SCRIPT)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "agentgov:rl:") -> RedisLimiter:
        """Connect lazily to ``url``."""
        return cls(aioredis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0), prefix=prefix)

    async def hit(self, charges: Sequence[RateCharge], now_ns: int) -> list[RateCharge]:
        """Count one request against every charge; return the charges over their limit (then nothing counts)."""
        if not charges:
            return []
        now_s = now_ns // 1_000_000_000
        index: dict[str, int] = {}
        wanted: list[int] = []
        ttls: list[int] = []
        refs: list[int] = []
        for c in charges:
            key = f"{self._prefix}{c.key}:{c.window_s}:{now_s // c.window_s}"
            if key not in index:
                index[key] = len(index) + 1  # Lua arrays start at 1
                wanted.append(0)
                ttls.append(c.window_s + 1)
            wanted[index[key] - 1] += 1
            refs.append(index[key])
        argv: list[int] = [len(index)]
        for w, ttl in zip(wanted, ttls, strict=True):
            argv += [w, ttl]
        argv.append(len(charges))
        for ref, c in zip(refs, charges, strict=True):
            argv += [ref, c.limit]
        over = await self._script(keys=list(index), args=argv)
        return [c for c, flag in zip(charges, over, strict=True) if int(flag)]

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
