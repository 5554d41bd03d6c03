"""The anomaly service through real NATS: it pauses a looping agent, a real policy replica enforces the pause,
and a resume lets the agent through again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from nats.aio.client import Client

from agentgov.anomaly.service import AnomalyService
from agentgov.anomaly.settings import AnomalySettings
from agentgov.anomaly.store import SnapshotStore
from agentgov.cli.main import main
from agentgov.contracts import codec, subjects
from agentgov.contracts.events import Action, AgentPaused, AgentResumed
from agentgov.contracts.events_anomaly import AnomalyDetected
from agentgov.streaming.connect import connect
from agentgov.streaming.home import Runtime, write_runtime
from agentgov.streaming.reader import read_all
from agentgov.testing.policy import Gov, Replica, ReplicaFactory, ask, check, wait_for

LOOP = Action(kind="shell", tool="shell", target="ls -la /srv/app")


@pytest_asyncio.fixture
async def anomaly(gov_world: Gov, tmp_path: Path) -> AsyncIterator[AnomalyService]:
    """An anomaly service connected as the ``anomaly`` NATS user, running in this loop."""
    cred = gov_world.users.role("anomaly")
    nc = await connect(Runtime(url=gov_world.server.url, user=cred.user, password=cred.password), name="anomaly")
    settings = AnomalySettings.model_validate(
        {"snapshot_file": tmp_path / "anomaly.db", "operators_file": gov_world.trust_path, "snapshot_interval_s": 0.2}
    )
    store = SnapshotStore(settings.snapshot_file)
    svc = AnomalyService(settings, nc, store)
    stop = asyncio.Event()
    task = asyncio.create_task(svc.run(stop))
    yield svc
    stop.set()
    with contextlib.suppress(Exception):
        await task
    store.close()
    await nc.close()


async def loop_until_paused(nc: Client, replica: Replica, token: str) -> None:
    """Send the same check until the anomaly service's pause reaches the replica (35 at most)."""
    for _ in range(35):
        if (await ask(nc, "demo", check("demo", token, LOOP))).code == "agent_paused":
            break
    await wait_for(lambda: "demo" in replica.svc.projection.paused, timeout=10, what="the replica to see the pause")


async def test_a_loop_is_paused_enforced_and_resumed(
    gov_world: Gov, replicas: ReplicaFactory, anomaly: AnomalyService
) -> None:
    """35 identical checks: the anomaly service pauses the agent, the replica denies agent_paused until a resume."""
    replica = await replicas()
    token = await gov_world.register("demo")
    nc = await gov_world.agent("demo")
    await loop_until_paused(nc, replica, token)
    paused = await ask(nc, "demo", check("demo", token, LOOP))
    assert paused.verdict == "deny" and paused.code == "agent_paused"
    events = [codec.decode_event(codec.split(m.data)[0]) for m in await read_all(gov_world.js, "GOV")]
    (finding,) = [e for e in events if isinstance(e, AnomalyDetected)]
    (pause,) = [e for e in events if isinstance(e, AgentPaused)]
    assert finding.kind == "loop" and finding.response == "pause" and finding.agent == "demo"
    assert pause.by == "anomaly" and pause.anomaly_id == finding.id and pause.reason == finding.explanation
    assert "repeated the same action 30 times" in replica.svc.projection.paused["demo"]
    await gov_world.append(subjects.anomaly("demo"), AgentResumed(agent="demo", by="operator:test"))
    await wait_for(lambda: "demo" not in replica.svc.projection.paused, timeout=10, what="the resume")
    again = await ask(nc, "demo", check("demo", token, LOOP))
    assert again.verdict == "allow"
    await wait_for(lambda: anomaly.health().paused == [], timeout=10, what="the anomaly service to see the resume")


async def test_cli_resume_lifts_an_anomaly_pause(
    gov_world: Gov,
    replicas: ReplicaFactory,
    anomaly: AnomalyService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`agentgov agent resume demo` (via `agentgov up`'s record) lifts the anomaly's pause; the policy allows again."""
    replica = await replicas()
    token = await gov_world.register("demo")
    nc = await gov_world.agent("demo")
    await loop_until_paused(nc, replica, token)
    assert (await ask(nc, "demo", check("demo", token, LOOP))).code == "agent_paused"
    base = tmp_path / "operator-home"
    monkeypatch.setenv("AGENTGOV_HOME", str(base))
    for var in ("AGENTGOV_OPERATORS_FILE", "AGENTGOV_NATS_URL", "AGENTGOV_NATS_USER", "AGENTGOV_NATS_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    admin = gov_world.users.admin
    # what `agentgov up` leaves for the CLI: the server and its admin user
    write_runtime(Runtime(url=gov_world.server.url, user=admin.user, password=admin.password), base)
    assert await asyncio.to_thread(main, ["agent", "resume", "demo", "--reason", "false alarm"]) == 0
    assert "AgentResumed for demo appended" in capsys.readouterr().err
    await wait_for(
        lambda: "demo" not in replica.svc.projection.paused, timeout=10, what="the replica to see the resume"
    )
    again = await ask(nc, "demo", check("demo", token, LOOP))
    assert again.verdict == "allow" and again.code != "agent_paused"
    await wait_for(lambda: anomaly.health().paused == [], timeout=10, what="the anomaly service to see the resume")
    events = [codec.decode_event(codec.split(m.data)[0]) for m in await read_all(gov_world.js, "GOV")]
    (paused,) = [e for e in events if isinstance(e, AgentPaused)]
    (resumed,) = [e for e in events if isinstance(e, AgentResumed)]
    assert paused.by == "anomaly" and paused.anomaly_id is not None
    assert resumed.agent == "demo" and resumed.reason == "false alarm" and resumed.by == "operator:local"


async def test_cumulative_risk_at_r1_sends_the_agents_allows_to_review(
    gov_world: Gov, replicas: ReplicaFactory, anomaly: AnomalyService
) -> None:
    """Four risky deploys (risk 60 each, reviewed) add up past review_at (200) but under pause_at (350): the
    anomaly service answers `review`, the real replica then reviews even an allowed `ls` (rule anomaly.review,
    the anomaly's explanation as the reason) without pausing the agent, until a resume lifts it."""
    replica = await replicas()
    token = await gov_world.register("demo")
    nc = await gov_world.agent("demo")
    assert (await ask(nc, "demo", check("demo", token, LOOP))).verdict == "allow"
    for version in range(4):
        deploy = Action(kind="mcp_tool", tool="deploy", target="prod", args={"version": f"1.0.{version}"})
        assert (await ask(nc, "demo", check("demo", token, deploy))).verdict == "review"
    await wait_for(lambda: "demo" in replica.svc.projection.under_review, timeout=10, what="the anomaly review")
    held = await ask(nc, "demo", check("demo", token, LOOP))
    assert held.verdict == "review" and held.rules[-1].id == "anomaly.review", held
    assert "under anomaly review" in held.reasons[-1]
    assert "demo" not in replica.svc.projection.paused
    events = [codec.decode_event(codec.split(m.data)[0]) for m in await read_all(gov_world.js, "GOV")]
    (finding,) = [e for e in events if isinstance(e, AnomalyDetected) and e.kind == "cumulative_risk"]
    assert finding.response == "review" and finding.explanation in held.reasons[-1]
    await gov_world.append(subjects.anomaly("demo"), AgentResumed(agent="demo", by="operator:test"))
    await wait_for(lambda: "demo" not in replica.svc.projection.under_review, timeout=10, what="the resume")
    assert (await ask(nc, "demo", check("demo", token, LOOP))).verdict == "allow"
