"""The anomaly service on a real nats-server: it consumes a trace from GOV, appends findings and pauses, and a
crash mid-trace followed by a restart neither loses nor repeats any of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.anomaly.domain import Anomalies
from agentgov.anomaly.service import AnomalyService
from agentgov.anomaly.settings import AnomalySettings
from agentgov.anomaly.store import SnapshotStore
from agentgov.anomaly.traces import Trace, run, trusted
from agentgov.contracts import codec, crypto, subjects
from agentgov.contracts.envelope import Event
from agentgov.contracts.events import AgentPaused, AgentRegistered, EventRejected, SpendRecorded
from agentgov.contracts.events_anomaly import AnomalyDetected
from agentgov.identity.operators import TrustStore
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import last_seq, read_all


def subject_of(e: Event) -> str:
    """Where each event type of a trace goes."""
    agent = e.agent or "x"
    if isinstance(e, AgentRegistered):
        return subjects.registry(agent)
    if isinstance(e, SpendRecorded):
        return subjects.spend(agent)
    return subjects.decision(agent) if e.agent else subjects.POLICY


async def append(js: JetStreamContext, events: list[Event]) -> None:
    """Append a trace as one producer (pipelined)."""
    p = ChainedProducer(js, Ed25519PrivateKey.generate(), role="policy")
    await p.register()
    for e in events:
        await p.publish_nowait(subject_of(e), e)
    await p.flush()


class Running:
    """An AnomalyService task in this loop."""

    def __init__(self, nc: Client, path: Path, trust: TrustStore | None = None, **kw: object) -> None:
        settings = AnomalySettings.model_validate(
            {
                "snapshot_file": path,
                "operators_file": path.with_name("operators.json"),
                "max_skew_s": 1e9,
                "snapshot_interval_s": 1000,
                "batch": 40,
                **kw,
            }
        )
        self.store = SnapshotStore(path)
        self.svc = AnomalyService(settings, nc, self.store, trust or trusted())
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(self.svc.run(self.stop_event))

    async def caught_up(self, js: JetStreamContext) -> None:
        """Wait until it has applied everything now in GOV."""
        target = await last_seq(js, "GOV")
        async with asyncio.timeout(20):
            while self.svc.anomalies.state.position < target or not self.svc.caught_up.is_set():
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0.02)

    async def crash(self) -> None:
        """Stop without the final snapshot, as kill -9 would."""

        async def no_snapshot() -> None:
            return None

        self.svc.snapshot = no_snapshot  # type: ignore[method-assign]
        await self.stop()

    async def stop(self) -> None:
        """Stop and wait."""
        self.stop_event.set()
        with contextlib.suppress(Exception):
            await self.task
        self.store.close()


async def recorded(js: JetStreamContext) -> tuple[list[AnomalyDetected], list[AgentPaused]]:
    """The AnomalyDetected and AgentPaused events on GOV, in order."""
    events = [codec.decode_event(codec.split(m.data)[0]) for m in await read_all(js, "GOV")]
    return [e for e in events if isinstance(e, AnomalyDetected)], [e for e in events if isinstance(e, AgentPaused)]


def script() -> tuple[list[Event], list[Event], list[Event]]:
    """Warm-up; a loop (pause) and a deny burst; then a spend runaway of a second agent (pause)."""
    t = Trace()
    t.register("coder-1")
    t.register("coder-2")
    t.routine("coder-1", 90, per_minute=2)
    for _ in range(3 * 30):
        t.advance(120).spend("coder-2", 16_000)
    warm = len(t.events)
    for _ in range(40):
        t.advance(1).decide("coder-1", "shell", "make test")
    for i in range(9):
        t.advance(2).decide("coder-2", "shell", f"sudo cat /etc/shadow{i}", verdict="deny")
    attack = len(t.events)
    for _ in range(20):
        t.advance(120).spend("coder-2", 400_000)
    return t.events[:warm], t.events[warm:attack], t.events[attack:]


async def test_findings_and_pauses_survive_a_crash_exactly_once(
    gov: JetStreamContext, nc: Client, tmp_path: Path
) -> None:
    """Crash after the first pause (snapshot older than it), restart, continue: every finding and pause once."""
    warm, attack, runaway = script()
    expected = run(warm + attack + runaway, Anomalies(trust=trusted()))
    assert [f.kind for f in expected if f.pause] == ["loop", "spend_spike"]
    path = tmp_path / "anomaly.db"
    await append(gov, warm)
    first = Running(nc, path)
    await first.caught_up(gov)
    await first.svc.snapshot()
    await append(gov, attack)
    await first.caught_up(gov)
    assert first.svc.handler is not None and first.svc.handler.counters.pauses == 1
    await first.crash()
    second = Running(nc, path)
    await second.caught_up(gov)
    assert second.svc.handler is not None and second.svc.handler.counters.repeats >= 1
    assert second.svc.handler.counters.findings == 0  # everything it re-derived was already on the stream
    await append(gov, runaway)
    await second.caught_up(gov)
    await second.stop()
    anomalies, pauses = await recorded(gov)
    assert [a.id for a in anomalies] == [f.id for f in expected]
    assert [(p.agent, p.anomaly_id) for p in pauses] == [(f.agent, f.id) for f in expected if f.pause]
    assert all(p.by == "anomaly" for p in pauses)


async def test_rebuild_replays_everything_and_appends_nothing_new(
    gov: JetStreamContext, nc: Client, tmp_path: Path
) -> None:
    """--rebuild ignores the snapshot, re-derives every finding, and appends none of them again."""
    warm, attack, _ = script()
    await append(gov, warm + attack)
    first = Running(nc, tmp_path / "a.db")
    await first.caught_up(gov)
    await first.stop()
    before = await recorded(gov)
    again = Running(nc, tmp_path / "a.db", rebuild=True)
    await again.caught_up(gov)
    await again.stop()
    assert await recorded(gov) == before and before[0]
    assert again.svc.handler is not None and again.svc.handler.counters.repeats == len(before[0])


async def test_bad_events_are_refused_on_the_stream_once_and_change_nothing(
    gov: JetStreamContext, nc: Client, tmp_path: Path
) -> None:
    """Unknown agents, negative spend and undecodable bytes change no state; each is counted and recorded as
    one EventRejected saying why; a crash before the snapshot and a --rebuild append none of them again."""
    t = Trace()
    t.register("coder-1")
    t.decide("ghost", "shell", "ls")
    t.spend("coder-1", -1)
    await append(gov, t.events)
    await gov.publish("gov.decision.coder-1", b"not a frame")
    svc = Running(nc, tmp_path / "b.db")
    await svc.caught_up(gov)
    await svc.crash()
    h = svc.svc.health()
    assert h.skipped == {"unknown_agent": 1, "out_of_range": 1, "malformed": 1} and h.rejected == 3
    assert h.agents == 1 and h.findings == 0
    stored = await read_all(gov, "GOV")
    decoded = [codec.decode_event(codec.split(m.data)[0]) for m in stored if m.subject.endswith("._rejected")]
    refusals = [e for e in decoded if isinstance(e, EventRejected)]
    assert len(refusals) == len(decoded)
    assert [(r.reason, r.service, r.agent) for r in refusals] == [
        ("unknown_agent", "anomaly", None),
        ("out_of_range", "anomaly", "coder-1"),
        ("malformed", "anomaly", None),
    ]
    by_seq = {m.seq: m.subject for m in stored}
    assert all(by_seq[r.stream_seq] == r.subject for r in refusals)
    assert "usd_micros -1 is negative" in refusals[1].detail
    for rerun in (Running(nc, tmp_path / "b.db"), Running(nc, tmp_path / "b.db", rebuild=True)):
        await rerun.caught_up(gov)
        await rerun.stop()
        assert rerun.svc.health().rejected == 0 and rerun.svc.health().agents == 1
    assert len([m for m in await read_all(gov, "GOV") if m.subject.endswith("._rejected")]) == 3


async def test_only_bundles_of_trusted_operators_set_thresholds(
    gov: JetStreamContext, nc: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Forged and untrusted bundles are skipped (counted, logged, config kept); a signed one applies."""
    other = Ed25519PrivateKey.generate()
    t = Trace()
    t.bundle("anomaly: {loop: {count: 5, window: 30s}}\n")
    forged = t.bundle("anomaly: {enabled: false}\n", revision=2)
    t.events[-1] = msgspec.structs.replace(forged, signature=crypto.sign_policy(other, "*", 2, forged.sha256))
    t.bundle("anomaly: {enabled: false}\n", revision=2, key=other)
    t.register("coder-1")
    for _ in range(6):
        t.advance(1).decide("coder-1", "shell", "make test")
    await append(gov, t.events)
    caplog.set_level(logging.WARNING, logger="agentgov.anomaly")
    svc = Running(nc, tmp_path / "t.db")
    await svc.caught_up(gov)
    h = svc.svc.health()
    assert h.skipped == {"untrusted_bundle": 2} and h.findings == 1 and h.paused == ["coder-1"]
    lines = [r.getMessage() for r in caplog.records if "skipped PolicyPublished" in r.getMessage()]
    assert len(lines) == 2 and "does not verify" in lines[0] and "not a trusted operator key" in lines[1]
    assert svc.svc.anomalies.state.bundles["*"].revision == 1
    first = len(t.events)
    t.bundle("anomaly: {loop: {count: 3, window: 30s}}\n", revision=2)
    t.register("coder-2")
    for _ in range(4):
        t.advance(1).decide("coder-2", "shell", "make test")
    await append(gov, t.events[first:])
    await svc.caught_up(gov)
    await svc.stop()
    anomalies, pauses = await recorded(gov)
    assert [(a.agent, a.kind, a.observed) for a in anomalies] == [("coder-1", "loop", 5), ("coder-2", "loop", 3)]
    assert [p.agent for p in pauses] == ["coder-1", "coder-2"]
    assert svc.svc.anomalies.state.bundles["*"].revision == 2


async def test_a_snapshot_with_a_no_longer_trusted_bundle_is_rebuilt(
    gov: JetStreamContext, nc: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Restarted with a trust file that drops the signer: the snapshot is ignored and the bundle refused."""
    t = Trace()
    t.bundle("anomaly: {loop: {count: 5}}\n")
    t.register("coder-1")
    await append(gov, t.events)
    first = Running(nc, tmp_path / "r.db")
    await first.caught_up(gov)
    await first.stop()
    assert first.svc.anomalies.state.bundles["*"].revision == 1
    caplog.set_level(logging.WARNING, logger="agentgov.anomaly")
    again = Running(nc, tmp_path / "r.db", trust=trusted(Ed25519PrivateKey.generate()))
    await again.caught_up(gov)
    await again.stop()
    assert any("no longer trusted" in r.getMessage() for r in caplog.records)
    assert again.svc.anomalies.state.bundles == {} and again.svc.health().skipped == {"untrusted_bundle": 1}
    assert again.svc.anomalies.state.agents["coder-1"].registered
