"""Fail closed: a replica killed mid-burst, NATS restarting under a replica, two replicas racing on one limit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from agentgov.audit.verify import verify_stream
from agentgov.contracts.events import Action
from agentgov.contracts.requests import Decision
from agentgov.policy.ratelimit_redis import RedisLimiter
from agentgov.streaming.server import EmbeddedNats
from agentgov.testing.policy import BUNDLE, Gov, ReplicaFactory, ask, check

LS = Action(kind="shell", tool="shell", target="ls -la")

LIMITED = BUNDLE.replace("    limit: 1000\n    per: 1m", "    limit: 20\n    per: 1h")


def _spawn_replica(gov_world: Gov, tmp_path: Path) -> subprocess.Popen[bytes]:
    cred = gov_world.users.role("policy")
    env = {
        **os.environ,
        "AGENTGOV_HOME": str(tmp_path / "replica-home"),
        "AGENTGOV_NATS_URL": gov_world.server.url,
        "AGENTGOV_NATS_USER": cred.user,
        "AGENTGOV_NATS_PASSWORD": cred.password,
        "AGENTGOV_OPERATORS_FILE": str(gov_world.trust_path),
    }
    env.pop("AGENTGOV_REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "agentgov.policy"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def _serving(nc: object, agent: str, token: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await ask(nc, agent, check(agent, token, LS), timeout=0.5)  # type: ignore[arg-type]
        except (NatsTimeoutError, NoRespondersError):
            assert time.monotonic() < deadline, "replica did not start serving"
            await asyncio.sleep(0.1)
        else:
            return


@pytest.mark.slow
async def test_replica_killed_during_a_burst_fails_closed(gov_world: Gov, tmp_path: Path) -> None:
    """kill -9 mid-burst: callers get a decision or time out (deny); no request is recorded twice."""
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    proc = _spawn_replica(gov_world, tmp_path)
    try:
        await _serving(nc, "a1", token)
        outcomes: list[Decision | str] = []
        killed = asyncio.Event()

        async def worker() -> None:
            # keep asking until well after the kill, so requests are in flight when it happens
            while True:
                after_kill = killed.is_set()
                try:
                    outcomes.append(await ask(nc, "a1", check("a1", token, LS), timeout=1.0))
                except (NatsTimeoutError, NoRespondersError) as exc:
                    outcomes.append(type(exc).__name__)  # the SDK turns this into deny policy_unavailable
                if after_kill:
                    return

        async def killer() -> None:
            # kill once some answers came back (however busy the machine is), while others are in flight
            deadline = time.monotonic() + 10
            while sum(isinstance(o, Decision) for o in outcomes) < 10 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            killed.set()

        await asyncio.gather(killer(), *(worker() for _ in range(32)))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    answered = [o for o in outcomes if isinstance(o, Decision)]
    failed = [o for o in outcomes if isinstance(o, str)]
    assert answered and failed, (len(answered), len(failed))
    recorded = Counter(d.request_id for d in await gov_world.decisions())
    assert max(recorded.values()) == 1
    for reply in answered:
        assert recorded[reply.request_id] == 1  # every answer given is on the record
    report = await verify_stream(gov_world.js)
    assert report.first_bad is None, report.first_bad


async def test_nats_restart_fails_closed_then_recovers(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """NATS going away: SDK checks deny (policy_unavailable); after the restart SDK and replica go on."""
    replica = await replicas()
    await gov_world.register("a1")
    client = await gov_world.sdk("a1")
    try:
        assert (await client.check(LS)).verdict == "allow"
        server: EmbeddedNats = gov_world.server
        server.kill()
        during = await client.check(LS, timeout=0.5)
        assert (during.verdict, during.code) == ("deny", "policy_unavailable") and not during.decision_id
        await asyncio.to_thread(server.restart)
        deadline = time.monotonic() + 20
        while (after := await client.check(LS, timeout=0.5)).code == "policy_unavailable":
            assert time.monotonic() < deadline, "no decision after the restart"
            await asyncio.sleep(0.1)
        assert after.verdict == "allow" and after.stream_seq > 0
        assert not replica.task.done()
    finally:
        await client.close()


@pytest.mark.redis
async def test_two_replicas_racing_on_one_limit_allow_exactly_n(
    gov_world: Gov, replicas: ReplicaFactory, redis_url: str, redis_prefix: str
) -> None:
    """With Redis, two replicas serving 100 concurrent requests against a limit of 20 allow exactly 20."""
    now = time.time()
    if 3600 - now % 3600 < 10:  # do not straddle the window boundary
        await asyncio.sleep(3600 - now % 3600 + 0.5)
    await gov_world.publish_bundle(LIMITED)
    prefix = f"{redis_prefix}rl-{os.getpid()}-{time.monotonic_ns()}:"
    a = await replicas(limiter=RedisLimiter.from_url(redis_url, prefix=prefix))
    b = await replicas(limiter=RedisLimiter.from_url(redis_url, prefix=prefix))
    for r in (a, b):
        while r.svc.projection.bundles["*"].revision != 2:
            await asyncio.sleep(0.02)
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    replies = await asyncio.gather(*(ask(nc, "a1", check("a1", token, LS), timeout=5) for _ in range(100)))
    verdicts = Counter(r.verdict for r in replies)
    assert verdicts["allow"] == 20, verdicts
    limited = [r for r in replies if r.verdict == "deny"]
    assert all(r.code == "rate_limited" for r in limited)
    assert a.svc.stats.decided > 0 and b.svc.stats.decided > 0
    for r in (a, b):
        assert isinstance(r.svc.limiter, RedisLimiter)
        await r.svc.limiter.close()
