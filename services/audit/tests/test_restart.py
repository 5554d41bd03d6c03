"""kill -9 at any point and restart: nothing lost, nothing written twice."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path

from nats.js.client import JetStreamContext

from agentgov.audit.store import EventQuery, open_read_model
from agentgov.audit.verify import verify_stream
from agentgov.contracts import codec, subjects
from agentgov.streaming.natsconf import Credential
from agentgov.streaming.reader import last_seq, read_all
from agentgov.testing.chains import decision

from .conftest import producer


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "agentgov.audit"], env=env, stdout=out, stderr=subprocess.STDOUT)


async def _position(db: str) -> int:
    rm = open_read_model(db)
    try:
        return await asyncio.to_thread(rm.position)
    except Exception:
        return 0
    finally:
        rm.close()


async def _wait(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await cond():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_kill_9_mid_stream_then_restart_loses_and_duplicates_nothing(
    gov: JetStreamContext, nats_url: str, nats_admin: Credential | None, tmp_path: Path
) -> None:
    """SIGKILL the audit process mid-stream; after a restart every message is indexed once and sealed once."""
    db = str(tmp_path / "audit.db")
    env = {
        **os.environ,
        "AGENTGOV_NATS_URL": nats_url,
        "AGENTGOV_DATABASE_URL": db,
        "AGENTGOV_HOME": str(tmp_path / "home"),
        "AGENTGOV_AUDIT_SEAL_EVERY": "50",
        "AGENTGOV_AUDIT_SEAL_MS": "100",
    }
    if nats_admin is not None:
        env |= {"AGENTGOV_NATS_USER": nats_admin.user, "AGENTGOV_NATS_PASSWORD": nats_admin.password}
    log = tmp_path / "audit.log"
    p = await producer(gov)
    for i in range(100):
        await p.publish_nowait(subjects.decision("a1"), decision("a1", target=f"cmd {i}"))
    await p.flush()
    await gov.publish("gov.spend.a1", b"not an event")
    proc = _start(env, log)
    try:
        await _wait(lambda: _position_above(db, 100), 30, "the first run to index the first messages")
        writer = asyncio.create_task(_publish_slowly(p, 1500))
        await _wait(lambda: _position_above(db, 600), 30, "the first run to pass 600")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_at = await _position(db)
        await writer
        proc = _start(env, log)
        gov_last = await last_seq(gov, "GOV")
        await _wait(lambda: _sealed_through(gov, gov_last), 60, "the second run to seal everything")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert 600 < killed_at < gov_last, "the kill did not land mid-stream"
    gov_last = await last_seq(gov, "GOV")
    rm = open_read_model(db)
    try:
        assert rm.position() == gov_last
        assert rm.count(EventQuery()) == gov_last
        assert [(d.kind, d.stream_seq) for d in rm.diagnostics()] == [("malformed", 102)]
    finally:
        rm.close()
    stream = await read_all(gov, "GOV")
    malformed = [m for m in stream if m.subject == subjects.MALFORMED]
    assert len(malformed) == 1
    cps = [codec.decode_event(codec.split(m.data)[0]) for m in await read_all(gov, "GOV_CHECKPOINTS")]
    assert [c.chain.seq for c in cps] == list(range(1, len(cps) + 1))
    ranges = [(c.first_seq, c.last_seq) for c in cps]  # type: ignore[union-attr]
    assert ranges[0][0] == 1 and all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
    report = await verify_stream(gov)
    assert report.ok, report.problems


async def _position_above(db: str, n: int) -> bool:
    return await _position(db) > n


async def _sealed_through(js: JetStreamContext, seq: int) -> bool:
    cps = await read_all(js, "GOV_CHECKPOINTS")
    if not cps:
        return False
    last = codec.decode_event(codec.split(cps[-1].data)[0])
    return last.last_seq >= seq  # type: ignore[union-attr]


async def _publish_slowly(p, n: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        await p.publish_nowait(subjects.decision("a2"), decision("a2", target=f"later {i}"))
        if i % 50 == 0:
            await p.flush()
            await asyncio.sleep(0.01)
    await p.flush()
