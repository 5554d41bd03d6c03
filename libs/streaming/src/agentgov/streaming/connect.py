"""Connecting to NATS with the options every agentgov process wants."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client

from agentgov.streaming.home import Runtime

log = logging.getLogger(__name__)


async def connect(rt: Runtime, *, name: str, inbox_prefix: str | None = None, connect_timeout: float = 5.0) -> Client:
    """Connect with reconnects forever, so a NATS restart pauses a service instead of killing it."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats: %s", exc)

    async def on_disconnect() -> None:
        log.warning("nats: disconnected from %s; reconnecting", rt.url)

    async def on_reconnect() -> None:
        log.info("nats: reconnected to %s", rt.url)

    kwargs: dict[str, object] = {
        "servers": [rt.url],
        "name": name,
        "connect_timeout": connect_timeout,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
        "allow_reconnect": True,
    }
    if rt.user:
        kwargs["user"] = rt.user
        kwargs["password"] = rt.password or ""
    if inbox_prefix:
        kwargs["inbox_prefix"] = inbox_prefix
    return await nats.connect(**kwargs)  # type: ignore[arg-type]
