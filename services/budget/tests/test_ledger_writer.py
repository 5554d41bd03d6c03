"""The projector's ledger writer: batches applied while the ledger lags are committed in the intent and
settled together, in order, and redoing a committed intent after a crash counts nothing twice."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.js.client import JetStreamContext

from agentgov.budget.domain import BudgetProjection, Effects
from agentgov.budget.handlers import Projector
from agentgov.budget.state import LedgerOp, LimitRow, decode_state, encode_state, key
from agentgov.contracts.events import Action, ActionDecided, AgentRegistered, SpendRecorded
from agentgov.contracts.events_budget import BudgetWindow
from agentgov.identity.operators import TrustStore
from agentgov.ledger import KvLedger, Limit, SettleItem
from agentgov.streaming.producer import ChainedProducer

NOW = 1_749_556_800 * 10**9  # 2025-06-10T12:00:00Z
LIMITS: list[tuple[str, BudgetWindow]] = [("team:t", "daily"), ("org:o", "monthly")]


class GatedLedger(KvLedger):
    """A real KV ledger whose settles wait for a gate, recording the items of each call."""

    gate: asyncio.Event
    calls: list[list[str]]

    async def settle_many(self, items: Sequence[SettleItem]) -> int:
        self.calls.append([it.event_id for it in items])
        await self.gate.wait()
        return await super().settle_many(items)


def _batch(p: BudgetProjection, first: int, n: int) -> Effects:
    """Apply ``n`` spends (the first one after the decision that reserved for it) as one batch."""
    fx = Effects()
    scopes = ["team:t", "org:o"]
    decided = ActionDecided(
        ts=NOW, agent="a", team="t", org="o", request_id=f"r{first}", verdict="allow", claim="evaluated",
        action=Action(kind="llm_call", tool="chat", target="m"), reserved_usd_micros=500, budget_scopes=scopes,
    )  # fmt: skip
    p.apply(decided, 100 + 2 * first, "gov.decision.a", fx)
    for i in range(first, first + n):
        ev = SpendRecorded(id=f"s{i}", ts=NOW + i, agent="a", model="m", usd_micros=10 + i, request_id=f"r{i}")
        p.apply(ev, 101 + 2 * i, "gov.spend.a", fx)
    return fx


async def test_lagging_ledger_gets_later_batches_together_and_a_redo_counts_once(js: JetStreamContext) -> None:
    """Three batches finish while the first settle waits: each commit's intent holds every write not yet made,
    batches two and three go to the ledger in one settle_many, and the ledger ends equal to the projection;
    redoing the last committed intent (a crash before it cleared) changes nothing."""
    bucket = f"bw_{secrets.token_hex(4)}"
    base = await KvLedger.open(js, bucket)
    ledger = GatedLedger(js, base._docs, base._events, bucket=bucket, events_ttl_s=3600)
    ledger.gate, ledger.calls = asyncio.Event(), []
    proj = BudgetProjection(TrustStore(), hold_ttl_ns=3600 * 10**9)
    proj.apply(AgentRegistered(agent="a", team="t", org="o"), 1)
    for scope, window in LIMITS:
        proj.state.limits[key(scope, window)] = LimitRow(scope=scope, window=window, limit_usd_micros=10**9)
        await ledger.set_limit(Limit(scope, window, 10**9))
    commits: list[list[LedgerOp]] = []

    async def commit() -> None:
        commits.append(decode_state(encode_state(proj.state)).intent)

    producer = ChainedProducer(js, Ed25519PrivateKey.generate(), role="budget")
    projector = Projector(proj, ledger, producer, commit, clock=lambda: NOW)
    await projector.finish(_batch(proj, 0, 5), proj.state.position)
    while not ledger.calls:  # let the writer take the first batch and block on the gate
        await asyncio.sleep(0)
    for first in (5, 10):
        await projector.finish(_batch(proj, first, 5), proj.state.position)
    n = len(commits[0])
    assert n > 0 and [len(c) for c in commits] == [n, 2 * n, 3 * n]
    assert projector.busy and len(ledger.calls) == 1
    ledger.gate.set()
    await projector.flush()
    assert len(ledger.calls) == 2 and not proj.state.intent and not projector.busy
    assert set(ledger.calls[1]) == {op.event_id for op in commits[-1]} - set(ledger.calls[0])
    for scope, window in LIMITS:
        [u] = await ledger.usage([scope], NOW + 100)
        assert u.spent_usd_micros == proj.spent(scope, window, NOW + 100) == sum(10 + i for i in range(15))
        assert u.reserved_usd_micros == 0
    await projector.write_ledger(commits[-1])
    for scope, window in LIMITS:
        assert [u.spent_usd_micros for u in await ledger.usage([scope], NOW + 100)] == [
            proj.spent(scope, window, NOW + 100)
        ]
    for name in (bucket, f"{bucket}_events"):
        await js.delete_key_value(name)
