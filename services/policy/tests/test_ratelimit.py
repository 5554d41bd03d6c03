"""The limiters: fixed epoch-aligned windows, exact counts, all-or-nothing.

The conformance tests run against both backends, in process and Redis (DESIGN.md §6: one interface, one
suite); the last ones are about the in-process limiter's own bookkeeping.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agentgov.policy.ratelimit import Limiter, MemoryLimiter, RateCharge
from agentgov.policy.ratelimit_redis import RedisLimiter

S = 1_000_000_000


@pytest_asyncio.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    """A fresh limiter of each backend (Redis under this session's key prefix)."""
    if request.param == "memory":
        yield MemoryLimiter()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    redis_limiter = RedisLimiter.from_url(url, prefix=f"{prefix}{secrets.token_hex(4)}:")
    yield redis_limiter
    await redis_limiter.close()


async def test_conformance_limit_window_and_all_or_nothing(limiter: Limiter) -> None:
    """Exactly 'limit' per window; over-limit requests count nothing; the next window starts at zero."""
    c = RateCharge("k", 3, 60, "rate_limits.x")
    t0 = 1_700_000_040 * S
    for i in range(3):
        assert await limiter.hit([c], t0 + i * S) == []
    assert await limiter.hit([c], t0 + 59 * S) == [c]
    assert await limiter.hit([c], t0 + 60 * S) == []
    small, big = RateCharge("s", 1, 60, "a"), RateCharge("b", 2, 60, "b")
    assert await limiter.hit([small, big], t0) == []
    assert await limiter.hit([small, big], t0 + S) == [small]
    assert await limiter.hit([big], t0 + 2 * S) == []  # the refused request did not count against big
    assert await limiter.hit([big], t0 + 3 * S) == [big]


async def test_conformance_same_counter_twice(limiter: Limiter) -> None:
    """Two charges on one counter in one request count twice and are over together."""
    c = RateCharge("k2", 3, 60, "a")
    assert await limiter.hit([c, c], 0) == []
    assert await limiter.hit([c, c], 0) == [c, c]
    assert await limiter.hit([c], 0) == []


async def test_limit_then_next_window() -> None:
    """'limit' requests pass in a window, the next is over, and the next window starts at zero."""
    lim = MemoryLimiter()
    c = RateCharge("k", 3, 60, "rate_limits.x")
    t0 = 1_700_000_040 * S  # a window boundary: 1_700_000_040 is divisible by 60
    for i in range(3):
        assert await lim.hit([c], t0 + i * S) == []
    assert await lim.hit([c], t0 + 59 * S) == [c]
    assert await lim.hit([c], t0 + 60 * S) == []
    assert lim.count(c, t0 + 60 * S) == 1


def test_all_or_nothing() -> None:
    """When one charge is over, none of the request's charges are counted."""
    lim = MemoryLimiter()
    small, big = RateCharge("s", 1, 60, "a"), RateCharge("b", 100, 60, "b")
    assert lim.hit_now([small, big], 0) == []
    assert lim.hit_now([small, big], S) == [small]
    assert lim.count(big, S) == 1


def test_the_same_counter_twice_in_one_request() -> None:
    """Two charges on one counter in one request count twice, and are over together."""
    lim = MemoryLimiter()
    c = RateCharge("k", 3, 60, "a")
    assert lim.hit_now([c, c], 0) == []
    assert lim.hit_now([c, c], 0) == [c, c]
    assert lim.count(c, 0) == 2


def test_windows_are_aligned_to_the_epoch() -> None:
    """Window i of a 60 s limit is [60 i, 60 i + 60): 59 s and 60 s fall in different windows."""
    lim = MemoryLimiter()
    c = RateCharge("k", 1, 60, "a")
    assert lim.hit_now([c], 59 * S) == []
    assert lim.hit_now([c], 60 * S) == []
    assert lim.hit_now([c], 119 * S) == [c]


def test_old_windows_are_forgotten() -> None:
    """Past the key budget, counters of ended windows are dropped."""
    lim = MemoryLimiter(max_keys=10)
    for i in range(20):
        lim.hit_now([RateCharge(f"k{i}", 5, 1, "a")], i * S)
    assert len(lim._counts) <= 11
