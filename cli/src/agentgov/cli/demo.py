"""The short demo `agentgov up` runs: a few real events, sealed by the audit service, then verified.

The events are what the services of later issues will write; here they are appended directly, each by a
producer connected with its role's own NATS credentials (an agent may only write its own spend subject,
and this agent writes garbage there to show that bad bytes are kept, hashed and diagnosed, never lost).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.audit.service import Health
from agentgov.audit.verify import Report, verify_stream
from agentgov.contracts import subjects
from agentgov.contracts.events import (
    Action,
    ActionDecided,
    ActionKind,
    AgentRegistered,
    Evidence,
    MatchedRule,
    Redaction,
    SpendRecorded,
    Verdict,
)
from agentgov.contracts.ids import uuid7
from agentgov.streaming.connect import connect
from agentgov.streaming.home import Runtime
from agentgov.streaming.natsconf import NatsUsers
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import last_seq

ORG, TEAM = "acme", "payments"


def _decision(
    agent: str, kind: ActionKind, target: str, verdict: Verdict, rule: str, reason: str, risk: int, **extra: Any
) -> ActionDecided:
    args: dict[str, Any] = extra.pop("args", {})
    return ActionDecided(
        agent=agent,
        team=TEAM,
        org=ORG,
        trace_id=uuid7(),
        request_id=uuid7(),
        action=Action(kind=kind, target=target, args=args),
        verdict=verdict,
        claim="evaluated" if verdict != "deny" else "denied_before_execution",
        risk=risk,
        rules=[MatchedRule(id=rule, effect=verdict, reason=reason)],
        reasons=[reason],
        policy_revision=1,
        latency_us=640,
        **extra,
    )


DECISIONS = [
    _decision("demo", "shell", "ls -la", "allow", "shell.readonly", "read-only listing", 3),
    _decision("demo", "http", "GET https://api.github.com/repos", "allow", "egress.allow", "allowed domain", 5),
    _decision(
        "demo",
        "shell",
        "rm -rf /",
        "deny",
        "shell.destructive",
        "recursive delete of /",
        100,
        evidence=[Evidence(category="destructive", severity=10, detail="rm -rf on /")],
    ),
    _decision("demo", "shell", "git push origin main", "review", "git.push", "push to a protected branch", 55),
    _decision(
        "helper",
        "http",
        "POST https://hooks.example.com",
        "redact",
        "data.secrets",
        "credential in body",
        40,
        args={"body": "token=[REDACTED]"},
        redactions=[Redaction(kind="github_token", field="args.body", start=6, end=46, salted_hash="9f2c…")],
    ),
]


async def run(rt: Runtime, users: NatsUsers, health: Health, stopped: asyncio.Event, out: list[str]) -> Report:
    """Append the demo events, wait until the audit service has sealed them, verify, and describe it."""
    operator = await connect(_as(rt, users, "operator"), name="demo-operator")
    policy = await connect(_as(rt, users, "policy"), name="demo-policy")
    collector = await connect(_as(rt, users, "collector"), name="demo-collector")
    agent = await connect(_as(rt, users, "agent:demo"), name="demo-agent")
    try:
        async with ChainedProducer(operator.jetstream(), Ed25519PrivateKey.generate(), role="operator") as p:
            for a in ("demo", "helper"):
                await p.publish(subjects.registry(a), AgentRegistered(agent=a, team=TEAM, org=ORG, trust=60))
        async with ChainedProducer(policy.jetstream(), Ed25519PrivateKey.generate(), role="policy") as p:
            for d in DECISIONS:
                await p.publish(subjects.decision(d.agent or ""), d)
                out.append(f"  {d.verdict:<7} {d.agent:<7} {d.action.kind:<6} {d.action.target}  ({d.reasons[0]})")
        async with ChainedProducer(collector.jetstream(), Ed25519PrivateKey.generate(), role="collector") as p:
            await p.publish(
                subjects.spend("demo"),
                SpendRecorded(
                    agent="demo",
                    team=TEAM,
                    org=ORG,
                    model="gpt-4o",
                    input_tokens=1200,
                    output_tokens=300,
                    usd_micros=6000,
                ),
            )
        await agent.publish(subjects.spend("demo"), b"{not an event")
        await agent.flush()
        js = operator.jetstream()
        target = await last_seq(js, "GOV")
        deadline = time.monotonic() + 15
        # polls the audit service's health, which has no event to wait on
        while health.sealed_upto < target and time.monotonic() < deadline and not stopped.is_set():
            await asyncio.sleep(0.1)
        return await verify_stream(js)
    finally:
        for nc in (operator, policy, collector, agent):
            await nc.close()


def _as(rt: Runtime, users: NatsUsers, who: str) -> Runtime:
    cred = users.agent(who.split(":", 1)[1]) if who.startswith("agent:") else users.role(who)
    return Runtime(url=rt.url, user=cred.user, password=cred.password, inbox_prefix=cred.inbox_prefix)
