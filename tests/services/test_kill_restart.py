"""kill -9 and restart, for real: the budget, approval and anomaly services run as processes
(``agentgov run <service>``) while input streams in; each is SIGKILLed twice with work in flight (after some
of its output is on the stream, before the input is finished), started again, and left to catch up. Then
the stream itself must show every input applied exactly once: nothing lost, nothing applied twice."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.errors import NoRespondersError
from nats.js.errors import NotFoundError

from agentgov.anomaly.domain import Anomalies
from agentgov.anomaly.traces import Trace
from agentgov.approval.store import open_store
from agentgov.audit.verify import verify_stream
from agentgov.budget.limits import LIMIT_SCOPE_PREFIX, PRICING_SCOPE, limit_digest
from agentgov.budget.pricing import parse_pricing
from agentgov.budget.state import decode_state
from agentgov.budget.store import BUCKET as STATE_BUCKET
from agentgov.budget.store import KEY as STATE_KEY
from agentgov.contracts import crypto, subjects
from agentgov.contracts.envelope import Event
from agentgov.contracts.events import (
    Action,
    ActionDecided,
    AgentPaused,
    AgentRegistered,
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    ApprovalRequested,
    SpendRecorded,
)
from agentgov.contracts.events_anomaly import AnomalyDetected
from agentgov.contracts.events_approval import action_hash
from agentgov.contracts.events_budget import (
    LIMITS_SUBJECT,
    PRICING_SUBJECT,
    BudgetAlert,
    BudgetExceeded,
    BudgetLimitSet,
    BudgetReset,
    PricingPublished,
)
from agentgov.contracts.ids import uuid7
from agentgov.contracts.requests import SpendReceipt
from agentgov.ledger.kv import DEFAULT_BUCKET as LEDGER_BUCKET
from agentgov.ledger.open import open_ledger
from agentgov.sdk import SpendRefused
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import last_seq
from agentgov.testing.policy import Gov

from .conftest import ServiceProcess, StartService, count_on, eventually, stream_events

pytestmark = pytest.mark.slow

NS = 1_000_000_000


async def _kill_at(proc: ServiceProcess, when: Callable[[], Awaitable[bool]], what: str) -> None:
    """SIGKILL ``proc`` once ``when`` holds, then start it again at once."""
    await eventually(when, proc, what)
    proc.kill9()
    proc.start()


# --- budget -------------------------------------------------------------------------------------------

PRICING = "version: 1\nmodels:\n  m1: {provider: test, input: 1.00, output: 2.00}\n"
"""One input token of m1 costs one micro-dollar."""
AGENTS = {"a1": "pay", "a2": "pay", "a3": "ops"}
REPORTS_PER_AGENT = 80


def _tokens(agent: str, i: int) -> int:
    return 1000 + (i * 37 + len(agent) * 11 + ord(agent[-1])) % 500


async def _publish_pricing(world: Gov) -> None:
    sha = hashlib.sha256(PRICING.encode()).hexdigest()
    event = PricingPublished(
        revision=1,
        prices=parse_pricing(PRICING),
        source=PRICING,
        sha256=sha,
        signer=crypto.key_id(crypto.public_key_text(world.operator)),
        signature=crypto.sign_policy(world.operator, PRICING_SCOPE, 1, sha),
    )
    await world.append(PRICING_SUBJECT, event)


async def _set_limit(world: Gov, scope: str, window: str, usd_micros: int) -> None:
    event = BudgetLimitSet(
        scope=scope,
        window=window,  # type: ignore[arg-type]
        limit_usd_micros=usd_micros,
        tz="UTC",
        signer=crypto.key_id(crypto.public_key_text(world.operator)),
        signature=crypto.sign_policy(
            world.operator, LIMIT_SCOPE_PREFIX + scope, 0, limit_digest(scope, window, usd_micros, "UTC", 0)
        ),
    )
    await world.append(LIMITS_SUBJECT, event)


async def _report_all(world: Gov, agent: str, receipts: dict[str, SpendReceipt], refused: list[str]) -> None:
    """Report REPORTS_PER_AGENT usages, each retried with its report id until a receipt comes back."""
    async with await world.sdk(agent) as client:
        for i in range(REPORTS_PER_AGENT):
            report_id = f"{agent}-r{i:03d}"
            while True:
                try:
                    receipts[report_id] = await client.record_spend(
                        "m1", input_tokens=_tokens(agent, i), report_id=report_id, timeout=1.0
                    )
                    break
                except (TimeoutError, NoRespondersError):
                    await asyncio.sleep(0.05)  # the service is down or restarting: retry the same report
                except SpendRefused as exc:  # only "unavailable" (could not record) is expected: checked after
                    refused.append(exc.receipt.error or "")
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.004)  # paced, so the kills land while reports are still coming


async def test_budget_killed_twice_while_spend_streams_in(gov_world: Gov, service: StartService) -> None:
    """Budget SIGKILLed at its first alert and again mid-stream: one SpendRecorded per report, projection
    and ledger spend equal the recorded sum per scope, every alert/exceeded/reset at most once per window."""
    world, js = gov_world, gov_world.js
    now = time.time()
    if 86_400 - now % 86_400 < 30:  # one daily window for the whole test
        await asyncio.sleep(86_400 - now % 86_400 + 0.5)
    for bucket in (LEDGER_BUCKET, f"{LEDGER_BUCKET}_events", STATE_BUCKET):  # the defaults `run budget` uses
        with contextlib.suppress(NotFoundError):
            await js.delete_key_value(bucket)
    for agent, team in AGENTS.items():
        await world.register(agent, org="acme", team=team)
    await _publish_pricing(world)
    totals = {a: sum(_tokens(a, i) for i in range(REPORTS_PER_AGENT)) for a in AGENTS}
    pay, total = totals["a1"] + totals["a2"], sum(totals.values())
    limits = {
        ("agent:a1", "daily"): totals["a1"] // 2,  # 80, 95 and exceeded early
        ("team:pay", "monthly"): pay * 100 // 97,  # 80 and 95, not exceeded
        ("org:acme", "monthly"): total * 100 // 110,  # 80, 95 and exceeded near the end
        ("agent:a3", "monthly"): totals["a3"] * 100 // 85,  # 80 only
    }
    for (scope, window), usd in limits.items():
        await _set_limit(world, scope, window, usd)

    proc = service("budget")
    proc.start()
    receipts: dict[str, SpendReceipt] = {}
    refused: list[str] = []
    feeding = asyncio.gather(*(_report_all(world, a, receipts, refused) for a in AGENTS))
    try:

        async def first_alert() -> bool:
            return await count_on(js, "gov.budget.>", besides=(LIMITS_SUBJECT, PRICING_SUBJECT)) > 0

        await _kill_at(proc, first_alert, "the first budget alert")

        async def most_reported() -> bool:
            return len(receipts) >= len(AGENTS) * REPORTS_PER_AGENT * 2 // 3

        await _kill_at(proc, most_reported, "two thirds of the reports")
        assert not feeding.done(), "the input was finished before the second kill"
        await feeding
    finally:
        if not feeding.done():
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding

    spent = [ev for _, ev in await stream_events(js, SpendRecorded)]
    by_scope: Counter[str] = Counter()
    for ev in spent:
        for scope in (f"agent:{ev.agent}", f"team:{ev.team}", f"org:{ev.org}", "global"):
            by_scope[scope] += ev.usd_micros
    ledger = await open_ledger(js, None, bucket=LEDGER_BUCKET)
    state_kv = await js.key_value(STATE_BUCKET)

    limited = sorted({scope for scope, _ in limits})

    async def settled() -> bool:  # caught up, and the ledger writes made (or overshot: asserted below)
        state = decode_state((await state_kv.get(STATE_KEY)).value or b"")
        if state.position < await last_seq(js, "GOV"):
            return False
        usage = await ledger.usage(limited, time.time_ns())
        return all(u.spent_usd_micros >= by_scope[u.scope] for u in usage)

    await eventually(settled, proc, "the projection and the ledger to catch up")
    state = decode_state((await state_kv.get(STATE_KEY)).value or b"")
    assert dict(state.spent_total) == dict(by_scope)  # the projection counts every spend once
    assert proc.stop() == 0
    assert proc.kills == 2

    assert set(refused) <= {"unavailable"}, refused
    assert (await verify_stream(js)).first_bad is None  # every chain intact, the killed producers' too
    # every report recorded exactly once, and each receipt names the one event recorded for it
    assert len(spent) == len(receipts) == len(AGENTS) * REPORTS_PER_AGENT
    assert Counter(ev.id for ev in spent) == Counter({r.event_id: 1 for r in receipts.values()})
    assert {a: by_scope[f"agent:{a}"] for a in AGENTS} == totals
    assert by_scope["global"] == total
    # the ledger (what the policy reserves against) counts every spend once
    usage = await ledger.usage(limited, time.time_ns())
    assert {(u.scope, u.window): u.spent_usd_micros for u in usage} == {k: by_scope[k[0]] for k in limits}
    await ledger.close()
    # alerts, exceeded and resets: at most once per (scope, window, window start, threshold), and all there
    alerts = Counter(
        (e.scope, e.window, e.window_start_ns, e.threshold_pct) for _, e in await stream_events(js, BudgetAlert)
    )
    exceeded = Counter((e.scope, e.window, e.window_start_ns) for _, e in await stream_events(js, BudgetExceeded))
    resets = Counter((e.scope, e.window, e.window_start_ns) for _, e in await stream_events(js, BudgetReset))
    assert max([*alerts.values(), *exceeded.values(), *resets.values()]) == 1, (alerts, exceeded, resets)
    assert sorted((s, w, p) for s, w, _, p in alerts) == sorted(
        (s, w, p) for (s, w), lim in limits.items() for p in (80, 95) if by_scope[s] * 100 >= lim * p
    )
    assert sorted((s, w) for s, w, _ in exceeded) == sorted(
        (s, w) for (s, w), lim in limits.items() if by_scope[s] > lim
    )


# --- approval -----------------------------------------------------------------------------------------

CHUNK = 10


def _review(i: int, now_ns: int) -> ActionDecided:
    """A review decision: even ones were decided 10 minutes ago with a 60 s timeout (due to expire at once),
    odd ones now with 15 minutes (resolved by an approver, or left pending)."""
    agent = ("demo", "other")[i % 3 == 0]
    expiring = i % 2 == 0
    return ActionDecided(
        id=uuid7(),
        ts=now_ns - 600 * NS if expiring else now_ns,
        agent=agent,
        team="pay",
        org="acme",
        request_id=f"req-{i:03d}",
        action=Action(kind="shell", tool="shell", target=f"deploy --shard {i}"),
        verdict="review",
        claim="evaluated",
        risk=60,
        reasons=["deploy needs a human"],
        approval_timeout_s=60 if expiring else 900,
        approval_fallback="deny",
    )


class Approver:
    """Appends signed resolutions, as `agentgov approvals approve|deny` would."""

    def __init__(self, world: Gov) -> None:
        self.world = world
        self.producer = ChainedProducer(world.js, Ed25519PrivateKey.generate(), role="operator")
        self.kid = crypto.key_id(crypto.public_key_text(world.operator))
        self.resolved: dict[str, str] = {}
        self.registered = False

    async def resolve_requested(self, decisions: dict[str, ActionDecided], *, leave: Collection[str] = ()) -> None:
        """Grant or deny (two in three granted) every long approval requested on the stream and not resolved."""
        if not self.registered:
            await self.producer.register()
            self.registered = True
        for _, req in await stream_events(self.world.js, ApprovalRequested):
            d = decisions[req.approval_id]
            if req.approval_id in self.resolved or req.approval_id in leave or d.approval_timeout_s == 60:
                continue
            grant = len(self.resolved) % 3 != 2
            how = "granted" if grant else "denied"
            h = action_hash(req.agent or "", d.action)
            sig = crypto.sign_approval(self.world.operator, req.approval_id, h, how)
            kind = ApprovalGranted if grant else ApprovalDenied
            event = kind(
                agent=req.agent, team="pay", org="acme", approval_id=req.approval_id, action_hash=h,
                approver=self.kid, approver_name="test", reason="kill test", signature=sig,
            )  # fmt: skip
            await self.producer.publish(subjects.approval(req.agent or ""), event)
            self.resolved[req.approval_id] = how


async def test_approval_killed_twice_while_reviews_stream_in(gov_world: Gov, service: StartService) -> None:
    """Approval SIGKILLed once requests appear and again while expiries are appended: exactly one
    ApprovalRequested per review, one ApprovalExpired per unresolved expiring one, the SQL history matches."""
    world, js = gov_world, gov_world.js
    policy = ChainedProducer(js, Ed25519PrivateKey.generate(), role="policy")
    await policy.register()
    decisions: dict[str, ActionDecided] = {}

    async def feed(first: int, last: int) -> None:
        now = time.time_ns()
        for i in range(first * CHUNK, last * CHUNK):
            d = _review(i, now)
            decisions[d.id] = d
            if i % 4 == 1:  # an ordinary allow between reviews: not an approval
                allow = msgspec.structs.replace(d, id=uuid7(), verdict="allow", approval_timeout_s=None)
                await policy.publish_nowait(subjects.decision(d.agent or ""), allow)
            await policy.publish_nowait(subjects.decision(d.agent or ""), d)
        await policy.flush()

    def expiring() -> set[str]:
        return {k for k, d in decisions.items() if d.approval_timeout_s == 60}

    proc = service("approval")
    approver = Approver(world)
    proc.start()
    await feed(0, 3)

    async def some_requested() -> bool:
        return await count_on(js, "gov.approval.*") >= 8

    await _kill_at(proc, some_requested, "the first ApprovalRequested")
    await feed(3, 6)
    await approver.resolve_requested(decisions)

    async def expiring_later_chunks() -> bool:
        n = len(await stream_events(js, ApprovalExpired))
        return n >= 3 * CHUNK // 2 + 3

    await _kill_at(proc, expiring_later_chunks, "expiries of the second feed")
    await feed(6, 9)

    async def all_requested() -> bool:
        return len(await stream_events(js, ApprovalRequested)) >= len(decisions)

    await eventually(all_requested, proc, "every review requested")
    pending = {k for k, d in decisions.items() if d.request_id >= f"req-{8 * CHUNK:03d}"} - expiring()
    await approver.resolve_requested(decisions, leave=pending)
    db = proc.home / "approval.db"

    async def settled() -> bool:
        if len(await stream_events(js, ApprovalExpired)) < len(expiring()) or not db.exists():
            return False
        store = open_store(str(db))
        try:
            return store.position() >= await last_seq(js, "GOV")
        finally:
            store.close()

    await eventually(settled, proc, "every expiry appended and the history caught up")
    assert proc.stop() == 0
    assert proc.kills == 2

    assert (await verify_stream(js)).first_bad is None
    requested = await stream_events(js, ApprovalRequested)
    expired = await stream_events(js, ApprovalExpired)
    granted, denied = await stream_events(js, ApprovalGranted), await stream_events(js, ApprovalDenied)
    resolutions = [(m, e.approval_id) for m, e in granted] + [(m, e.approval_id) for m, e in denied]
    resolutions += [(m, e.approval_id) for m, e in expired]
    assert Counter(e.approval_id for _, e in requested) == Counter(decisions.keys())
    assert Counter(e.approval_id for _, e in expired) == Counter(expiring())
    by_approver = Counter(e.approval_id for _, e in granted) + Counter(e.approval_id for _, e in denied)
    assert by_approver == Counter(approver.resolved.keys())
    assert not set(approver.resolved) & expiring() and len(approver.resolved) == len(decisions) // 2 - len(pending)
    # the SQL history: one row per review, status and the stream positions of its request and resolution
    req_seq = {e.approval_id: m.seq for m, e in requested}
    end_seq = {aid: m.seq for m, aid in resolutions}
    store = open_store(str(db))
    try:
        assert store.diagnostics() == []
        rows = {r.approval_id: r for r in store.history(limit=1000)}
        assert set(rows) == set(decisions)
        for aid, row in rows.items():
            want = "expired" if aid in expiring() else approver.resolved.get(aid, "pending")
            assert (row.status, row.requested_seq, row.resolved_seq) == (want, req_seq[aid], end_seq.get(aid, 0))
    finally:
        store.close()


# --- anomaly ------------------------------------------------------------------------------------------

ANOMALY_AGENTS = ("ag-0", "ag-1", "ag-2", "ag-3", "ag-4", "ag-5")


def _anomaly_trace() -> list[Event]:
    """Per agent, one after the other: a little routine work, a burst of denials, then a runaway loop (pause);
    about 20 minutes of trace time, ending now."""
    t = Trace()
    for agent in ANOMALY_AGENTS:
        t.register(agent)
        t.routine(agent, 2, per_minute=3)
        for i in range(9):
            t.advance(2).decide(agent, "shell", f"sudo cat /etc/shadow{i}", verdict="deny")
        for _ in range(35):
            t.advance(1).decide(agent, "shell", "make test")
        t.advance(60).decide(agent, "shell", "ls")  # paused: learned, raises nothing
    shift = time.time_ns() - t.t - NS
    return [msgspec.structs.replace(e, ts=e.ts + shift) for e in t.events]


def _subject(e: Event) -> str:
    agent = e.agent or ""
    return subjects.registry(agent) if isinstance(e, AgentRegistered) else subjects.decision(agent)


async def test_anomaly_killed_twice_while_a_trace_streams_in(gov_world: Gov, service: StartService) -> None:
    """Anomaly SIGKILLed after its first finding and again mid-trace (snapshots every 25 events): the stream
    holds exactly the findings and pauses the trace raises, in order, none twice."""
    world, js = gov_world, gov_world.js
    events = _anomaly_trace()
    domain = Anomalies(trust=world.trust)
    expected = [f for seq, e in enumerate(events, 1) for f in domain.observe(e, seq)]  # type: ignore[arg-type]
    assert [f.agent for f in expected if f.pause] == list(ANOMALY_AGENTS)
    assert len(expected) > len(ANOMALY_AGENTS)
    producer = ChainedProducer(js, Ed25519PrivateKey.generate(), role="policy")
    await producer.register()
    per_agent = len(events) // len(ANOMALY_AGENTS)

    async def feed(first: int, last: int) -> None:
        for e in events[first * per_agent : last * per_agent]:
            await producer.publish_nowait(_subject(e), e)
        await producer.flush()

    proc = service("anomaly", {"AGENTGOV_ANOMALY_SNAPSHOT_EVERY": "25"})
    proc.start()
    await feed(0, 2)

    async def first_finding() -> bool:
        return await count_on(js, "gov.anomaly.*") >= 1

    await _kill_at(proc, first_finding, "the first finding")
    await feed(2, 4)

    async def later_findings() -> bool:
        return await count_on(js, "gov.anomaly.*") >= len(expected) // 2 + 2

    await _kill_at(proc, later_findings, "findings of the second feed")
    await feed(4, len(ANOMALY_AGENTS))
    n_out = len(expected) + len(ANOMALY_AGENTS)

    async def all_found() -> bool:
        return await count_on(js, "gov.anomaly.*") >= n_out

    await eventually(all_found, proc, "every finding and pause")
    assert proc.stop() == 0
    assert proc.kills == 2
    assert (await verify_stream(js)).first_bad is None
    found = [e for _, e in await stream_events(js, AnomalyDetected)]
    paused = [e for _, e in await stream_events(js, AgentPaused)]
    assert [e.id for e in found] == [f.id for f in expected]
    assert [(p.id, p.agent, p.anomaly_id) for p in paused] == [(f.pause_id, f.agent, f.id) for f in expected if f.pause]
