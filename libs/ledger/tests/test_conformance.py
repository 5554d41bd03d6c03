"""One conformance suite for every ledger backend (Redis and JetStream KV, real servers; see conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from agentgov.ledger import Ledger, Limit, SettleItem, scopes_of
from agentgov.ledger.windows import NS

SCOPES = scopes_of("a1", "ml", "acme")
HOUR = 3600 * NS
TTL = 600 * NS


def ns(text: str) -> int:
    """UTC nanoseconds of an ISO time."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * NS


NOW = ns("2025-06-10T12:00:00")


async def test_limits_are_set_replaced_listed_and_removed(ledger: Ledger) -> None:
    """set_limit replaces the limit of (scope, window); limits() lists them by scope; remove_limit drops one."""
    await ledger.set_limit(Limit("team:ml", "monthly", 5, "Europe/Paris"))
    await ledger.set_limit(Limit("team:ml", "monthly", 10_000_000, "Europe/Paris"))
    await ledger.set_limit(Limit("agent:a1", "rolling", 7, rolling_s=60))
    await ledger.set_limit(Limit("team:ml", "daily", 3))
    assert await ledger.limits() == [
        Limit("agent:a1", "rolling", 7, rolling_s=60),
        Limit("team:ml", "daily", 3),
        Limit("team:ml", "monthly", 10_000_000, "Europe/Paris"),
    ]
    await ledger.remove_limit("team:ml", "daily")
    await ledger.remove_limit("agent:a1", "rolling")
    assert await ledger.limits() == [Limit("team:ml", "monthly", 10_000_000, "Europe/Paris")]


async def test_no_limit_means_nothing_to_hold(ledger: Ledger) -> None:
    """Without limits, remaining is None and a reservation succeeds holding nothing."""
    assert await ledger.remaining(SCOPES, NOW) is None
    res = await ledger.reserve("r1", SCOPES, 1_000, NOW, TTL)
    assert res.ok and res.scopes == [] and res.usd_micros == 0


async def test_reserve_is_all_or_nothing_and_names_the_shortfall(ledger: Ledger) -> None:
    """A reservation that fits the team but not the agent holds nothing anywhere and says by how much."""
    await ledger.set_limit(Limit("team:ml", "daily", 10_000_000))
    await ledger.set_limit(Limit("agent:a1", "daily", 1_000_000))
    ok = await ledger.reserve("r1", SCOPES, 600_000, NOW, TTL)
    assert ok.ok and ok.scopes == ["agent:a1", "team:ml"] and ok.usd_micros == 600_000
    no = await ledger.reserve("r2", SCOPES, 500_000, NOW, TTL)
    assert not no.ok and no.scopes == []
    [short] = no.shortfalls
    assert (short.scope, short.window, short.over_by_usd_micros) == ("agent:a1", "daily", 100_000)
    assert (short.limit_usd_micros, short.spent_usd_micros, short.reserved_usd_micros) == (1_000_000, 0, 600_000)
    usage = {(u.scope, u.window): u for u in await ledger.usage(SCOPES, NOW)}
    assert usage["team:ml", "daily"].reserved_usd_micros == 600_000  # r2 left nothing behind
    assert await ledger.remaining(SCOPES, NOW) == 400_000


async def test_reserve_is_idempotent_per_request(ledger: Ledger) -> None:
    """Reserving again for the same request returns the same hold and holds nothing more."""
    await ledger.set_limit(Limit("team:ml", "daily", 1_000_000))
    first = await ledger.reserve("r1", SCOPES, 700_000, NOW, TTL)
    again = await ledger.reserve("r1", SCOPES, 700_000, NOW + NS, TTL)
    assert first.ok and again.ok and again.scopes == ["team:ml"]
    assert await ledger.remaining(SCOPES, NOW + NS) == 300_000


async def test_settle_records_spend_releases_the_hold_once(ledger: Ledger) -> None:
    """Settling adds the actual spend, releases the request's hold, and applies each event id once."""
    await ledger.set_limit(Limit("team:ml", "monthly", 10_000_000))
    await ledger.set_limit(Limit("global", "daily", 50_000_000))
    await ledger.reserve("r1", SCOPES, 2_000_000, NOW, TTL)
    assert await ledger.settle("e1", "r1", SCOPES, 1_500_000, NOW + NS)
    assert not await ledger.settle("e1", "r1", SCOPES, 1_500_000, NOW + NS)
    usage = {(u.scope, u.window): u for u in await ledger.usage(SCOPES, NOW + 2 * NS)}
    team = usage["team:ml", "monthly"]
    assert (team.spent_usd_micros, team.reserved_usd_micros, team.remaining) == (1_500_000, 0, 8_500_000)
    assert usage["global", "daily"].spent_usd_micros == 1_500_000
    assert await ledger.settle("e2", None, SCOPES, 100, NOW + NS)
    assert await ledger.remaining(["team:ml"], NOW + 2 * NS) == 8_499_900


async def test_expired_holds_stop_counting_and_are_dropped(ledger: Ledger) -> None:
    """A hold past its TTL (its holder died) no longer counts, and expire() drops it."""
    await ledger.set_limit(Limit("team:ml", "daily", 1_000_000))
    assert (await ledger.reserve("r1", SCOPES, 900_000, NOW, 60 * NS)).ok
    assert not (await ledger.reserve("r2", SCOPES, 200_000, NOW + 59 * NS, TTL)).ok
    assert (await ledger.reserve("r3", SCOPES, 200_000, NOW + 61 * NS, TTL)).ok
    await ledger.reserve("r4", SCOPES, 100_000, NOW + 61 * NS, 10 * NS)
    assert await ledger.expire(NOW + 80 * NS) == 1
    assert await ledger.remaining(SCOPES, NOW + 80 * NS) == 800_000


async def test_calendar_spend_does_not_count_in_the_next_window(ledger: Ledger) -> None:
    """Spend of yesterday, even settled late, does not count today."""
    await ledger.set_limit(Limit("team:ml", "daily", 1_000_000))
    await ledger.settle("e1", None, SCOPES, 900_000, NOW)
    tomorrow = NOW + 24 * HOUR
    assert await ledger.remaining(SCOPES, tomorrow) == 1_000_000
    await ledger.settle("e2", None, SCOPES, 100_000, tomorrow)
    await ledger.settle("e3", None, SCOPES, 50_000, NOW + HOUR)  # late, for yesterday
    assert await ledger.remaining(SCOPES, tomorrow) == 900_000


async def test_paris_dst_day_and_month_end(ledger: Ledger) -> None:
    """Daily and monthly windows follow Paris local time across the spring-forward day and a month end."""
    await ledger.set_limit(Limit("team:ml", "daily", 1_000_000, "Europe/Paris"))
    await ledger.set_limit(Limit("org:acme", "monthly", 5_000_000, "Europe/Paris"))
    # 2025-03-30 (23 hours in Paris): 21:30 UTC is 23:30 local, still the same day; 22:30 UTC is the next day.
    await ledger.settle("e1", None, SCOPES, 400_000, ns("2025-03-29T23:30:00"))
    assert await ledger.remaining(["team:ml"], ns("2025-03-30T21:30:00")) == 600_000
    assert await ledger.remaining(["team:ml"], ns("2025-03-30T22:30:00")) == 1_000_000
    # 31 March 22:30 UTC is already 1 April in Paris: March's spend is gone from the monthly window.
    assert await ledger.remaining(["org:acme"], ns("2025-03-31T21:30:00")) == 4_600_000
    assert await ledger.remaining(["org:acme"], ns("2025-03-31T22:30:00")) == 5_000_000


async def test_rolling_spend_leaves_the_window(ledger: Ledger) -> None:
    """Rolling spend counts for rolling_s (up to one bucket more), then drops out bucket by bucket."""
    await ledger.set_limit(Limit("agent:a1", "rolling", 1_000_000, rolling_s=3600))
    await ledger.settle("e1", None, SCOPES, 300_000, NOW)
    await ledger.settle("e2", None, SCOPES, 200_000, NOW + 30 * 60 * NS)
    assert await ledger.remaining(SCOPES, NOW + 59 * 60 * NS) == 500_000
    assert await ledger.remaining(SCOPES, NOW + 62 * 60 * NS) == 800_000
    assert await ledger.remaining(SCOPES, NOW + 92 * 60 * NS) == 1_000_000


async def test_concurrent_reservations_never_pass_the_cap(ledger: Ledger) -> None:
    """100 concurrent reservations of $0.10 against a $1.00 cap: what is held never exceeds the cap."""
    await ledger.set_limit(Limit("team:ml", "monthly", 1_000_000))
    results = await asyncio.gather(*(ledger.reserve(f"r{i}", SCOPES, 100_000, NOW, TTL) for i in range(100)))
    held = sum(r.usd_micros for r in results if r.ok)
    assert 0 < held <= 1_000_000
    [usage] = await ledger.usage(["team:ml"], NOW)
    assert usage.reserved_usd_micros == held


async def test_reset_wipes_everything(ledger: Ledger) -> None:
    """reset() forgets limits, spend, holds and applied events."""
    await ledger.set_limit(Limit("team:ml", "daily", 1_000_000))
    await ledger.settle("e1", None, SCOPES, 1, NOW)
    await ledger.reset()
    assert await ledger.limits() == []
    await ledger.set_limit(Limit("team:ml", "daily", 1_000_000))
    assert await ledger.settle("e1", None, SCOPES, 1, NOW)
    assert await ledger.remaining(SCOPES, NOW) == 999_999


# -- settle_many: a batch of spends at a cost that does not grow with the batch -------------------------

A = scopes_of("a1", "ml", "acme")[:3]
B = scopes_of("a2", "cv", "beta")[:3]
MIN = 60 * NS


def _limits(scopes: list[str]) -> list[Limit]:
    agent, team, org = scopes
    return [
        Limit(agent, "rolling", 5_000_000, rolling_s=3600),
        Limit(team, "daily", 9_000_000, "Europe/Paris"),
        Limit(org, "monthly", 90_000_000, "Europe/Paris"),
        Limit(org, "daily", 20_000_000),
    ]


def _spends(scopes: list[str], tag: str) -> list[SettleItem]:
    """Spend over a day boundary in Paris and an hour of rolling buckets, some late, two releasing holds."""
    base = ns("2025-03-30T21:00:00")  # 23:00 in Paris, the day before the next window
    times = [0, 5 * MIN, 61 * MIN, 30 * MIN, 70 * MIN, 2 * MIN, 200 * MIN, 65 * MIN]
    return [
        SettleItem(f"{tag}-e{i}", f"{tag}-r{i}" if i in (1, 4) else None, scopes, 100_000 * (i + 1), base + t)
        for i, t in enumerate(times)
    ]


async def _state(ledger: Ledger, scopes: list[str], now_ns: int) -> list[tuple[str, int, int, int]]:
    """Usage of ``scopes`` with the scope's kind instead of its id, so two scope sets compare."""
    return [
        (f"{u.scope.split(':')[0]} {u.window}", u.window_start_ns, u.spent_usd_micros, u.reserved_usd_micros)
        for u in await ledger.usage(scopes, now_ns)
    ]


async def test_settle_many_ends_as_settling_one_by_one(ledger: Ledger) -> None:
    """A batch leaves every window and hold exactly as settling its items one by one in order would."""
    base = ns("2025-03-30T20:00:00")
    for a, b in zip(_limits(A), _limits(B), strict=True):
        await ledger.set_limit(a)
        await ledger.set_limit(b)
    for scopes, tag in ((A, "a"), (B, "b")):
        for r in ("r1", "r4", "r9"):
            assert (await ledger.reserve(f"{tag}-{r}", scopes, 50_000, base, 24 * HOUR)).ok
    for it in _spends(A, "a"):
        assert await ledger.settle(it.event_id, it.request_id, it.scopes, it.usd_micros, it.ts_ns)
    assert await ledger.settle_many(_spends(B, "b")) == 8
    for later in (0, 30 * MIN, 3 * HOUR, 5 * HOUR):
        now = ns("2025-03-30T22:00:00") + later
        assert await _state(ledger, A, now) == await _state(ledger, B, now)
    [*_, rolling] = await ledger.usage(B[:1], ns("2025-03-30T22:10:00"))
    assert rolling.reserved_usd_micros == 50_000  # r1 and r4 released, r9 still held


async def test_settle_many_replayed_is_a_no_op(ledger: Ledger) -> None:
    """A batch run again applies nothing; a batch overlapping earlier settles applies only its new events."""
    for lim in _limits(A):
        await ledger.set_limit(lim)
    items = _spends(A, "a")
    assert await ledger.settle(items[0].event_id, None, A, items[0].usd_micros, items[0].ts_ns)
    assert await ledger.settle_many(items[:5]) == 4
    now = ns("2025-03-30T23:30:00")
    before = await _state(ledger, A, now)
    assert await ledger.settle_many(items[:5]) == 0
    assert await ledger.settle_many(list(reversed(items[:5]))) == 0
    assert await _state(ledger, A, now) == before
    assert await ledger.settle_many([*items[3:], items[6]]) == 3
    assert not await ledger.settle(items[7].event_id, None, A, items[7].usd_micros, items[7].ts_ns)
    assert await ledger.settle_many([]) == 0


async def test_settle_many_releases_holds_and_counts_unlimited_scopes_nowhere(ledger: Ledger) -> None:
    """Every hold a batch names is released; spend on scopes without a limit is not kept."""
    await ledger.set_limit(Limit("team:ml", "monthly", 1_000_000))
    for i in range(5):
        assert (await ledger.reserve(f"r{i}", SCOPES, 200_000, NOW, TTL)).ok
    assert not (await ledger.reserve("r5", SCOPES, 1, NOW, TTL)).ok
    batch = [SettleItem(f"e{i}", f"r{i}", SCOPES, 10_000, NOW + i) for i in range(4)]
    assert await ledger.settle_many(batch) == 4
    [team] = await ledger.usage(["team:ml"], NOW + NS)
    assert (team.spent_usd_micros, team.reserved_usd_micros) == (40_000, 200_000)
    assert await ledger.usage(["agent:a1", "org:acme", "global"], NOW + NS) == []
