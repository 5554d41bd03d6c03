"""Budget reservations on the decision path: two real replicas, a real ledger (Redis and JetStream KV)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from nats.aio.client import Client

from agentgov.contracts.events import Action
from agentgov.ledger import KvLedger, Ledger, Limit, RedisLedger, hold_id, scopes_of
from agentgov.testing.policy import Gov, LedgerOpener, ReplicaFactory, ask, check

LLM = Action(kind="llm_call", tool="llm", target="gpt-4o")
LS = Action(kind="shell", tool="shell", target="ls")
SCOPES = scopes_of("a1", "pay", "acme")


def bundle(budget: str) -> str:
    """A bundle that allows everything but says ``budget``."""
    return f"""\
apiVersion: agentgov/v1
kind: PolicyBundle
metadata:
  name: budget-test
  scope: "*"
default: allow
budget:
{budget}
"""


@pytest_asyncio.fixture(params=["redis", "kv"])
async def backend(request: pytest.FixtureRequest, gov_world: Gov) -> AsyncIterator[tuple[Ledger, LedgerOpener]]:
    """An admin view of a fresh ledger, and how a replica opens the same ledger on its own connection."""
    name = secrets.token_hex(4)
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        prefix = f"{request.getfixturevalue('redis_prefix')}policy-{name}:"

        async def open_redis(_: Client) -> Ledger:
            return RedisLedger.from_url(url, prefix=prefix)

        admin: Ledger = RedisLedger.from_url(url, prefix=prefix)
        opener: LedgerOpener = open_redis
    else:
        bucket = f"policy_{name}"

        async def open_kv(nc: Client) -> Ledger:
            return await KvLedger.open(nc.jetstream(), bucket)

        admin = await KvLedger.open(gov_world.js, bucket)
        opener = open_kv
    yield admin, opener
    await admin.reset()
    if isinstance(admin, KvLedger):
        for b in (f"policy_{name}", f"policy_{name}_events"):
            with contextlib.suppress(Exception):
                await gov_world.js.delete_key_value(b)
    await admin.close()


@pytest.mark.slow
async def test_two_replicas_never_allow_more_than_the_cap(
    gov_world: Gov, replicas: ReplicaFactory, backend: tuple[Ledger, LedgerOpener]
) -> None:
    """200 concurrent checks of $0.01 on two replicas against a $1.00 cap: reserved over allows is at most $1.00."""
    ledger, opener = backend
    await gov_world.publish_bundle(bundle("  when_unknown: deny"))
    await ledger.set_limit(Limit("team:pay", "monthly", 1_000_000, "Europe/Paris"))
    first, second = await replicas(open_ledger=opener), await replicas(open_ledger=opener)
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    replies = await asyncio.gather(
        *(ask(nc, "a1", check("a1", token, LLM, estimated_usd_micros=10_000), timeout=30) for _ in range(200))
    )
    assert first.svc.stats.decided > 0 and second.svc.stats.decided > 0, "both replicas served"
    recorded = {d.request_id: d for d in await gov_world.decisions() if d.agent == "a1"}
    allowed = [recorded[r.request_id] for r in replies if r.verdict == "allow"]
    reserved = sum(d.reserved_usd_micros for d in allowed)
    assert 0 < reserved <= 1_000_000
    assert all(d.estimated_usd_micros == 10_000 and d.budget_scopes == ["team:pay"] for d in allowed)
    assert all(d.reserved_usd_micros == 10_000 for d in allowed)
    if isinstance(ledger, RedisLedger):  # one atomic step: the cap is exact, nothing refused that fitted
        assert len(allowed) == 100
    [usage] = await ledger.usage(["team:pay"], max(d.ts for d in allowed))
    assert usage.reserved_usd_micros == reserved
    denied = [r for r in replies if r.verdict == "deny"]
    assert all(r.rules and r.rules[-1].id == "budget.exceeded" for r in denied), {
        (r.code, *r.reasons) for r in denied if not r.rules or r.rules[-1].id != "budget.exceeded"
    }


async def test_a_denial_names_the_budget_and_the_amount_over(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """Spent $9.80 and $0.62 held of $10.00: a $0.10 estimate is denied 'exceeded by $0.52' with the figures."""
    bucket = f"policy_{secrets.token_hex(4)}"
    ledger = await KvLedger.open(gov_world.js, bucket)
    await gov_world.publish_bundle(bundle("  when_unknown: deny"))
    await ledger.set_limit(Limit("team:pay", "monthly", 10_000_000))
    await replicas(open_ledger=lambda nc: KvLedger.open(nc.jetstream(), bucket))
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    first = await ask(nc, "a1", check("a1", token, LLM, estimated_usd_micros=620_000))
    assert first.verdict == "allow"
    now = (await gov_world.decisions())[-1].ts
    assert await ledger.settle("spend-1", None, SCOPES, 9_800_000, now)
    reply = await ask(nc, "a1", check("a1", token, LLM, estimated_usd_micros=100_000))
    assert reply.verdict == "deny" and reply.code is None
    assert reply.reasons == [
        "budget team:pay monthly would be exceeded by $0.52: limit $10.00, spent $9.80, reserved $0.62"
    ]
    assert reply.rules[-1].id == "budget.exceeded"
    # the spend of the first request arrives: its hold is released, and $0.10 fits again
    assert await ledger.settle("spend-2", hold_id("a1", first.request_id), SCOPES, 100_000, now)
    again = await ask(nc, "a1", check("a1", token, LLM, estimated_usd_micros=100_000))
    assert again.verdict == "allow"
    await gov_world.js.delete_key_value(bucket)
    await gov_world.js.delete_key_value(f"{bucket}_events")


async def test_remaining_below_reads_the_ledger(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """deny_when_remaining_below_usd compares what the ledger says is left."""
    bucket = f"policy_{secrets.token_hex(4)}"
    ledger = await KvLedger.open(gov_world.js, bucket)
    await gov_world.publish_bundle(bundle("  deny_when_remaining_below_usd: 0.10\n  when_unknown: deny"))
    await ledger.set_limit(Limit("agent:a1", "daily", 1_000_000))
    await replicas(open_ledger=lambda nc: KvLedger.open(nc.jetstream(), bucket))
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    assert (await ask(nc, "a1", check("a1", token, LLM))).verdict == "allow"
    now = (await gov_world.decisions())[-1].ts
    await ledger.settle("spend-1", None, SCOPES, 950_000, now)
    reply = await ask(nc, "a1", check("a1", token, LLM))
    assert reply.verdict == "deny" and reply.rules[-1].id == "budget.remaining_below"
    await gov_world.js.delete_key_value(bucket)
    await gov_world.js.delete_key_value(f"{bucket}_events")


async def test_unreachable_ledger_fails_closed(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """With the ledger down a budgeted LLM call gets when_unknown (deny); other checks never touch it."""

    async def dead(_: Any) -> Ledger:
        return RedisLedger.from_url("redis://127.0.0.1:9/0", timeout_s=0.2)

    await gov_world.publish_bundle(bundle("  review_when_estimate_over_usd: 5.0\n  when_unknown: deny"))
    await replicas(open_ledger=dead)
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    reply = await ask(nc, "a1", check("a1", token, LLM, estimated_usd_micros=10_000))
    assert reply.verdict == "deny" and reply.rules[-1].id == "budget.unknown"
    assert "budget ledger is unavailable" in reply.reasons[0]
    assert (await ask(nc, "a1", check("a1", token, LS))).verdict == "allow"
