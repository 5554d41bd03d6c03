"""Shared helpers for audit service tests: producers, a running audit service, and waiting on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.audit.service import AuditService
from agentgov.audit.settings import AuditSettings
from agentgov.audit.store import ReadModel, open_read_model
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import last_seq


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh read-model target: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "audit.db")
    return str(request.getfixturevalue("pg_fresh_url"))


def settings_for(database: str, tmp_path: Path, **kw: object) -> AuditSettings:
    """Audit settings with small, fast seals."""
    values: dict[str, object] = {
        "database": database,
        "key_file": tmp_path / "audit.key",
        "seal_every": 50,
        "seal_interval_ms": 100,
    }
    values.update(kw)
    return AuditSettings.model_validate(values)


class RunningAudit:
    """An AuditService running in this event loop until stopped."""

    def __init__(self, svc: AuditService, task: asyncio.Task[None], stop: asyncio.Event, rm: ReadModel) -> None:
        self.svc, self.task, self.stop_event, self.rm = svc, task, stop, rm

    async def caught_up(self, js: JetStreamContext, timeout: float = 20.0) -> None:
        """Wait until everything now in GOV is verified, indexed and sealed."""
        target = await last_seq(js, "GOV")
        deadline = asyncio.get_running_loop().time() + timeout
        while self.svc.health.sealed_upto < target:
            if self.task.done():
                self.task.result()
            assert asyncio.get_running_loop().time() < deadline, (
                f"audit stuck at sealed {self.svc.health.sealed_upto} < {target}"
            )
            await asyncio.sleep(0.05)
            target = await last_seq(js, "GOV")

    async def stop(self) -> None:
        """Stop it and wait."""
        self.stop_event.set()
        await self.task


StartAudit = Callable[..., Awaitable["RunningAudit"]]
"""``await start_audit(database, **settings)``: an AuditService running in this loop."""


@pytest.fixture
async def start_audit(nc: Client, tmp_path: Path) -> AsyncIterator[StartAudit]:
    """Start audit services (stopped at teardown): ``await start_audit(database, seal_every=...)``."""
    running: list[RunningAudit] = []

    async def start(database: str, **kw: object) -> RunningAudit:
        settings = settings_for(database, tmp_path, **kw)
        rm = open_read_model(settings.database)
        from agentgov.streaming.keys import load_or_create_key

        svc = AuditService(settings, nc, rm, load_or_create_key(settings.key_file))
        stop = asyncio.Event()
        r = RunningAudit(svc, asyncio.create_task(svc.run(stop)), stop, rm)
        running.append(r)
        return r

    yield start
    for r in running:
        r.stop_event.set()
        with contextlib.suppress(Exception):
            await r.task
        r.rm.close()


async def producer(js: JetStreamContext, role: str = "policy") -> ChainedProducer:
    """A registered producer with a fresh key."""
    p = ChainedProducer(js, Ed25519PrivateKey.generate(), role=role)
    await p.register()
    return p
