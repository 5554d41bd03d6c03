"""SyncClient: the same checks from plain threads, over a loop of its own."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agentgov.sdk import SyncClient, actions, trace

from .conftest import AGENT, TOKEN, Responders


async def test_sync_round_trip_and_trace(sync_client: SyncClient, responder: Responders) -> None:
    """check() blocks for the Decision; a trace set in the calling thread is carried."""
    r = await responder()

    def work() -> tuple[str, str]:
        with trace() as tid:
            d = sync_client.check(actions.shell("ls"), session="s1")
        return tid, d.verdict

    tid, verdict = await asyncio.to_thread(work)
    assert verdict == "allow" and sync_client.agent == AGENT
    (req,) = r.unique
    assert req.trace_id == tid and req.token == TOKEN and req.session == "s1" and req.attempt == 1


async def test_sync_checks_from_many_threads(sync_client: SyncClient, responder: Responders) -> None:
    """Checks from many threads at once each get their own Decision."""
    r = await responder()

    def many() -> list[str]:
        with ThreadPoolExecutor(8) as pool:
            return [d.request_id for d in pool.map(lambda i: sync_client.check(actions.shell(f"echo {i}")), range(40))]

    ids = await asyncio.to_thread(many)
    assert set(ids) == {q.request_id for q in r.requests} and len(set(ids)) == 40


async def test_sync_fails_closed(sync_client: SyncClient) -> None:
    """No policy listening: the sync check returns the policy_unavailable deny within its deadline."""
    started = time.monotonic()
    d = await asyncio.to_thread(sync_client.check, actions.shell("ls"), timeout=0.2)
    assert d.code == "policy_unavailable" and time.monotonic() - started < 0.6


async def test_sync_close_stops_the_thread(agent_credentials: Path) -> None:
    """close() (or leaving the with block) stops the loop thread; checks after it deny, close is idempotent."""
    before = {t.ident for t in threading.enumerate()}

    def lifecycle() -> str | None:
        with SyncClient.connect(credentials=agent_credentials) as c:
            assert c.is_connected
        c.close()
        return c.check(actions.shell("ls")).code

    assert await asyncio.to_thread(lifecycle) == "policy_unavailable"
    assert not [t for t in threading.enumerate() if t.ident not in before and t.name == "agentgov-sdk"]
