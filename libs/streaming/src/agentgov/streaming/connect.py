"""Connecting to NATS with the options every agentgov process wants."""

from __future__ import annotations

import logging
from typing import Any

from nats.aio.client import Client

from agentgov.streaming.home import Runtime

log = logging.getLogger(__name__)


async def connect(rt: Runtime, *, name: str, inbox_prefix: str | None = None, connect_timeout: float = 5.0) -> Client:
    """Connect with reconnects forever, so a NATS restart pauses a service instead of killing it."""
    client = Client()

    async def on_error(exc: Exception) -> None:
        log.warning("nats (%s): %s", name, exc)

    async def on_disconnect() -> None:
        if not client.is_closed and not client.is_draining:
            log.warning("nats (%s): disconnected from %s; reconnecting", name, rt.url)

    async def on_reconnect() -> None:
        log.info("nats (%s): reconnected to %s", name, rt.url)

    options: dict[str, Any] = {
        "servers": [u.strip() for u in rt.url.split(",") if u.strip()],
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
        options["user"] = rt.user
        options["password"] = rt.password or ""
    prefix = inbox_prefix or rt.inbox_prefix
    if prefix:
        options["inbox_prefix"] = prefix
    return await open_client(client, **options)


async def open_client(client: Client | None = None, **options: Any) -> Client:
    """``client.connect`` that closes the socket a failed first connect leaves open (nats-py leaks it)."""
    client = client or Client()
    try:
        await client.connect(**options)
    except BaseException:
        await client.close()
        raise
    return client


async def drain_or_close(nc: Client) -> None:
    """Drain a connection at shutdown (pending publishes flushed, subscriptions ended); close it if that fails."""
    try:
        await nc.drain()
    except Exception as exc:
        log.warning("nats drain at shutdown failed (%s); closing", exc)
        await nc.close()
