"""Following recorded decisions: ``Client.decisions()`` for dashboards and responders.

It reads the GOV stream with a JetStream ordered push consumer (flow-controlled, re-created by nats-py on a
gap or a missed heartbeat), filtered to ``gov.decision.<agent>`` or ``gov.decision.*``, starting with new
events or at a point in time. Each message is a signed frame; this reads the event it carries and does
**not** check the producer's signature or hash chain: ``agentgov audit verify`` does that, over the whole
stream. Events of types this build does not know, and bytes that are not events, are skipped.

Reading JetStream needs an operator or service login; agents' NATS users cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncGenerator

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import api

from agentgov.contracts import codec, subjects
from agentgov.contracts.errors import ContractError
from agentgov.contracts.events import ActionDecided
from agentgov.contracts.ids import check_token
from agentgov.contracts.streams import GOV

log = logging.getLogger(__name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
BUFFER = 1024
"""Decoded-but-unread messages held before the consumer's flow control slows the server down."""


def start_time(since: dt.datetime | int) -> dt.datetime:
    """A consumer start time from a datetime (naive means local time) or Unix nanoseconds."""
    if isinstance(since, dt.datetime):
        return since.astimezone(dt.UTC)
    return _EPOCH + dt.timedelta(microseconds=since // 1000)


async def follow(
    nc: NATS,
    *,
    agent: str | None = None,
    team: str | None = None,
    org: str | None = None,
    since: dt.datetime | int | None = None,
    stream: str = GOV,
) -> AsyncGenerator[ActionDecided, None]:
    """Yield ActionDecided events as they are recorded (from ``since``, else only new ones), filtered."""
    subject = subjects.decision(agent) if agent is not None else f"{subjects.PREFIX}.decision.*"
    team = check_token("team", team) if team is not None else None
    org = check_token("org", org) if org is not None else None
    if since is None:
        config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.NEW)
    else:
        config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_TIME, opt_start_time=start_time(since))
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=BUFFER)

    async def on_msg(msg: Msg) -> None:
        await queue.put(msg.data)

    sub = await nc.jetstream().subscribe(
        subject, stream=stream, cb=on_msg, ordered_consumer=True, config=config, idle_heartbeat=2.0
    )
    skipped = 0
    try:
        while True:
            data = await queue.get()
            try:
                body, _ = codec.split(data)
                event = codec.decode_event(body)
            except ContractError as exc:
                skipped += 1
                log.debug("skipping a message on %s that is not a known event: %s", subject, exc)
                continue
            if not isinstance(event, ActionDecided):
                continue
            if (team is not None and event.team != team) or (org is not None and event.org != org):
                continue
            yield event
    finally:
        if skipped:
            log.info("decisions(): skipped %d message(s) that were not known events", skipped)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
