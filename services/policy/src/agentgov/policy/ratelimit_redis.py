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

# KEYS: one counter key per charge. ARGV: n, then (limit, ttl_s) per charge.
# Returns a list of 0/1 (1 = over its limit); counts nothing unless every charge fits.
_SCRIPT: Final = """
local n = tonumber(ARGV[1])
local over = {}
local any = false
for i = 1, n do
  local limit = tonumber(ARGV[2 * i])
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current + 1 > limit then
    over[i] = 1
    any = true
  else
    over[i] = 0
  end
end
if not any then
  for i = 1, n do
    local count = redis.call('INCR', KEYS[i])
    if count == 1 then
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
        keys: list[str] = []
        argv: list[int] = [len(charges)]
        for c in charges:
            window = now_s // c.window_s
            keys.append(f"{self._prefix}{c.key}:{c.window_s}:{window}")
            argv += [c.limit, c.window_s + 1]
        over = await self._script(keys=keys, args=argv)
        return [c for c, flag in zip(charges, over, strict=True) if int(flag)]

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
