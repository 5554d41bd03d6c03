"""Feeding the projection from JetStream, and the replica's local files (salt).

:class:`Follower` reads GOV subjects with one ordered push consumer, applies each event to the
:class:`~agentgov.policy.projection.Projection` as it arrives, and sets :attr:`Follower.ready` once it has
caught up with what the stream held when it started. A replica runs two: one over the subjects the policy
depends on (``gov.policy``, ``gov.registry.*``, ``gov.anomaly.*``) from the first message, which is small
(registry, pauses, bundles) and rebuilt at every start; and one over the decisions (``gov.decision.*``)
from ``now - session ttl``, which rebuilds session taint and keeps it in step with the other replicas. A
new bundle reaches every replica within one delivery (milliseconds), and a replica never serves requests
against a half-loaded registry or half-rebuilt sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext

from agentgov.contracts import codec
from agentgov.contracts.errors import DecodeError
from agentgov.contracts.streams import GOV
from agentgov.policy.projection import Projection

log = logging.getLogger(__name__)

SUBJECTS: Final[tuple[str, ...]] = ("gov.policy", "gov.registry.*", "gov.anomaly.*")
"""What the policy projection reads from the start of the stream."""
DECISIONS: Final[tuple[str, ...]] = ("gov.decision.*",)
"""What session taint is rebuilt from (a window of the stream)."""


class Follower:
    """Applies the policy's subjects to a projection, live."""

    def __init__(
        self,
        js: JetStreamContext,
        projection: Projection,
        *,
        stream: str = GOV,
        subjects: tuple[str, ...] = SUBJECTS,
        since_ns: int | None = None,
    ) -> None:
        """Follow ``subjects`` from the first message, or from the time ``since_ns`` when given."""
        self._js = js
        self._projection = projection
        self._stream = stream
        self._subjects = subjects
        self._since_ns = since_ns
        self._sub: object | None = None
        self.ready = asyncio.Event()
        self.applied = 0
        self.skipped = 0

    async def start(self) -> None:
        """Subscribe; :attr:`ready` is set once caught up."""
        if self._since_ns is None:
            config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL, filter_subjects=list(self._subjects))
        else:
            config = api.ConsumerConfig(
                deliver_policy=api.DeliverPolicy.BY_START_TIME,
                opt_start_time=datetime.fromtimestamp(self._since_ns / 1e9, UTC),
                filter_subjects=list(self._subjects),
            )
        sub = await self._js.subscribe(
            "",
            stream=self._stream,
            cb=self._on_msg,
            ordered_consumer=True,
            config=config,
            idle_heartbeat=2.0,
        )
        self._sub = sub
        info = await sub.consumer_info()
        if not info.num_pending and not (info.delivered and info.delivered.consumer_seq):
            self.ready.set()  # nothing to load; otherwise the message with 0 pending sets it

    async def stop(self) -> None:
        """Unsubscribe."""
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()  # type: ignore[attr-defined]

    async def _on_msg(self, msg: Msg) -> None:
        seq, pending = _position(msg.reply)
        try:
            body, _ = codec.split_lazy(msg.data)
            event = codec.decode_event(body)
        except DecodeError:
            self.skipped += 1  # unknown types (newer producers) and malformed bytes; audit diagnoses them
        else:
            self._projection.apply(event, seq)
            self.applied += 1
        if pending == 0:
            self.ready.set()


def _position(reply: str) -> tuple[int, int]:
    """Stream sequence and pending count from a JetStream ack subject (9- or 12-token form)."""
    tokens = reply.split(".")
    if len(tokens) == 9:
        return int(tokens[5]), int(tokens[8])
    return int(tokens[7]), int(tokens[10])


def load_or_create_salt(path: Path) -> bytes:
    """The deployment's redaction salt (32 random bytes, mode 0600), created on first run.

    Every replica of one deployment should share it, so the same secret hashes the same everywhere.
    """
    if path.exists():
        data = path.read_bytes()
        if len(data) >= 16:
            return data
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = secrets.token_bytes(32)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return data
