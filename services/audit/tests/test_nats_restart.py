"""NATS restarting under a running audit service: it reconnects and goes on, losing and repeating nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentgov.audit.service import AuditService
from agentgov.audit.store import EventQuery, open_read_model
from agentgov.audit.verify import verify_stream
from agentgov.contracts import subjects
from agentgov.streaming.connect import connect
from agentgov.streaming.home import Runtime
from agentgov.streaming.keys import load_or_create_key
from agentgov.streaming.reader import last_seq
from agentgov.streaming.streams import ensure_streams
from agentgov.testing.chains import decision
from agentgov.testing.nats import NatsServerFactory

from .conftest import producer, settings_for


async def test_audit_survives_a_nats_restart(nats_server_factory: NatsServerFactory, tmp_path: Path) -> None:
    """Kill nats-server while the audit service follows GOV; after the restart it catches up exactly once."""
    server = nats_server_factory(with_users=False)
    rt = Runtime(url=server.url)
    nc = await connect(rt, name="test-writer")
    audit_nc = await connect(rt, name="test-audit")
    js = nc.jetstream()
    await ensure_streams(js)
    settings = settings_for(str(tmp_path / "a.db"), tmp_path)
    rm = open_read_model(settings.database)
    svc = AuditService(settings, audit_nc, rm, load_or_create_key(settings.key_file))
    stop = asyncio.Event()
    task = asyncio.create_task(svc.run(stop))
    try:
        p = await producer(js)
        for i in range(300):
            await p.publish_nowait(subjects.decision("a1"), decision("a1", target=f"before {i}"))
        await p.flush()
        while svc.health.position < await last_seq(js, "GOV"):
            await asyncio.sleep(0.05)
        server.kill()
        await asyncio.sleep(0.5)
        server.restart()
        q = await producer(js, "collector")
        for i in range(300):
            await q.publish(subjects.decision("a2"), decision("a2", target=f"after {i}"))
        target = await last_seq(js, "GOV")
        deadline = asyncio.get_running_loop().time() + 30
        while svc.health.sealed_upto < target:
            assert not task.done(), task
            assert asyncio.get_running_loop().time() < deadline, f"stuck at {svc.health.sealed_upto} < {target}"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
    gov_last = await last_seq(js, "GOV")
    assert rm.position() == gov_last
    assert rm.count(EventQuery()) == gov_last
    assert rm.count(EventQuery(agent="a2")) == 300
    report = await verify_stream(js)
    assert report.ok, report.problems[:3]
    rm.close()
    await nc.close()
    await audit_nc.close()
