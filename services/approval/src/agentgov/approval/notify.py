"""Notifiers: tell approvers about approval events through webhooks, never holding up the service.

Two formats, one per configured URL:

- ``json`` (``AGENTGOV_APPROVAL_WEBHOOK_URL``): the event type and the approval as a JSON object;
- ``slack`` (``AGENTGOV_APPROVAL_SLACK_URL``): a Slack-compatible incoming-webhook body, ``{"text": …,
  "blocks": […]}``, with the command that approves it.

:meth:`Notifier.offer` only puts the notice on a bounded queue (when full, the notice is dropped and
counted: approvals are never delayed by a slow or dead webhook). A background task delivers each notice to
each URL, with up to ``retries`` retries and exponential backoff (``backoff_s`` doubling up to
``max_backoff_s``), at most ``concurrency`` deliveries at a time. The HTTP POST runs ``urllib`` in a worker
thread. Webhook URLs are secrets (Slack's carry a token): logs name only their scheme and host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from agentgov.approval.domain import ApprovalRecord, Notice
from agentgov.approval.errors import NotifyError

log = logging.getLogger(__name__)

Format = Literal["json", "slack"]
Post = Callable[[str, bytes, float], Awaitable[None]]
"""``post(url, body, timeout_s)``: deliver one body or raise NotifyError."""

_VERBS = {
    "ApprovalRequested": "needs approval",
    "ApprovalGranted": "was granted",
    "ApprovalDenied": "was denied",
    "ApprovalExpired": "expired",
}


@dataclass(frozen=True, slots=True)
class Target:
    """One webhook."""

    url: str
    format: Format = "json"

    @property
    def where(self) -> str:
        """The URL without path or query (which may hold a token), for logs."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(slots=True)
class NotifyStats:
    """Counters, for health and tests."""

    queued: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0


def json_body(kind: str, r: ApprovalRecord) -> bytes:
    """The generic webhook body."""
    return msgspec.json.encode(
        {
            "type": kind,
            "approval_id": r.approval_id,
            "status": r.status,
            "agent": r.agent,
            "org": r.org,
            "team": r.team,
            "action": r.action,
            "action_hash": r.action_hash,
            "rules": r.rules,
            "reasons": r.reasons,
            "risk": r.risk,
            "expires_ns": r.expires_ns,
            "fallback": r.fallback,
            "resolver": r.resolver_name or r.resolver or None,
            "reason": r.reason or None,
            "approve": f"agentgov approvals approve {r.approval_id}",
            "deny": f"agentgov approvals deny {r.approval_id} --reason '…'",
        }
    )


def slack_body(kind: str, r: ApprovalRecord) -> bytes:
    """A Slack-compatible incoming-webhook body: ``text`` (the fallback) plus ``blocks``."""
    what = " ".join(x for x in (r.action.kind, r.action.tool or "", r.action.target or "") if x)
    text = f"Approval {r.approval_id} {_VERBS.get(kind, kind)}: agent {r.agent} wants {what[:200]}"
    if kind != "ApprovalRequested":
        by = r.resolver_name or r.resolver
        text += f" ({'by ' + by if by else 'fallback ' + r.fallback}{': ' + r.reason if r.reason else ''})"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if r.reasons:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(r.reasons)[:2900]}})
    if kind == "ApprovalRequested":
        commands = (
            f"`agentgov approvals approve {r.approval_id}` · `agentgov approvals deny {r.approval_id} --reason …`"
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": commands}]})
    return msgspec.json.encode({"text": text, "blocks": blocks})


async def urllib_post(url: str, body: bytes, timeout_s: float) -> None:
    """POST ``body`` as JSON with urllib in a worker thread; NotifyError unless the answer is 2xx."""
    if not url.startswith(("http://", "https://")):
        raise NotifyError(url, "only http and https URLs are allowed")

    def post() -> None:
        req = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - scheme checked above
                resp.read()
        except urllib.error.HTTPError as exc:
            raise NotifyError(url, f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise NotifyError(url, str(getattr(exc, "reason", exc))) from None

    await asyncio.to_thread(post)


class Notifier:
    """A bounded queue of notices and the task that delivers them (see the module docstring)."""

    def __init__(
        self,
        targets: list[Target],
        *,
        queue_size: int = 1000,
        retries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        timeout_s: float = 5.0,
        concurrency: int = 4,
        post: Post = urllib_post,
    ) -> None:
        self.targets = targets
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.stats = NotifyStats()
        self._post = post
        self._queue: asyncio.Queue[Notice] = asyncio.Queue(maxsize=queue_size)
        self._slots = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    def offer(self, notice: Notice) -> bool:
        """Queue a notice for every target without waiting; False (and counted) when the queue is full."""
        if not self.targets:
            return False
        kind, record = notice
        try:
            # a snapshot: the record keeps changing in the projection while the notice waits
            self._queue.put_nowait((kind, msgspec.structs.replace(record)))
        except asyncio.QueueFull:
            self.stats.dropped += 1
            log.warning("notification queue full: %s for %s dropped", kind, record.approval_id)
            return False
        self.stats.queued += 1
        return True

    def start(self) -> None:
        """Start delivering in the background."""
        if self._task is None and self.targets:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="approval-notifier")

    async def close(self, grace_s: float = 2.0) -> None:
        """Give queued and running deliveries ``grace_s`` to finish, then cancel the rest."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await self._queue.join()
        self._task.cancel()
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(self._task, *self._deliveries, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while True:
            kind, record = await self._queue.get()
            for target in self.targets:
                await self._slots.acquire()
                task = asyncio.get_running_loop().create_task(self._deliver(target, kind, record))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)
            self._queue.task_done()

    async def _deliver(self, target: Target, kind: str, record: ApprovalRecord) -> None:
        try:
            body = slack_body(kind, record) if target.format == "slack" else json_body(kind, record)
            delay = self.backoff_s
            for attempt in range(self.retries + 1):
                try:
                    await self._post(target.url, body, self.timeout_s)
                except NotifyError as exc:
                    if attempt == self.retries:
                        self.stats.failed += 1
                        log.warning(
                            "%s for %s not delivered to %s after %d tries: %s",
                            kind,
                            record.approval_id,
                            target.where,
                            attempt + 1,
                            exc.why,
                        )
                        return
                    self.stats.retried += 1
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_backoff_s)
                else:
                    self.stats.delivered += 1
                    return
        finally:
            self._slots.release()
