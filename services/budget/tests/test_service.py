"""The budget service on a real nats-server: usage intake through an agent's own login, refusals that
change nothing, alerts exactly once per window across a crash, and settles in the ledger."""

from __future__ import annotations

import msgspec

from agentgov.contracts import codec, subjects
from agentgov.contracts.events import SpendRecorded
from agentgov.contracts.events_budget import BudgetAlert, BudgetExceeded, SpendRejected
from agentgov.contracts.ids import uuid7
from agentgov.contracts.requests import RecordSpend, SpendReceipt
from agentgov.ledger.open import open_ledger
from agentgov.streaming.reader import read_all
from agentgov.testing.policy import Gov

from .conftest import StartBudget, publish_pricing, set_limit


async def _events(world: Gov, kind: type) -> list:  # type: ignore[type-arg]
    out = []
    for m in await read_all(world.js, "GOV"):
        ev = codec.decode_event(codec.split(m.data)[0])
        if isinstance(ev, kind):
            out.append(ev)
    return out


async def _report(world: Gov, agent: str, **kw: object) -> SpendReceipt:
    nc = await world.agent(agent)
    req = RecordSpend(report_id=str(kw.pop("report_id", uuid7())), agent=agent, token=world.tokens[agent], **kw)  # type: ignore[arg-type]
    reply = await nc.request(subjects.usage(agent), msgspec.json.encode(req), timeout=5)
    return msgspec.json.decode(reply.data, type=SpendReceipt)


async def test_agent_reports_usage_and_gets_a_priced_receipt(world: Gov, budget: StartBudget) -> None:
    """An agent's RecordSpend on its own login is priced (rounded up), recorded once per report id, and
    SpendRecorded names the pricing revision and the agent's team and org."""
    await world.register("demo", org="acme", team="pay")
    await publish_pricing(world)
    await budget()
    r1 = await _report(world, "demo", report_id="r-1", model="m1", input_tokens=1000, output_tokens=1)
    assert r1.error is None and r1.usd_micros == 1002 and r1.pricing_revision == 1
    again = await _report(world, "demo", report_id="r-1", model="m1", input_tokens=1000, output_tokens=1)
    assert again.event_id == r1.event_id and again.usd_micros == 1002
    spent = await _events(world, SpendRecorded)
    assert len(spent) == 1
    assert (spent[0].team, spent[0].org, spent[0].pricing_revision) == ("pay", "acme", 1)


async def test_refused_reports_change_no_state(world: Gov, budget: StartBudget) -> None:
    """no_pricing, unknown_model, bad_tokens, malformed and a bad token each append SpendRejected, reply
    with the reason, and leave spend and the ledger untouched."""
    await world.register("demo")
    svc = await budget()
    assert (await _report(world, "demo", model="m1", input_tokens=1)).error == "no_pricing"
    await publish_pricing(world)
    await set_limit(world, "global", "daily", 1_000_000)
    await svc.caught_up(world.js)
    assert (await _report(world, "demo", model="nope", input_tokens=1)).error == "unknown_model"
    assert (await _report(world, "demo", model="m1", input_tokens=-1)).error == "bad_tokens"
    assert (await _report(world, "demo", model="m1", output_tokens=10_000_001)).error == "bad_tokens"
    nc = await world.agent("demo")
    raw = await nc.request(subjects.usage("demo"), b"{not json", timeout=5)
    assert msgspec.json.decode(raw.data, type=SpendReceipt).error == "malformed"
    world.tokens["demo"] = "forged"
    bad = await _report(world, "demo", model="m1", input_tokens=1)
    assert bad.error == "unknown_agent" and "token_invalid" in bad.detail
    await svc.caught_up(world.js)
    reasons = [e.reason for e in await _events(world, SpendRejected)]
    assert reasons == ["no_pricing", "unknown_model", "bad_tokens", "bad_tokens", "malformed", "unknown_agent"]
    assert not await _events(world, SpendRecorded)
    assert svc.svc.projection.state.spent_total == {}
    ledger = await open_ledger(world.js, None, bucket=svc.svc.settings.ledger_bucket)
    assert [u.spent_usd_micros for u in await ledger.usage(["global"], 10**18 // 1)] in ([], [0])


async def test_alerts_once_per_window_across_a_crash(world: Gov, budget: StartBudget) -> None:
    """Spend crossing 80 %, 95 % and 100 % of a limit, with the service killed mid-stream and restarted:
    each alert and the exceeded event appear exactly once, and the ledger counts every spend once."""
    await world.register("demo", org="acme", team="pay")
    await set_limit(world, "org:acme", "monthly", 100_000)
    svc = await budget()
    base = 1_700_000_000 * 10**9
    for i in range(30):
        await world.append(
            subjects.spend("demo"),
            SpendRecorded(agent="demo", ts=base + i * 10**9, model="m1", usd_micros=4_000),
        )
        if i == 12:
            await svc.kill()
            svc = await budget()
    await svc.caught_up(world.js)
    await svc.stop()
    svc = await budget()  # a clean restart reads nothing twice either
    await svc.caught_up(world.js)
    alerts = [(a.scope, a.threshold_pct) for a in await _events(world, BudgetAlert)]
    assert sorted(alerts) == [("org:acme", 80), ("org:acme", 95)]
    exceeded = await _events(world, BudgetExceeded)
    assert len(exceeded) == 1 and exceeded[0].over_usd_micros == 4_000
    assert svc.svc.projection.state.spent_total["org:acme"] == 120_000
    usage = await svc.svc.ledger.usage(["org:acme"], base + 40 * 10**9)
    assert [u.spent_usd_micros for u in usage] == [120_000]
