"""Scripted event traces: realistic attacks and a benign steady state, built deterministically.

Used by the tests (pure domain and through NATS) and by demos that want an agent to misbehave on cue.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.anomaly.domain import Anomalies, Finding
from agentgov.contracts import crypto
from agentgov.contracts.envelope import Event
from agentgov.contracts.events import (
    Action,
    ActionDecided,
    ActionKind,
    AgentRegistered,
    AgentResumed,
    PolicyPublished,
    SpendRecorded,
    Verdict,
)
from agentgov.identity.operators import Operator, TrustStore

E = TypeVar("E", bound=Event)
NS = 1_000_000_000
MONDAY = int(datetime(2025, 3, 3, 0, 0, tzinfo=UTC).timestamp()) * NS
"""Monday 2025-03-03 00:00 UTC: traces start at a known hour of the week."""
OPERATOR = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"agentgov anomaly traces operator").digest())
"""The operator key that signs the traces' bundles (fixed, so traces are the same run after run)."""


def trusted(key: Ed25519PrivateKey = OPERATOR, *, scopes: tuple[str, ...] = ("*",)) -> TrustStore:
    """A trust store with ``key`` as an operator of role ``policy`` over ``scopes``."""
    op = Operator(name="traces", public_key=crypto.public_key_text(key), roles=["policy"], scopes=list(scopes))
    return TrustStore([op])


@dataclass
class Trace:
    """Events in time order, with ids ``ev-000001``…; ``t`` is the trace clock (ns)."""

    t: int = MONDAY
    events: list[Event] = field(default_factory=list)

    def advance(self, seconds: float) -> Trace:
        """Move the clock forward."""
        self.t += int(seconds * NS)
        return self

    def _id(self) -> str:
        return f"ev-{len(self.events) + 1:06d}"

    def add(self, event: E) -> E:
        """Append any event (its id and ts filled when empty)."""
        event = msgspec.structs.replace(event, id=event.id or self._id(), ts=event.ts or self.t)
        self.events.append(event)
        return event

    def register(self, agent: str, *, team: str = "pay", org: str = "acme", **labels: str) -> None:
        """AgentRegistered."""
        self.add(AgentRegistered(agent=agent, team=team, org=org, labels=labels))

    def decide(
        self,
        agent: str,
        kind: ActionKind = "shell",
        target: str = "ls",
        *,
        tool: str | None = None,
        verdict: Verdict = "allow",
        risk: int = 0,
        args: dict[str, Any] | None = None,
        approval_id: str | None = None,
    ) -> Event:
        """ActionDecided for one action (``approval_id``: a re-ask waiting for that approval)."""
        action = Action(kind=kind, tool=tool, target=target, args=args or {})
        return self.add(
            ActionDecided(
                agent=agent,
                team="pay",
                org="acme",
                request_id=self._id(),
                action=action,
                verdict=verdict,
                claim="evaluated",
                risk=risk,
                approval_id=approval_id,
            )
        )

    def spend(self, agent: str, usd_micros: int, *, input_tokens: int = 1000) -> Event:
        """SpendRecorded."""
        return self.add(
            SpendRecorded(
                agent=agent, team="pay", org="acme", model="m", usd_micros=usd_micros, input_tokens=input_tokens
            )
        )

    def resume(self, agent: str) -> Event:
        """AgentResumed by an operator."""
        return self.add(AgentResumed(agent=agent, by="operator:test"))

    def bundle(
        self, source: str, revision: int = 1, scope: str = "*", *, key: Ed25519PrivateKey = OPERATOR
    ) -> PolicyPublished:
        """PolicyPublished signed by ``key`` (the traces' operator unless told otherwise)."""
        sha = hashlib.sha256(source.encode()).hexdigest()
        event = PolicyPublished(
            scope=scope,
            revision=revision,
            name="t",
            source=source,
            sha256=sha,
            signer=crypto.key_id(crypto.public_key_text(key)),
            signature=crypto.sign_policy(key, scope, revision, sha),
        )
        return self.add(event)

    def routine(self, agent: str, minutes: int, per_minute: int = 3) -> None:
        """``minutes`` of ordinary work: a few tools, known domains, low risk, now and then a denial."""
        rng = random.Random(f"{agent}-{self.t}")
        for _ in range(minutes):
            for i in range(per_minute):
                self.advance(60 / per_minute)
                roll = rng.random()
                if roll < 0.5:
                    self.decide(agent, "shell", rng.choice(["ls", "git status", "pytest -q", "make lint"]) + f" #{i}")
                elif roll < 0.8:
                    self.decide(agent, "file", f"/srv/app/src/m{rng.randrange(40)}.py", tool="read_file")
                else:
                    host = rng.choice(["github.com", "pypi.org"])
                    self.decide(agent, "http", f"https://{host}/p/{rng.randrange(99)}", tool="fetch")


def run(events: list[Event], anomalies: Anomalies | None = None) -> list[Finding]:
    """Every finding the domain raises over ``events`` (a fresh domain trusts :data:`OPERATOR`)."""
    a = anomalies or Anomalies(trust=trusted())
    out: list[Finding] = []
    for seq, e in enumerate(events, 1):
        out.extend(a.observe(e, seq))  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class Persona:
    """A benign agent: its zone, working days and hours (local), pace, tools and hosts."""

    agent: str
    timezone: str
    days: tuple[int, ...]
    hours: tuple[int, int]
    per_minute: tuple[int, int]
    tools: tuple[tuple[ActionKind, str, str], ...]
    hosts: tuple[str, ...] = ()
    llm: float = 0.0
    """Share of actions that are LLM calls with spend."""


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "coder-1",
        "Europe/Berlin",
        (0, 1, 2, 3, 4),
        (8, 18),
        (1, 4),
        (
            ("shell", "shell", "git {}"),
            ("file", "read_file", "/srv/app/src/{}.py"),
            ("file", "edit_file", "/srv/app/src/{}.py"),
        ),
        ("github.com", "pypi.org"),
        0.15,
    ),
    Persona(
        "coder-2",
        "America/New_York",
        (0, 1, 2, 3, 4),
        (9, 17),
        (1, 3),
        (
            ("shell", "shell", "pytest -q tests/{}"),
            ("file", "read_file", "/srv/web/{}.ts"),
            ("mcp_tool", "search_issues", "{}"),
        ),
        ("github.com", "registry.npmjs.org"),
        0.2,
    ),
    Persona(
        "ci-bot",
        "UTC",
        (0, 1, 2, 3, 4, 5, 6),
        (0, 24),
        (0, 1),
        (("shell", "shell", "make test SHARD={}"), ("k8s", "kubectl", "get pods -n ci-{}")),
        ("github.com",),
    ),
    Persona(
        "nightly",
        "UTC",
        (0, 1, 2, 3, 4, 5, 6),
        (1, 4),
        (2, 5),
        (("aws", "aws", "s3 cp s3://reports/{}.csv /tmp/"), ("shell", "shell", "python etl.py --part {}")),
        ("s3.amazonaws.com",),
    ),
    Persona(
        "analyst",
        "Asia/Tokyo",
        (0, 1, 2, 3, 4),
        (10, 19),
        (1, 3),
        (("http", "fetch", "https://{host}/q/{}"), ("file", "read_file", "/data/{}.parquet")),
        ("api.github.com", "docs.python.org", "arxiv.org", "en.wikipedia.org"),
        0.3,
    ),
)


def benign(seed: int = 7, days: int = 14, personas: tuple[Persona, ...] = PERSONAS) -> list[Event]:
    """Steady-state traffic: each persona works in sessions within its hours, with its tools, hosts and spend."""
    rng = random.Random(seed)
    timeline: list[tuple[int, int, Event]] = []
    for p in personas:
        timeline.append(
            (MONDAY - NS, 0, AgentRegistered(agent=p.agent, team="eng", org="acme", labels={"timezone": p.timezone}))
        )
        zone = _zone_of(p.timezone)
        for day in range(days):
            start = datetime.fromtimestamp(MONDAY // NS + day * 86_400, zone).replace(hour=0, minute=0)
            if start.weekday() not in p.days:
                continue
            minute = p.hours[0] * 60 + rng.randrange(30)
            while minute < p.hours[1] * 60 - 5:
                length = rng.randrange(10, 45)
                for m in range(minute, min(minute + length, p.hours[1] * 60)):
                    for _ in range(rng.randint(*p.per_minute)):
                        ts = (int(start.timestamp()) + m * 60) * NS + rng.randrange(60 * NS)
                        timeline.append((ts, len(timeline), _benign_event(p, rng)))
                minute += length + rng.randrange(5, 40)
    timeline.sort(key=lambda x: (x[0], x[1]))
    out: list[Event] = []
    for i, (ts, _, e) in enumerate(timeline, 1):
        out.append(msgspec.structs.replace(e, id=f"bn-{i:07d}", ts=ts))
    return out


def _zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _benign_event(p: Persona, rng: random.Random) -> Event:
    if p.llm and rng.random() < p.llm:
        return SpendRecorded(agent=p.agent, team="eng", org="acme", model="m", usd_micros=rng.randrange(1_000, 40_000))
    kind, tool, pattern = rng.choice(p.tools)
    host = rng.choice(p.hosts) if p.hosts else "example.com"
    target = pattern.replace("{host}", host).format(rng.randrange(200))
    if kind == "shell" and p.hosts and rng.random() < 0.1:
        target = f"curl -s https://{host}/status"
    roll = rng.random()
    risk = 0 if roll < 0.9 else rng.randrange(5, 20) if roll < 0.98 else rng.randrange(30, 55)
    verdict: Verdict = "deny" if rng.random() < 0.03 else "review" if risk >= 50 else "allow"
    return ActionDecided(
        agent=p.agent,
        team="eng",
        org="acme",
        request_id=f"r{rng.getrandbits(48):x}",
        action=Action(kind=kind, tool=tool, target=target),
        verdict=verdict,
        claim="evaluated",
        risk=risk,
    )
