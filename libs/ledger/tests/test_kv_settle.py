"""The KV backend's batch settle after a crash half-way: documents already written count nothing twice."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

import pytest_asyncio
from nats.js.client import JetStreamContext

from agentgov.ledger import KvLedger, Limit, SettleItem, scopes_of
from agentgov.ledger.scopedoc import SEEN_EVENTS
from agentgov.ledger.windows import NS

SCOPES = scopes_of("a1", "ml", "acme")
NOW = 1_749_556_800 * NS  # 2025-06-10T12:00:00Z


@pytest_asyncio.fixture
async def kv(js: JetStreamContext) -> AsyncIterator[KvLedger]:
    """A fresh KV ledger in its own buckets."""
    name = f"ledger_{secrets.token_hex(4)}"
    led = await KvLedger.open(js, name)
    yield led
    for bucket in (name, f"{name}_events"):
        with contextlib.suppress(Exception):
            await js.delete_key_value(bucket)


async def _spent(kv: KvLedger, scope: str) -> int:
    [u] = await kv.usage([scope], NOW + NS)
    return u.spent_usd_micros


async def test_batch_redone_after_a_crash_half_way_counts_once(kv: KvLedger) -> None:
    """A batch whose first documents were written before a crash (no batch marker yet) is redone: the written
    documents skip it, the others apply it, and the hold it names is released everywhere."""
    await kv.set_limit(Limit("team:ml", "daily", 10_000_000))
    await kv.set_limit(Limit("org:acme", "daily", 10_000_000))
    assert (await kv.reserve("r0", SCOPES, 500_000, NOW, 600 * NS)).ok
    batch = [SettleItem(f"e{i}", "r0" if i == 0 else None, SCOPES, 1_000 * (i + 1), NOW) for i in range(3)]
    assert await kv._spend("org:acme", batch) == {"e0", "e1", "e2"}  # the crash: only org:acme written
    assert await kv.settle_many(batch) == 3  # team:ml applied them now
    assert await kv.settle_many(batch) == 0
    assert await _spent(kv, "org:acme") == await _spent(kv, "team:ml") == 6_000
    assert await kv.remaining(SCOPES, NOW + NS) == 10_000_000 - 6_000


async def test_a_batch_larger_than_the_memory_is_remembered_whole(kv: KvLedger) -> None:
    """A document remembers every event of its last batch, even more than SEEN_EVENTS of them."""
    await kv.set_limit(Limit("team:ml", "monthly", 10**12))
    n = SEEN_EVENTS + 200
    batch = [SettleItem(f"e{i}", None, ["team:ml"], 1, NOW) for i in range(n)]
    assert await kv._spend("team:ml", batch) == {it.event_id for it in batch}
    assert await kv._spend("team:ml", batch[:100]) == set()
    assert await kv.settle_many(batch) == 0
    assert await _spent(kv, "team:ml") == n


async def test_two_writers_with_stale_documents_lose_nothing(kv: KvLedger, js: JetStreamContext) -> None:
    """Two ledgers on one bucket settling in turn: a settle starting from an outdated document retries and
    every spend counts once (the document cache is only a starting point)."""
    other = await KvLedger.open(js, kv._bucket)
    await kv.set_limit(Limit("team:ml", "daily", 10_000_000))
    for i in range(6):
        writer = kv if i % 2 else other
        assert (
            await writer.settle_many(
                [SettleItem(f"e{i}", None, SCOPES, 1_000, NOW), SettleItem(f"f{i}", None, SCOPES, 1, NOW)]
            )
            == 2
        )
    assert (
        await kv.settle_many([SettleItem("e4", None, SCOPES, 1_000, NOW), SettleItem("e5", None, SCOPES, 1_000, NOW)])
        == 0
    )
    assert await _spent(kv, "team:ml") == await _spent(other, "team:ml") == 6_006
