"""Fixtures for process-kill tests of the budget, approval and anomaly services: a test world on a fresh GOV
(an operator trusted for every role, the test bundle published) and services started as real processes
(``python -m agentgov.cli run <service>``) that can be SIGKILLed and started again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.contracts import codec
from agentgov.contracts.envelope import Event
from agentgov.contracts.errors import DecodeError
from agentgov.streaming.reader import StoredMsg, read_all
from agentgov.streaming.server import EmbeddedNats
from agentgov.testing.nats import NatsConnector
from agentgov.testing.policy import Gov

E = TypeVar("E", bound=Event)


@pytest_asyncio.fixture
async def gov_world(
    gov: JetStreamContext, nc: Client, nats_server: EmbeddedNats, nats_connect: NatsConnector, tmp_path: Path
) -> Gov:
    """Fresh streams, an operator trusted for every role, the test bundle published."""
    return await Gov.create(gov, nc, nats_server, nats_connect, tmp_path)


class ServiceProcess:
    """``agentgov run <service>`` as a child process: start, SIGKILL, start again, stop with SIGTERM."""

    def __init__(self, world: Gov, service: str, home: Path, env: dict[str, str] | None = None) -> None:
        self.world, self.service, self.home = world, service, home
        cred = world.users.role(service)
        self.env = {
            **os.environ,
            "AGENTGOV_HOME": str(home),
            "AGENTGOV_NATS_URL": world.server.url,
            "AGENTGOV_NATS_USER": cred.user,
            "AGENTGOV_NATS_PASSWORD": cred.password,
            "AGENTGOV_OPERATORS_FILE": str(world.trust_path),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        for name in ("AGENTGOV_REDIS_URL", "AGENTGOV_DATABASE_URL"):
            if name not in (env or {}):
                self.env.pop(name, None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def log(self) -> Path:
        """Where every run's output goes (appended), to read when a test fails."""
        return self.home.with_name(f"{self.service}.log")

    def start(self) -> None:
        """Start the service (it must not be running)."""
        assert self.proc is None or self.proc.poll() is not None
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts + 1}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentgov.cli", "run", self.service],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def alive(self) -> bool:
        """True while the process runs (fails the test with its log when it died by itself)."""
        if self.proc is None:
            return False
        code = self.proc.poll()
        assert code is None, f"{self.service} exited with {code}:\n{self.log.read_text()[-4000:]}"
        return True

    def kill9(self) -> None:
        """SIGKILL and reap: no handler runs, nothing is flushed."""
        assert self.proc is not None and self.alive()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.service} ignored SIGTERM:\n{self.log.read_text()[-4000:]}") from None

    def reap(self) -> None:
        """Teardown: kill whatever is left."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


StartService = Callable[..., ServiceProcess]


@pytest.fixture
def service(gov_world: Gov, tmp_path: Path) -> Iterator[StartService]:
    """Make (not start) a service process with its own ``AGENTGOV_HOME``; every one is killed at teardown."""
    made: list[ServiceProcess] = []

    def make(name: str, env: dict[str, str] | None = None) -> ServiceProcess:
        p = ServiceProcess(gov_world, name, tmp_path / f"{name}-home", env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.reap()


async def stream_events(js: JetStreamContext, kind: type[E]) -> list[tuple[StoredMsg, E]]:
    """Every event of ``kind`` on GOV now, with its stored message, in stream order."""
    out: list[tuple[StoredMsg, E]] = []
    for m in await read_all(js, "GOV"):
        with contextlib.suppress(DecodeError):
            ev = codec.decode_event(codec.split_lazy(m.data)[0])
            if isinstance(ev, kind):
                out.append((m, ev))
    return out


async def count_on(js: JetStreamContext, subject: str, *, besides: tuple[str, ...] = ()) -> int:
    """How many messages on GOV match ``subject`` (wildcards allowed) right now, not counting ``besides``."""
    info = await js.stream_info("GOV", subjects_filter=subject)
    return sum(n for s, n in (info.state.subjects or {}).items() if s not in besides)


async def eventually(
    cond: Callable[[], Awaitable[bool]], proc: ServiceProcess, what: str, timeout: float = 60.0
) -> None:
    """Poll ``cond`` (stream or store state the service writes) until it holds; fail if the service died."""
    deadline = time.monotonic() + timeout
    while not await cond():
        proc.alive()
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{proc.log.read_text()[-3000:]}"
        await asyncio.sleep(0.05)
