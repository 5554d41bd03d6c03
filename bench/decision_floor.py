"""The decision bench's floor: what the decision path cannot avoid, measured in the same run.

The floor responder (this file run as a script, a child process of ``bench/decision.py``) takes a core NATS
request on :data:`FLOOR_SUBJECT`, appends one same-size, sealed and signed ActionDecided to GOV with a unique
``Nats-Msg-Id``, waits for the JetStream ack and replies with a same-size Decision; :func:`floor_sender`
sends it requests of the size of a typical CheckAction (:func:`sample_request`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from agentgov.contracts import subjects
from agentgov.contracts.chain import ChainWriter
from agentgov.contracts.events import ActionDecided, MatchedRule
from agentgov.contracts.ids import uuid7
from agentgov.contracts.requests import CheckAction, Decision
from agentgov.streaming.lifecycle import tune_gc
from agentgov.streaming.natsconf import Credential, connect
from agentgov.streaming.producer import MSG_ID

# Run as a script: the repo root on the path makes `bench.*` importable here and to mypy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.decision_world import AGENT, ORG, TEAM, action_mix
from bench.loadgen import Send

SCRIPT = Path(__file__).resolve()
"""This file: ``bench/decision.py`` runs it as the floor responder's process."""
FLOOR_SUBJECT = "bench.floor.check"
"""The floor's requests: not a GOV subject, so JetStream does not capture them (like ``gov.check.*``)."""
FLOOR_AGENT = "floor"


def floor_payloads() -> tuple[bytes, bytes]:
    """A sealed, signed ActionDecided (what the replica appends) and a Decision (what it replies), as bytes."""
    action, _ = action_mix()[0]
    rule = MatchedRule(id="shell.allow", effect="allow", reason="command matches allow pattern 'git *'", scope="org")
    event = ActionDecided(
        agent=FLOOR_AGENT,
        team=TEAM,
        org=ORG,
        trace_id=uuid7(),
        request_id=uuid7(),
        action=action,
        verdict="allow",
        claim="evaluated",
        rules=[rule],
        reasons=[f"{rule.id}: {rule.reason}"],
        policy_revision=1,
        latency_us=250,
    )
    writer = ChainWriter(Ed25519PrivateKey.generate(), "floor-responder", role="policy")
    sealed = writer.seal(event, subject=subjects.decision(FLOOR_AGENT))
    decision = Decision(
        request_id=event.request_id,
        verdict="allow",
        claim="evaluated",
        rules=[rule],
        reasons=list(event.reasons),
        policy_revision=1,
        decision_id=event.id,
        stream_seq=123_456,
        latency_us=250,
        trace_id=event.trace_id,
    )
    return sealed.payload, msgspec.json.encode(decision)


async def floor_responder() -> None:
    """Per request on :data:`FLOOR_SUBJECT`, in its own task as the replica does: one ``js.publish`` of a
    same-size event to GOV with a unique ``Nats-Msg-Id``, awaited, then the reply. Runs until SIGTERM."""
    url, user, password = (os.environ[f"AGENTGOV_NATS_{k}"] for k in ("URL", "USER", "PASSWORD"))
    payload, reply = floor_payloads()
    subject = subjects.decision(FLOOR_AGENT)
    prefix = f"floor-{os.getpid()}-"
    count = 0
    tasks: set[asyncio.Task[None]] = set()
    nc = await connect(url, Credential(user=user, password=password), name="bench-floor-responder")
    js = nc.jetstream()

    async def handle(msg: Msg) -> None:
        nonlocal count
        count += 1
        await js.publish(subject, payload, headers={MSG_ID: prefix + str(count)})
        await msg.respond(reply)

    async def on_msg(msg: Msg) -> None:
        task = asyncio.get_running_loop().create_task(handle(msg))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await nc.subscribe(FLOOR_SUBJECT, cb=on_msg)
    await nc.flush()
    tune_gc()  # as the policy service does at start
    await stop.wait()
    await nc.drain()


def floor_sender(nc: NATS, payload: bytes, timeout: float) -> Send:
    """A raw core NATS request to the floor responder with a pre-built payload."""

    async def send() -> bool:
        try:
            msg = await nc.request(FLOOR_SUBJECT, payload, timeout=timeout)
        except Exception:
            return False
        return bool(msg.data)

    return send


def sample_request(token: str) -> bytes:
    """The bytes of a typical CheckAction (the floor sends requests of this size)."""
    action, _ = action_mix()[0]
    return msgspec.json.encode(
        CheckAction(
            request_id=uuid7(),
            agent=AGENT,
            token=token,
            action=action,
            trace_id=uuid7(),
            deadline_ms=time.time_ns() // 1_000_000 + 1000,
        )
    )


if __name__ == "__main__":
    asyncio.run(floor_responder())
