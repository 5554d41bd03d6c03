"""``--rebuild`` on a real nats-server: the ledger is reset and rebuilt from the stream, and the reservations
still outstanding (ActionDecided with a reservation, no spend yet, not expired) are taken again."""

from __future__ import annotations

from agentgov.contracts import subjects
from agentgov.contracts.events import Action, ActionDecided, SpendRecorded
from agentgov.testing.policy import Gov

from .conftest import StartBudget, set_limit

NOW = 1_700_000_000 * 10**9
SCOPES = ["agent:demo", "team:pay", "org:acme", "global"]


def _decided(request_id: str, usd: int, ts: int) -> ActionDecided:
    return ActionDecided(
        ts=ts,
        agent="demo",
        team="pay",
        org="acme",
        request_id=request_id,
        action=Action(kind="llm_call", tool="chat", target="openai:gpt-4o"),
        verdict="allow",
        claim="evaluated",
        estimated_usd_micros=usd,
        reserved_usd_micros=usd,
        budget_scopes=SCOPES,
    )


async def test_rebuild_resets_the_ledger_and_retakes_outstanding_reservations(world: Gov, budget: StartBudget) -> None:
    """After a rebuild the ledger holds exactly the stream's spend (a stray write is gone) and only the
    reservation that is neither settled nor expired."""
    await world.register("demo", org="acme", team="pay")
    await set_limit(world, "org:acme", "monthly", 1_000_000, ts=NOW - 10**12)
    minute = 60 * 10**9
    await world.append(subjects.decision("demo"), _decided("r-open", 5_000, NOW - minute))
    await world.append(subjects.decision("demo"), _decided("r-done", 3_000, NOW - 2 * minute))
    await world.append(
        subjects.spend("demo"),
        SpendRecorded(agent="demo", ts=NOW - minute, model="m1", request_id="r-done", usd_micros=2_500),
    )
    await world.append(subjects.decision("demo"), _decided("r-old", 4_000, NOW - 3600 * 10**9))
    await world.append(subjects.spend("demo"), SpendRecorded(agent="demo", ts=NOW - minute, model="m1", usd_micros=700))

    svc = await budget(clock=lambda: NOW)
    await svc.caught_up(world.js)
    await svc.svc.ledger.settle("stray", None, ["org:acme"], 99_999, NOW)  # a write the stream does not explain
    await svc.stop()

    svc = await budget(clock=lambda: NOW, rebuild=True)
    await svc.caught_up(world.js)
    holds = svc.svc.projection.state.holds
    assert "r-open" in holds and "r-done" not in holds  # r-old may linger until a tick expires it
    [usage] = await svc.svc.ledger.usage(["org:acme"], NOW)
    assert usage.spent_usd_micros == 3_200
    assert usage.reserved_usd_micros == 5_000
    await svc.stop()

    again = await budget(clock=lambda: NOW)  # a plain restart after the rebuild changes nothing
    await again.caught_up(world.js)
    [usage] = await again.svc.ledger.usage(["org:acme"], NOW)
    assert (usage.spent_usd_micros, usage.reserved_usd_micros) == (3_200, 5_000)
