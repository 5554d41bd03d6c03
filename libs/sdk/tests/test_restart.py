"""A NATS restart under a connected client: checks fail closed during the outage, then work again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from agentgov.sdk import Client, actions
from agentgov.streaming.natsconf import connect
from agentgov.testing.nats import NatsServerFactory

from .conftest import AGENT, Responder, allow_all, write_credentials


async def wait_until(predicate: object, timeout: float = 15.0) -> None:
    """Poll ``predicate()`` until true."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_client_survives_a_nats_restart(nats_server_factory: NatsServerFactory, tmp_path: Path) -> None:
    """Kill nats-server: a check fails closed within its deadline; after the restart the client reconnects."""
    server = nats_server_factory()
    assert server.users is not None
    policy_nc = await connect(
        server.url, server.users.role("policy"), max_reconnect_attempts=-1, reconnect_time_wait=0.1
    )
    responder = await Responder(policy_nc, allow_all).start()
    path = write_credentials(tmp_path / "demo.json", server.url, server.users.agent(AGENT))
    async with Client.connect(credentials=path) as client:
        assert (await client.check(actions.shell("before"))).verdict == "allow"
        server.kill()
        await wait_until(lambda: not client.is_connected)
        started = time.monotonic()
        d = await client.check(actions.shell("during"), timeout=0.5)
        assert d.verdict == "deny" and d.code == "policy_unavailable" and "not connected" in d.reasons[0]
        assert time.monotonic() - started < 0.9
        server.start()
        await wait_until(lambda: client.is_connected and policy_nc.is_connected)
        d = await client.check(actions.shell("after"), timeout=2.0)
        assert d.verdict == "allow", d
    assert [r.action.target for r in responder.unique] == ["before", "after"]
    await policy_nc.close()


async def test_check_spanning_a_short_outage_is_answered(
    nats_server_factory: NatsServerFactory, tmp_path: Path
) -> None:
    """A check made while NATS is down is sent once the client reconnects, if that is within its deadline."""
    server = nats_server_factory()
    assert server.users is not None
    policy_nc = await connect(
        server.url, server.users.role("policy"), max_reconnect_attempts=-1, reconnect_time_wait=0.1
    )
    responder = await Responder(policy_nc, allow_all).start()
    path = write_credentials(tmp_path / "demo.json", server.url, server.users.agent(AGENT))
    async with Client.connect(credentials=path) as client:
        server.kill()
        await wait_until(lambda: not client.is_connected)
        pending = asyncio.create_task(client.check(actions.shell("spanning"), timeout=5.0))
        await asyncio.sleep(0.3)
        server.start()
        d = await pending
        assert d.verdict == "allow", d
    assert [r.action.target for r in responder.unique] == ["spanning"]
    await policy_nc.close()
