"""Reading GOV for the approval service: decisions and approval events, in order, from a kept position.

One ordered push consumer filtered to :data:`SUBJECTS`, started after the position the store committed
(so a restart resumes exactly there and a rebuild starts at 1). Each batch comes with whether the service
has *caught up*: seen every matching message the stream held when it subscribed. Until then the service
appends nothing (an ApprovalRequested or ApprovalExpired further along the stream may already exist). When
the stream is idle an empty batch comes every ``idle_every`` seconds, so expiries are checked on time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Final

from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext

from agentgov.contracts.streams import GOV
from agentgov.streaming.reader import StoredMsg

SUBJECTS: Final[tuple[str, ...]] = ("gov.decision.*", "gov.approval.*")


def _position(reply: str) -> tuple[int, int, int]:
    """Stream sequence, store time (ns) and pending count from a JetStream ack subject (9 or 12 tokens)."""
    t = reply.split(".")
    if len(t) == 9:
        return int(t[5]), int(t[7]), int(t[8])
    return int(t[7]), int(t[9]), int(t[10])


async def follow(
    js: JetStreamContext,
    *,
    start_seq: int,
    stream: str = GOV,
    subjects: tuple[str, ...] = SUBJECTS,
    batch: int = 500,
    max_wait: float = 0.05,
    idle_every: float = 1.0,
) -> AsyncGenerator[tuple[list[StoredMsg], bool], None]:
    """Yield ``(messages, caught_up)`` forever (see the module docstring); ``caught_up`` never goes back."""
    pending: list[StoredMsg] = []
    ready = asyncio.Event()
    caught_up = False
    last_pending = -1

    async def on_msg(msg: Msg) -> None:
        nonlocal last_pending
        seq, ts, left = _position(msg.reply)
        pending.append(StoredMsg(seq, msg.subject, msg.data, ts))
        last_pending = left
        if len(pending) >= batch or left == 0:
            ready.set()

    config = api.ConsumerConfig(
        deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=max(start_seq, 1),
        filter_subjects=list(subjects),
    )
    sub = await js.subscribe(
        "",
        stream=stream,
        cb=on_msg,
        ordered_consumer=True,
        config=config,
        idle_heartbeat=2.0,
        pending_msgs_limit=batch * 64,
    )
    info = await sub.consumer_info()
    if not info.num_pending and not pending:
        caught_up = True
    loop = asyncio.get_running_loop()
    idle_since = loop.time()
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), min(max_wait, idle_every) if pending else idle_every)
            ready.clear()
            if not pending:
                if loop.time() - idle_since >= idle_every or caught_up:
                    idle_since = loop.time()
                    yield [], caught_up
                continue
            out = pending[:]
            pending.clear()
            caught_up = caught_up or last_pending == 0
            idle_since = loop.time()
            yield out, caught_up
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
