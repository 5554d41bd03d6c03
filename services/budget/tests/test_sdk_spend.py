"""The SDK's record_spend with a real agent credential against the budget service, and `agentgov cost --json`
against the same stream."""

from __future__ import annotations

import json

import pytest

from agentgov.cli.main import main
from agentgov.sdk import SpendRefused
from agentgov.testing.policy import Gov

from .conftest import StartBudget, publish_pricing, set_limit


async def test_sdk_records_spend_and_raises_on_refusal(world: Gov, budget: StartBudget) -> None:
    """record_spend returns the priced receipt; an unknown model raises SpendRefused naming the reason."""
    await world.register("demo", org="acme", team="pay")
    await publish_pricing(world)
    await budget()
    async with await world.sdk("demo") as client:
        receipt = await client.record_spend("m1", input_tokens=2_000_000, output_tokens=500_000)
        assert receipt.usd_micros == 3_000_000 and receipt.pricing_revision == 1 and receipt.event_id
        with pytest.raises(SpendRefused) as err:
            await client.record_spend("gpt-unknown", input_tokens=1)
        assert err.value.receipt.error == "unknown_model"


async def test_cost_json_reports_spend_limit_and_forecast(
    world: Gov, budget: StartBudget, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`agentgov cost --json` replays the stream: org, team and agent rows with spend, limit and remaining."""
    await world.register("demo", org="acme", team="pay")
    await publish_pricing(world)
    await set_limit(world, "org:acme", "monthly", 10_000_000)
    svc = await budget()
    async with await world.sdk("demo") as client:
        await client.record_spend("m1", input_tokens=1_000_000)
    await svc.caught_up(world.js)
    monkeypatch.setenv("AGENTGOV_OPERATORS_FILE", str(world.trust_path))
    admin = world.users.admin
    code = await _in_thread(
        ["cost", "--json", "--nats-url", world.server.url, "--nats-user", admin.user, "--nats-password", admin.password]
    )
    assert code == 0
    rows = {r["scope"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["org:acme"]["spent_usd_micros"] == 1_000_000
    assert rows["org:acme"]["limit_usd_micros"] == 10_000_000
    assert rows["org:acme"]["remaining_usd_micros"] == 9_000_000
    assert rows["org:acme"]["forecast_month_usd_micros"] >= 1_000_000
    assert rows["team:pay"]["limit_usd_micros"] is None and rows["agent:demo"]["spent_usd_micros"] == 1_000_000


async def _in_thread(argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(main, argv)
