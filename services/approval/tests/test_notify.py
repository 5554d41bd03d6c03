"""Notifiers against a real local HTTP server: retries with backoff, Slack format, and never blocking."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentgov.approval.domain import ApprovalRecord
from agentgov.approval.notify import Notifier, Target
from agentgov.contracts.events import Action


class Recorder:
    """A local HTTP server that fails the first ``failures`` POSTs with 500, then answers 204."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.paths: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.attempts += 1
                recorder.paths.append(self.path)
                if recorder.attempts <= recorder.failures:
                    self.send_response(500)
                else:
                    recorder.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook/T0K3N"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop the server."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A server that fails twice, then succeeds."""
    r = Recorder(failures=2)
    yield r
    r.close()


def record() -> ApprovalRecord:
    """A pending approval."""
    return ApprovalRecord(
        approval_id="0190-a",
        agent="a1",
        org="acme",
        action_hash="cd" * 32,
        action=Action(kind="mcp_tool", tool="deploy", target="prod"),
        reasons=["tool deploy has risk 60"],
        expires_ns=1,
    )


async def wait_until(cond: Any, timeout: float = 10.0) -> None:
    """Poll until ``cond()`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_failing_webhook_gets_the_notification_on_the_third_try(recorder: Recorder) -> None:
    """500, 500, then 2xx: delivered once, after two retries."""
    n = Notifier([Target(recorder.url)], retries=3, backoff_s=0.01)
    n.start()
    assert n.offer(("ApprovalRequested", record()))
    await wait_until(lambda: n.stats.delivered == 1)
    await n.close()
    assert recorder.attempts == 3 and n.stats.retried == 2 and n.stats.failed == 0
    body = recorder.bodies[0]
    assert body["type"] == "ApprovalRequested" and body["approval_id"] == "0190-a" and body["agent"] == "a1"
    assert body["approve"] == "agentgov approvals approve 0190-a"


async def test_the_slack_format_has_text_and_blocks() -> None:
    """A Slack webhook gets {"text", "blocks"} naming the approval and the command that approves it."""
    server = Recorder()
    try:
        n = Notifier([Target(server.url, "slack")], retries=0)
        n.start()
        n.offer(("ApprovalRequested", record()))
        await wait_until(lambda: n.stats.delivered == 1)
        await n.close()
    finally:
        server.close()
    body = server.bodies[0]
    assert "0190-a" in body["text"] and "needs approval" in body["text"]
    assert any("agentgov approvals approve 0190-a" in str(b) for b in body["blocks"])


async def test_a_dead_webhook_never_blocks_and_a_full_queue_drops() -> None:
    """offer() returns at once even when nothing listens; over the queue size notices are dropped, counted."""
    server = Recorder()
    dead = server.url
    server.close()  # nothing listens there any more: connection refused
    n = Notifier([Target(dead)], queue_size=2, retries=2, backoff_s=0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = [n.offer(("ApprovalRequested", record())) for _ in range(5)]
    assert loop.time() - started < 0.05
    assert results == [True, True, False, False, False] and n.stats.dropped == 3
    n.start()
    await wait_until(lambda: n.stats.failed == 2)
    await n.close()
    assert n.stats.delivered == 0 and n.stats.retried == 4
