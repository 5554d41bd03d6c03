"""Choosing a backend: Redis when a URL is configured (``AGENTGOV_REDIS_URL``), else JetStream KV."""

from __future__ import annotations

from nats.js.client import JetStreamContext

from agentgov.ledger.kv import DEFAULT_BUCKET, KvLedger
from agentgov.ledger.port import Ledger
from agentgov.ledger.redis import DEFAULT_PREFIX, RedisLedger


async def open_ledger(
    js: JetStreamContext,
    redis_url: str | None = None,
    *,
    redis_prefix: str = DEFAULT_PREFIX,
    bucket: str = DEFAULT_BUCKET,
) -> Ledger:
    """The Redis ledger at ``redis_url`` when given, else the KV ledger in ``bucket`` (created if needed)."""
    if redis_url:
        return RedisLedger.from_url(redis_url, prefix=redis_prefix)
    return await KvLedger.open(js, bucket)
