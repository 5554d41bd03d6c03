"""Rolling windows on a real nats-server: spend leaves the window as time passes (in the ledger's buckets),
thresholds re-arm once spend falls back below them, and the ledger agrees with the projection."""

from __future__ import annotations

from agentgov.contracts import codec, subjects
from agentgov.contracts.events import SpendRecorded
from agentgov.contracts.events_budget import BudgetAlert, BudgetExceeded
from agentgov.streaming.reader import read_all
from agentgov.testing.policy import Gov

from .conftest import StartBudget, set_limit

BASE = 1_700_000_000 * 10**9
MIN = 60 * 10**9


async def _alerts(world: Gov) -> list[tuple[int, int]]:
    out = []
    for m in await read_all(world.js, "GOV"):
        ev = codec.decode_event(codec.split(m.data)[0])
        if isinstance(ev, BudgetAlert) and ev.window == "rolling":
            out.append((ev.threshold_pct, ev.window_start_ns))
        if isinstance(ev, BudgetExceeded):
            out.append((100, ev.window_start_ns))
    return out


async def test_rolling_window_forgets_old_spend_and_re_arms(world: Gov, budget: StartBudget) -> None:
    """A 1 h rolling limit: 90 % inside the hour alerts at 80 % once; two hours later the old spend has left
    the window (projection and ledger agree on what is left) and crossing 80 % alerts again, for the new
    window start; going over the limit then says BudgetExceeded once."""
    await world.register("demo", org="acme", team="pay")
    await set_limit(world, "agent:demo", "rolling", 10_000, rolling_s=3600, ts=BASE - MIN)
    svc = await budget(clock=lambda: BASE + 3 * 60 * MIN)
    for offset, usd in ((0, 6_000), (10 * MIN, 3_000), (120 * MIN, 1_000), (121 * MIN, 7_000)):
        await world.append(
            subjects.spend("demo"), SpendRecorded(agent="demo", ts=BASE + offset, model="m1", usd_micros=usd)
        )
        await svc.caught_up(world.js)
        if offset == 10 * MIN:
            assert svc.svc.projection.spent("agent:demo", "rolling", BASE + offset) == 9_000
    now = BASE + 121 * MIN
    assert svc.svc.projection.spent("agent:demo", "rolling", now) == 8_000
    [usage] = await svc.svc.ledger.usage(["agent:demo"], now)
    assert (usage.window, usage.spent_usd_micros) == ("rolling", 8_000)
    alerts = await _alerts(world)
    assert [pct for pct, _ in alerts] == [80, 80]
    assert alerts[0][1] < alerts[1][1]  # each named by its own window start
    await world.append(subjects.spend("demo"), SpendRecorded(agent="demo", ts=now + MIN, model="m1", usd_micros=2_500))
    await svc.caught_up(world.js)
    await svc.stop()
    again = await budget(clock=lambda: BASE + 3 * 60 * MIN)  # a restart says nothing twice
    await again.caught_up(world.js)
    assert [pct for pct, _ in await _alerts(world)] == [80, 80, 95, 100]
