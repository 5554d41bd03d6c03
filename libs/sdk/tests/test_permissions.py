"""An agent's NATS user: only its own check subject, only its own reply inbox, as the server enforces."""

from __future__ import annotations

from pathlib import Path

import nats.errors
import pytest

from agentgov.sdk import Client, actions
from agentgov.streaming.natsconf import Credential, NatsUsers
from agentgov.streaming.server import EmbeddedNats
from agentgov.testing.nats import NatsConnector

from .conftest import Responders, write_credentials


async def test_agent_connection_uses_its_private_inbox(client: Client, responder: Responders) -> None:
    """The SDK connects as agent-demo with inbox prefix _INBOX_demo, and its checks are answered."""
    await responder()
    assert client.settings.user == "agent-demo" and client.settings.inbox_prefix == "_INBOX_demo"
    assert (await client.check(actions.shell("ls"))).verdict == "allow"


async def test_agent_user_cannot_receive_on_the_default_inbox(
    nats_connect: NatsConnector, nats_users: NatsUsers, responder: Responders
) -> None:
    """Logged in as an agent but with the default _INBOX prefix, a request never gets its reply."""
    await responder()
    cred = nats_users.agent("demo")
    nc = await nats_connect(Credential(user=cred.user, password=cred.password))
    with pytest.raises(nats.errors.TimeoutError):
        await nc.request("gov.check.demo", b"{}", timeout=0.3)


async def test_agent_cannot_check_as_another_agent(nats_url: str, nats_users: NatsUsers, responder: Responders) -> None:
    """Agent demo's login may not publish on gov.check.other: the check fails closed, naming the violation."""
    r = await responder()
    cred = nats_users.agent("demo")
    async with Client.connect(
        nats_url, agent="other", token="t", user=cred.user, password=cred.password, inbox_prefix="_INBOX_demo"
    ) as c:
        d = await c.check(actions.shell("ls"), timeout=0.3)
    assert d.verdict == "deny" and d.code == "policy_unavailable"
    assert "permissions violation" in d.reasons[0].lower() and "gov.check.other" in d.reasons[0]
    assert not r.requests


async def test_a_newly_registered_agent_user_can_check(
    nats_server: EmbeddedNats, nats_users: NatsUsers, responder: Responders, tmp_path: Path
) -> None:
    """An agent user added with NatsUsers.add_agent and a config reload can check at once."""
    cred = nats_users.add_agent("sdk-new-agent")
    nats_server.reload()
    path = write_credentials(tmp_path / "new.json", nats_server.url, cred, agent="sdk-new-agent")
    r = await responder()
    async with Client.connect(credentials=path) as c:
        assert c.settings.inbox_prefix == "_INBOX_sdk-new-agent"
        assert (await c.check(actions.file("README.md"))).verdict == "allow"
    assert r.requests[0].agent == "sdk-new-agent"
