"""The ``ledger`` fixture: each conformance test runs once on Redis and once on JetStream KV (real servers)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.js.client import JetStreamContext

from agentgov.ledger import KvLedger, Ledger, RedisLedger


@pytest_asyncio.fixture(params=["redis", "kv"])
async def ledger(request: pytest.FixtureRequest, js: JetStreamContext) -> AsyncIterator[Ledger]:
    """A fresh, empty ledger on the backend named by the parameter."""
    name = secrets.token_hex(4)
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        prefix: str = request.getfixturevalue("redis_prefix")
        led: Ledger = RedisLedger.from_url(url, prefix=f"{prefix}ledger-{name}:")
    else:
        led = await KvLedger.open(js, f"ledger_{name}")
    yield led
    await led.reset()
    if isinstance(led, KvLedger):
        for bucket in (f"ledger_{name}", f"ledger_{name}_events"):
            with contextlib.suppress(Exception):
                await js.delete_key_value(bucket)
    await led.close()
