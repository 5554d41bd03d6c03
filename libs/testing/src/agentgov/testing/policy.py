"""Helpers for tests of the decision path: a test world on a fresh GOV (a trusted operator, a published
bundle, registered agents with their own NATS users and tokens), policy replicas, and asking for decisions.

The fixtures that build these live beside the tests (``tests/policy/conftest.py``)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.contracts import codec, crypto, subjects
from agentgov.contracts.envelope import Event
from agentgov.contracts.events import Action, ActionDecided, AgentRegistered, PolicyPublished
from agentgov.contracts.ids import uuid7
from agentgov.contracts.requests import CheckAction, Decision
from agentgov.identity.operators import ROLES, Operator, TrustStore
from agentgov.identity.tokens import issue_token
from agentgov.ledger import Ledger
from agentgov.policy.service import PolicyService
from agentgov.sdk import Client as SdkClient
from agentgov.streaming.connect import connect
from agentgov.streaming.home import Runtime
from agentgov.streaming.natsconf import NatsUsers
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import read_all
from agentgov.streaming.server import EmbeddedNats
from agentgov.testing.nats import NatsConnector

BUNDLE = """\
apiVersion: agentgov/v1
kind: PolicyBundle
metadata:
  name: test-bundle
  scope: "*"
default: deny
risk:
  review_at: 50
  deny_at: 90
tools:
  allow: ["shell", "read_file", "deploy"]
  settings:
    deploy:
      risk: 60
shell:
  allow: ["ls*", "echo *", "cat *"]
  deny: ["rm -rf *"]
data:
  secrets: redact
rate_limits:
  - id: echo-limit
    match:
      kinds: [shell]
    limit: 1000
    per: 1m
"""


@dataclass
class Gov:
    """The test world: GOV, the operator key and trust file, agents and their tokens."""

    js: JetStreamContext
    admin: Client
    operator: Ed25519PrivateKey
    trust_path: Path
    salt_path: Path
    server: EmbeddedNats
    users: NatsUsers
    connector: NatsConnector
    tokens: dict[str, str] = field(default_factory=dict)
    revision: int = 0

    @classmethod
    async def create(
        cls,
        js: JetStreamContext,
        admin: Client,
        server: EmbeddedNats,
        connector: NatsConnector,
        home: Path,
        *,
        publish: bool = True,
    ) -> Gov:
        """A world on fresh streams: an operator trusted for every role (its trust file in ``home``), and the
        test bundle published unless ``publish`` is False."""
        key = Ed25519PrivateKey.generate()
        trust_path = home / "operators.json"
        TrustStore([Operator(name="test", public_key=crypto.public_key_text(key), roles=list(ROLES))]).save(trust_path)
        assert server.users is not None
        world = cls(
            js=js,
            admin=admin,
            operator=key,
            trust_path=trust_path,
            salt_path=home / "salt",
            server=server,
            users=server.users,
            connector=connector,
        )
        if publish:
            await world.publish_bundle()
        return world

    async def connect_as(self, role: str, name: str) -> Client:
        """The production connection of a service role (reconnects forever, as ``agentgov run`` does)."""
        cred = self.users.role(role)
        return await connect(Runtime(url=self.server.url, user=cred.user, password=cred.password), name=name)

    @property
    def trust(self) -> TrustStore:
        """The trust store the replicas load."""
        return TrustStore.load(self.trust_path)

    async def append(self, subject: str, event: Event) -> int:
        """Append one event as a one-off operator producer; returns its stream sequence."""
        producer = ChainedProducer(self.js, Ed25519PrivateKey.generate(), role="operator")
        await producer.register()
        return (await producer.publish(subject, event)).seq

    async def publish_bundle(self, source: str = BUNDLE, scope: str = "*") -> int:
        """Sign and publish ``source`` as the next revision of ``scope``."""
        self.revision += 1
        sha = hashlib.sha256(source.encode()).hexdigest()
        kid = crypto.key_id(crypto.public_key_text(self.operator))
        event = PolicyPublished(
            scope=scope,
            revision=self.revision,
            name="test",
            source=source,
            sha256=sha,
            signer=kid,
            signature=crypto.sign_policy(self.operator, scope, self.revision, sha),
        )
        return await self.append(subjects.POLICY, event)

    async def register(self, agent: str, *, org: str = "acme", team: str = "pay", trust: int = 50) -> str:
        """Register an agent, give it a NATS user and a token; returns the token."""
        await self.append(subjects.registry(agent), AgentRegistered(agent=agent, org=org, team=team, trust=trust))
        if not self.users.has_agent(agent):
            self.users.add_agent(agent)
            await asyncio.to_thread(self.server.reload)
        token, _ = issue_token(self.operator, agent=agent, org=org, team=team)
        self.tokens[agent] = token
        return token

    async def agent(self, agent: str) -> Client:
        """A connection as the agent's own NATS user."""
        return await self.connector(self.users.agent(agent))

    async def sdk(self, agent: str) -> SdkClient:
        """An SDK client of the agent (its own NATS user and token; reconnects forever)."""
        cred = self.users.agent(agent)
        return await SdkClient.connect(
            self.server.url,
            agent=agent,
            token=self.tokens[agent],
            user=cred.user,
            password=cred.password,
            inbox_prefix=cred.inbox_prefix,
        )

    async def decisions(self) -> list[ActionDecided]:
        """Every ActionDecided on GOV, in order."""
        out = []
        for m in await read_all(self.js, "GOV"):
            event = codec.decode_event(codec.split(m.data)[0])
            if isinstance(event, ActionDecided):
                out.append(event)
        return out


def check(agent: str, token: str, action: Action, **kw: Any) -> CheckAction:
    """A CheckAction with a fresh request id."""
    return CheckAction(request_id=kw.pop("request_id", uuid7()), agent=agent, token=token, action=action, **kw)


async def ask(nc: Client, agent: str, request: CheckAction | bytes, timeout: float = 2.0) -> Decision:
    """Send a CheckAction (or raw bytes) on the agent's subject and decode the reply."""
    data = request if isinstance(request, bytes) else msgspec.json.encode(request)
    reply = await nc.request(subjects.check(agent), data, timeout=timeout)
    return msgspec.json.decode(reply.data, type=Decision)


ReplicaFactory = Callable[..., Awaitable["Replica"]]
"""``await replicas(limiter=…, open_ledger=…, **settings)`` (the fixture in ``tests/policy/conftest.py``)."""
LedgerOpener = Callable[[Client], Awaitable[Ledger]]
"""Opens a replica's budget ledger on the replica's own connection."""


class Replica:
    """A PolicyService running in this event loop."""

    def __init__(self, svc: PolicyService, task: asyncio.Task[None], stop: asyncio.Event) -> None:
        self.svc, self.task, self.stop_event = svc, task, stop

    async def stop(self) -> None:
        """Stop serving and wait for the task."""
        self.stop_event.set()
        await self.task


async def serve_until_ready(
    run: Callable[[asyncio.Event], Coroutine[Any, Any, object]],
    serving: asyncio.Event,
    what: str,
    timeout: float = 10.0,
) -> tuple[asyncio.Task[Any], asyncio.Event]:
    """Start ``run(stop)`` as a task and wait until ``serving`` is set; raise what the task raised if it ended
    first. Returns the task and its stop event."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop))
    waiter = asyncio.create_task(serving.wait())
    await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()
    assert serving.is_set(), f"{what} did not start serving"
    return task, stop


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll another component's state until ``cond`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
