"""SDK test helpers: a stand-in policy replica on real NATS, agent credentials files, and connected clients.

Until the policy service exists, :class:`Responder` plays it: a real NATS subscriber on ``gov.check.*`` in
queue group ``policy``, logged in as the ``policy`` role, that records every CheckAction and answers with
whatever its ``decide`` function returns (a Decision, raw bytes, or ``None`` for no reply at all).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from agentgov.contracts.events import Action, MatchedRule, Verdict
from agentgov.contracts.ids import uuid7
from agentgov.contracts.requests import CheckAction, Decision
from agentgov.sdk import Client, SyncClient
from agentgov.streaming.natsconf import Credential, NatsUsers
from agentgov.testing.nats import NatsConnector

AGENT = "demo"
TOKEN = "token-of-demo"

Decide = Callable[[CheckAction], "Decision | bytes | None"]

_decoder = msgspec.json.Decoder(CheckAction)
_encoder = msgspec.json.Encoder()


def decision_for(
    req: CheckAction,
    verdict: Verdict = "allow",
    *,
    reasons: list[str] | None = None,
    action: Action | None = None,
    rule: str = "test-rule",
) -> Decision:
    """A Decision such as the policy service sends for ``req``."""
    claim = {
        "allow": "evaluated",
        "deny": "denied_before_execution",
        "review": "approval_required",
        "redact": "redacted",
    }[verdict]
    return Decision(
        request_id=req.request_id,
        verdict=verdict,
        claim=claim,  # type: ignore[arg-type]
        risk=40,
        rules=[MatchedRule(id=rule, effect=verdict, reason=f"{rule} says {verdict}")],
        reasons=reasons if reasons is not None else [f"{rule} says {verdict}"],
        action=action,
        policy_revision=3,
        decision_id=uuid7(),
        stream_seq=42,
        latency_us=120,
        trace_id=req.trace_id,
    )


def allow_all(req: CheckAction) -> Decision:
    """Allow everything."""
    return decision_for(req)


class Responder:
    """A stand-in policy replica: answers ``gov.check.*`` (queue group ``policy``) with ``decide``."""

    def __init__(self, nc: NATS, decide: Decide) -> None:
        self.nc = nc
        self.decide = decide
        self.requests: list[CheckAction] = []
        """Every request received, retries included (a loaded machine can make the SDK re-send)."""
        self.received = asyncio.Event()
        self._sub: Any = None

    async def start(self, subject: str = "gov.check.*") -> Responder:
        """Subscribe and make sure the server knows before returning."""
        self._sub = await self.nc.subscribe(subject, queue="policy", cb=self._on_request)
        await self.nc.flush()
        return self

    @property
    def unique(self) -> list[CheckAction]:
        """The first request of each request id, in arrival order (re-sent attempts left out)."""
        seen: dict[str, CheckAction] = {}
        for req in self.requests:
            seen.setdefault(req.request_id, req)
        return list(seen.values())

    async def _on_request(self, msg: Msg) -> None:
        req = _decoder.decode(msg.data)
        self.requests.append(req)
        self.received.set()
        out = self.decide(req)
        if out is None:
            return
        await msg.respond(out if isinstance(out, bytes) else _encoder.encode(out))

    async def stop(self) -> None:
        """Unsubscribe."""
        if self._sub is not None and not self.nc.is_closed:
            await self._sub.unsubscribe()
            await self.nc.flush()
        self._sub = None


class Responders:
    """Starts responders logged in as the ``policy`` role; stops them at teardown."""

    def __init__(self, connect: NatsConnector, users: NatsUsers) -> None:
        self._connect = connect
        self._users = users
        self.started: list[Responder] = []

    async def __call__(self, decide: Decide = allow_all) -> Responder:
        """A running responder answering with ``decide``."""
        nc = await self._connect(self._users.role("policy"))
        responder = await Responder(nc, decide).start()
        self.started.append(responder)
        return responder

    async def stop_all(self) -> None:
        """Stop every responder."""
        for r in self.started:
            await r.stop()


@pytest.fixture
async def responder(nats_connect: NatsConnector, nats_users: NatsUsers) -> AsyncIterator[Responders]:
    """``await responder(decide)``: a stand-in policy replica on the session server."""
    responders = Responders(nats_connect, nats_users)
    try:
        yield responders
    finally:
        await responders.stop_all()


def write_credentials(
    path: Path,
    url: str,
    cred: Credential,
    *,
    agent: str = AGENT,
    token: str = TOKEN,
    expires_at: int | None = None,
) -> Path:
    """An agent credentials file as ``agentgov agent register`` writes it (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "agent": agent,
        "org": "acme",
        "team": "payments",
        "token": token,
        "token_expires_at": expires_at if expires_at is not None else int(time.time()) + 3600,
        "nats": {"url": url, "user": cred.user, "password": cred.password, "inbox_prefix": cred.inbox_prefix},
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(body, f)
    return path


@pytest.fixture
def agent_credentials(tmp_path: Path, nats_url: str, nats_users: NatsUsers) -> Path:
    """The ``demo`` agent's credentials file, pointing at the session server."""
    return write_credentials(tmp_path / "agents" / f"{AGENT}.json", nats_url, nats_users.agent(AGENT))


@pytest.fixture
async def client(agent_credentials: Path) -> AsyncIterator[Client]:
    """An SDK client for agent ``demo`` (its own NATS user), closed after the test."""
    c = await Client.connect(credentials=agent_credentials, default_timeout=1.0)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def sync_client(agent_credentials: Path) -> Iterator[SyncClient]:
    """A SyncClient for agent ``demo``, closed after the test."""
    c = SyncClient.connect(credentials=agent_credentials, default_timeout=1.0)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No agentgov variables from the outside; AGENTGOV_HOME is a fresh directory (returned)."""
    for var in ("AGENTGOV_AGENT_CREDENTIALS", "AGENTGOV_AGENT", "AGENTGOV_NATS_URL"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("AGENTGOV_HOME", str(home))
    return home
