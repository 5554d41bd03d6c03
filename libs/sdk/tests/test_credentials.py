"""Finding and reading agent credentials, and connecting with them (or failing with a useful message)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agentgov.sdk import Client, ConfigurationError, ConnectError, actions
from agentgov.sdk import credentials as creds
from agentgov.sdk.connection import DEFAULT_URL, resolve
from agentgov.streaming.natsconf import NatsUsers

from .conftest import AGENT, TOKEN, Responders, write_credentials


def test_credentials_file_is_read(agent_credentials: Path, nats_url: str) -> None:
    """Every field of the file is read; the token and password never show in a repr."""
    c = creds.load(agent_credentials)
    assert (c.agent, c.org, c.team, c.token) == (AGENT, "acme", "payments", TOKEN)
    assert c.nats.url == nats_url and c.nats.user == "agent-demo" and c.nats.inbox_prefix == "_INBOX_demo"
    assert c.nats.password and c.nats.password not in repr(c) and TOKEN not in repr(c)
    settings = resolve(credentials=agent_credentials)
    assert settings.password is not None and settings.password not in repr(settings)


def test_bad_credentials_files_say_what_is_wrong(tmp_path: Path, clean_env: Path) -> None:
    """Missing, unparsable, token-less and wrong-agent files raise ConfigurationError naming the problem."""
    with pytest.raises(ConfigurationError, match="agentgov agent register"):
        creds.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigurationError, match="invalid"):
        creds.load(bad)
    bad.write_text(json.dumps({"agent": "a.b", "token": "t"}))
    with pytest.raises(ConfigurationError, match=r"'\.' separates"):
        creds.load(bad)
    bad.write_text(json.dumps({"agent": "a1", "token": ""}))
    with pytest.raises(ConfigurationError, match="no token"):
        creds.load(bad)
    bad.write_text(json.dumps({"agent": "a1", "token": "t"}))
    with pytest.raises(ConfigurationError, match="is for agent 'a1', not 'a2'"):
        resolve(credentials=bad, agent="a2")
    with pytest.raises(ConfigurationError, match="no token for agent 'a3'"):
        resolve(agent="a3")


def test_settings_precedence(tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Arguments beat the file, the file beats AGENTGOV_NATS_URL, which beats the default URL."""
    path = tmp_path / "a1.json"
    path.write_text(json.dumps({"agent": "a1", "token": "t", "nats": {"url": "nats://file:1", "user": "agent-a1"}}))
    assert resolve(credentials=path).url == "nats://file:1"
    assert resolve(credentials=path, url="nats://arg:2").url == "nats://arg:2"
    assert resolve(credentials=path, token="t2").token == "t2"
    assert resolve(credentials=path).inbox_prefix == "_INBOX_a1"
    assert resolve(agent="a9", token="t").url == DEFAULT_URL
    monkeypatch.setenv("AGENTGOV_NATS_URL", "nats://env:3")
    assert resolve(agent="a9", token="t").url == "nats://env:3"
    assert resolve(credentials=path).url == "nats://file:1"
    assert resolve(user="approver", password="p").inbox_prefix == "_ROLE_INBOX_approver"
    assert resolve(user="audit", password="p").inbox_prefix is None


async def test_agent_id_alone_finds_the_default_file(
    clean_env: Path, nats_url: str, nats_users: NatsUsers, responder: Responders
) -> None:
    """Client.connect(agent=...) reads $AGENTGOV_HOME/agents/<agent>.json."""
    write_credentials(clean_env / "agents" / f"{AGENT}.json", nats_url, nats_users.agent(AGENT))
    assert creds.default_path(AGENT) == clean_env / "agents" / f"{AGENT}.json"
    r = await responder()
    async with Client.connect(agent=AGENT) as c:
        assert (await c.check(actions.shell("ls"))).verdict == "allow"
    assert r.requests[0].token == TOKEN


async def test_from_env_reads_either_variable(
    clean_env: Path,
    agent_credentials: Path,
    nats_url: str,
    nats_users: NatsUsers,
    responder: Responders,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """from_env uses AGENTGOV_AGENT_CREDENTIALS, else AGENTGOV_AGENT, else explains what to set."""
    with pytest.raises(ConfigurationError, match="AGENTGOV_AGENT_CREDENTIALS"):
        Client.from_env()
    await responder()
    monkeypatch.setenv("AGENTGOV_AGENT_CREDENTIALS", str(agent_credentials))
    async with Client.from_env() as c:
        assert c.agent == AGENT and (await c.check(actions.shell("ls"))).verdict == "allow"
    monkeypatch.delenv("AGENTGOV_AGENT_CREDENTIALS")
    write_credentials(clean_env / "agents" / "demo.json", nats_url, nats_users.agent(AGENT), token="from-home")
    monkeypatch.setenv("AGENTGOV_AGENT", AGENT)
    c2 = await Client.from_env()
    try:
        assert c2.settings.token == "from-home"
    finally:
        await c2.close()


async def test_wrong_password_is_a_connect_error(nats_url: str, clean_env: Path) -> None:
    """A login the server refuses fails the first connect with ConnectError naming the URL and the reason."""
    started = time.monotonic()
    with pytest.raises(ConnectError, match="uthorization") as err:
        await Client.connect(nats_url, agent="demo", token="t", user="agent-demo", password="wrong", connect_timeout=1)
    assert err.value.url == nats_url and time.monotonic() - started < 3


async def test_unreachable_server_is_a_connect_error(clean_env: Path) -> None:
    """Nothing listening: ConnectError after connect_timeout, not a hang."""
    from agentgov.streaming.server import free_port

    with pytest.raises(ConnectError, match="cannot connect"):
        await Client.connect(f"nats://127.0.0.1:{free_port()}", agent="a1", token="t", connect_timeout=0.5)


async def test_renewed_token_is_picked_up(
    tmp_path: Path, nats_url: str, nats_users: NatsUsers, responder: Responders
) -> None:
    """Close to expiry, the client re-reads its credentials file and sends the renewed token."""
    path = write_credentials(
        tmp_path / "a.json", nats_url, nats_users.agent(AGENT), token="old", expires_at=int(time.time()) + 30
    )
    r = await responder()
    async with Client.connect(credentials=path) as c:
        write_credentials(path, nats_url, nats_users.agent(AGENT), token="new")
        await c.check(actions.shell("ls"))
    assert r.requests[0].token == "new"
