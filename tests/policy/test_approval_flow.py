"""Approvals end to end on a real nats-server: policy replicas, the approval service, the CLI's resolve, the
SDK's waiting guard and ticket verifier."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.approval.service import ApprovalService
from agentgov.approval.settings import ApprovalSettings
from agentgov.approval.store import open_store
from agentgov.cli.cmd_approvals import read_approvals, resolve_approval
from agentgov.cli.operator import OperatorIdentity
from agentgov.contracts import codec, crypto, subjects
from agentgov.contracts.errors import DecodeError
from agentgov.contracts.events import Action, ApprovalExpired, ApprovalGranted, ApprovalRequested, EventRejected
from agentgov.contracts.requests import Decision
from agentgov.sdk import guard
from agentgov.sdk.errors import TicketMismatch, TicketReplayed
from agentgov.sdk.tickets import TicketVerifier
from agentgov.streaming.home import Runtime
from agentgov.streaming.reader import read_all
from agentgov.testing.policy import BUNDLE, Gov, ReplicaFactory, ask, check, wait_for

DEPLOY = Action(kind="mcp_tool", tool="deploy", target="prod", args={"version": "1.2.3"})
StartApproval = Callable[..., Awaitable["RunningApproval"]]


class RunningApproval:
    """An ApprovalService in this loop, with a clock the test can move forward."""

    def __init__(self, svc: ApprovalService, task: asyncio.Task[None], stop: asyncio.Event) -> None:
        self.svc, self.task, self.stop_event = svc, task, stop

    async def stop(self) -> None:
        """Stop and wait."""
        self.stop_event.set()
        await self.task
        self.svc.store.close()


class Clock:
    """Wall-clock time plus an offset the test sets."""

    def __init__(self) -> None:
        self.offset_ns = 0

    def __call__(self) -> int:
        return time.time_ns() + self.offset_ns


@pytest_asyncio.fixture
async def approval_service(gov_world: Gov, nc: Any, tmp_path: Path) -> AsyncIterator[StartApproval]:
    """Start approval services on one SQLite history (stopped after the test)."""
    running: list[RunningApproval] = []

    async def start(clock: Clock | None = None, **kw: Any) -> RunningApproval:
        settings = ApprovalSettings.model_validate(
            {"database": str(tmp_path / "approval.db"), "operators_file": gov_world.trust_path, "tick_s": 0.05, **kw}
        )
        svc = ApprovalService(settings, nc, open_store(settings.database), gov_world.trust, clock=clock or Clock())
        stop = asyncio.Event()
        r = RunningApproval(svc, asyncio.create_task(svc.run(stop)), stop)
        running.append(r)
        await wait_for(svc.ready.is_set, 10, "approval service caught up")
        return r

    yield start
    for r in running:
        if not r.task.done():
            with contextlib.suppress(Exception):
                await r.stop()


def identity(world: Gov, key: Ed25519PrivateKey | None = None) -> OperatorIdentity:
    """The CLI identity of the world's operator (every role over '*')."""
    key = key or world.operator
    op = world.trust.get(crypto.key_id(crypto.public_key_text(key)))
    assert op is not None
    return OperatorIdentity(key=key, operator=op, trust_path=world.trust_path)


def runtime(world: Gov) -> Runtime:
    """The admin connection the CLI uses."""
    admin = world.users.admin
    return Runtime(url=world.server.url, user=admin.user, password=admin.password)


async def approval_events(world: Gov) -> list[Any]:
    """Every approval event on GOV, in order (undecodable messages left out)."""
    stored = await read_all(world.js, "GOV")
    events = []
    for m in stored:
        if m.subject.startswith("gov.approval."):
            with contextlib.suppress(DecodeError):  # a test's deliberately malformed message
                events.append(codec.decode_event(codec.split(m.data)[0]))
    return events


def status(book: Any, approval_id: str) -> str:
    """The status of an approval in either projection ('' while it is not known)."""
    found = book.get(approval_id) if hasattr(book, "get") else None
    return str(found.status) if found is not None else ""


async def review(world: Gov, agent: str = "a1") -> Decision:
    """Ask for DEPLOY (risk 60 ≥ review_at 50) and return the review decision."""
    nc = await world.agent(agent)
    d = await ask(nc, agent, check(agent, world.tokens[agent], DEPLOY))
    assert d.verdict == "review", d
    return d


async def test_grant_lets_the_waiting_guard_run_once_with_a_single_use_ticket(
    gov_world: Gov, replicas: ReplicaFactory, approval_service: StartApproval, tmp_path: Path
) -> None:
    """Review → ApprovalRequested → CLI grant → the waiting guard runs with an allow and a ticket that verifies
    once; a replay, altered arguments and a second re-ask are all refused."""
    replica = await replicas()
    running = await approval_service()
    await gov_world.register("a1")
    client = await gov_world.sdk("a1")
    seen: list[Decision] = []

    @guard(client, action=lambda: DEPLOY, review_timeout=20, review_poll=0.05)
    async def deploy(governed_decision: Decision | None = None) -> str:
        assert governed_decision is not None
        seen.append(governed_decision)
        return "deployed"

    task = asyncio.create_task(deploy())
    book = running.svc.approvals
    await wait_for(lambda: any(r.requested_seq for r in book.by_id.values()), 10, "ApprovalRequested")
    (aid,) = book.by_id
    outcome = await resolve_approval(runtime(gov_world), aid, "granted", "ship it", identity=identity(gov_world))
    assert outcome.won, outcome.message
    assert await asyncio.wait_for(task, 10) == "deployed"
    (decision,) = seen
    assert (decision.verdict, decision.approval_id) == ("allow", aid) and decision.ticket
    assert decision.reasons == ["approved by test: ship it"]
    recorded = [d for d in await gov_world.decisions() if d.approval_id == aid]
    assert [d.verdict for d in recorded] == ["allow"]

    verifier = TicketVerifier([(tmp_path / "tickets.ed25519.pub").read_text()])
    claims = verifier.verify(decision.ticket, "a1", DEPLOY)
    assert (claims.approval_id, claims.agent) == (aid, "a1")
    with pytest.raises(TicketReplayed):
        verifier.verify(decision.ticket, "a1", DEPLOY)
    altered = Action(kind="mcp_tool", tool="deploy", target="prod", args={"version": "6.6.6"})
    with pytest.raises(TicketMismatch):
        TicketVerifier([(tmp_path / "tickets.ed25519.pub").read_text()]).verify(decision.ticket, "a1", altered)

    nc = await gov_world.agent("a1")
    again = await ask(nc, "a1", check("a1", gov_world.tokens["a1"], DEPLOY, context={"approval_for": aid}))
    assert again.verdict == "deny" and "already used" in again.reasons[0] and not again.ticket
    other = await ask(nc, "a1", check("a1", gov_world.tokens["a1"], altered, context={"approval_for": aid}))
    assert other.verdict == "deny" and "differs" in other.reasons[0]
    assert replica.svc.projection.approvals.get(aid) is not None
    await client.close()


async def test_two_approvers_racing_exactly_one_wins_and_every_projection_agrees(
    gov_world: Gov, replicas: ReplicaFactory, approval_service: StartApproval
) -> None:
    """Concurrent approve and deny through real NATS: one is stored, the other is told who won (exit 1), and
    the approval service, the policy replica and the CLI all see the same winner."""
    replica = await replicas()
    running = await approval_service()
    await gov_world.register("a1")
    service_view, policy_view = running.svc.approvals.by_id, replica.svc.projection.approvals
    for _ in range(3):
        aid = (await review(gov_world)).decision_id

        def requested(aid: str = aid) -> bool:
            return aid in service_view and service_view[aid].requested_seq > 0

        def resolved(aid: str = aid) -> bool:
            return status(service_view, aid) not in ("", "pending") and status(policy_view, aid) not in ("", "pending")

        await wait_for(requested, 10, "ApprovalRequested")
        rt, who = runtime(gov_world), identity(gov_world)
        grant, deny = await asyncio.gather(
            resolve_approval(rt, aid, "granted", "yes", identity=who),
            resolve_approval(rt, aid, "denied", "no", identity=who),
        )
        assert [grant.won, deny.won].count(True) == 1, (grant, deny)
        loser = deny if grant.won else grant
        assert "already" in loser.message
        winner = "granted" if grant.won else "denied"
        await wait_for(resolved, 10, "both projections resolved")
        cli_view, _ = await read_approvals(gov_world.js, gov_world.trust)
        assert status(service_view, aid) == status(policy_view, aid) == cli_view.by_id[aid].status == winner
    resolutions = [e for e in await approval_events(gov_world) if not isinstance(e, ApprovalRequested)]
    assert len(resolutions) == 3


async def test_expiry_restart_and_rebuild_append_each_event_exactly_once(
    gov_world: Gov, replicas: ReplicaFactory, approval_service: StartApproval
) -> None:
    """Reviews are requested once across restarts; past the timeout one ApprovalExpired each, also across a
    restart and a rebuild; a re-ask then gets the fallback (deny); a late grant is ignored."""
    await gov_world.publish_bundle(BUNDLE + "approvals: {timeout_s: 60, fallback: deny}\n")
    await replicas()
    clock = Clock()
    first = await approval_service(clock)
    await gov_world.register("a1")
    decisions = [await review(gov_world) for _ in range(3)]
    await wait_for(lambda: sum(bool(r.requested_seq) for r in first.svc.approvals.by_id.values()) == 3, 10, "3 req")
    await first.stop()  # a restart mid-stream: two more reviews while it is down
    decisions += [await review(gov_world) for _ in range(2)]
    second = await approval_service(clock)
    await wait_for(lambda: sum(bool(r.requested_seq) for r in second.svc.approvals.by_id.values()) == 5, 10, "5 req")
    clock.offset_ns = 61 * 10**9
    await wait_for(lambda: second.svc.approvals.pending() == 0, 10, "expired")
    await second.stop()
    third = await approval_service(clock, rebuild=True)
    await wait_for(lambda: third.svc.health.position >= second.svc.health.position, 10, "rebuilt")
    events = await approval_events(gov_world)
    requested = [e.approval_id for e in events if isinstance(e, ApprovalRequested)]
    expired = [e.approval_id for e in events if isinstance(e, ApprovalExpired)]
    ids = sorted(d.decision_id for d in decisions)
    assert sorted(requested) == ids and sorted(expired) == ids
    assert all(r.status == "expired" for r in third.svc.approvals.by_id.values())
    assert {r.approval_id for r in third.svc.store.history(status="expired")} == set(ids)

    late = await resolve_approval(runtime(gov_world), ids[0], "granted", "too late", identity=identity(gov_world))
    assert not late.won and "already expired" in late.message
    nc = await gov_world.agent("a1")
    answer = await ask(nc, "a1", check("a1", gov_world.tokens["a1"], DEPLOY, context={"approval_for": ids[0]}))
    assert answer.verdict == "deny" and "expired" in answer.reasons[0]


async def test_forged_resolutions_change_nothing_anywhere(
    gov_world: Gov, replicas: ReplicaFactory, approval_service: StartApproval
) -> None:
    """A grant signed by an untrusted key, or for an unknown approval, is a diagnostic in the approval service
    and ignored by the policy: the approval stays pending and a re-ask is still a review."""
    replica = await replicas()
    running = await approval_service()
    await gov_world.register("a1")
    d = await review(gov_world)
    await wait_for(lambda: running.svc.approvals.by_id.get(d.decision_id, None) is not None, 10, "open")
    await wait_for(lambda: running.svc.approvals.by_id[d.decision_id].requested_seq > 0, 10, "requested")
    record = running.svc.approvals.by_id[d.decision_id]
    mallory = Ed25519PrivateKey.generate()
    kid = crypto.key_id(crypto.public_key_text(mallory))
    for aid in (d.decision_id, "0190-unknown"):
        forged = ApprovalGranted(
            agent="a1",
            approval_id=aid,
            action_hash=record.action_hash,
            approver=kid,
            approver_name="test",
            signature=crypto.sign_approval(mallory, aid, record.action_hash, "granted"),
        )
        await gov_world.append(subjects.approval("a1"), forged)
    await gov_world.js.publish(subjects.approval("a1"), b"{not an event")
    await wait_for(lambda: running.svc.health.diagnostics >= 3, 10, "diagnostics")
    await wait_for(lambda: len(replica.svc.projection.approvals.ignored) >= 2, 10, "policy ignored")
    kinds = sorted(x.kind for x in await asyncio.to_thread(running.svc.store.diagnostics))
    assert kinds == ["forged", "malformed", "unknown"]
    assert running.svc.approvals.by_id[d.decision_id].status == "pending"
    # Each refusal is on the stream once, saying why; a restart with --rebuild appends none of them again.
    await wait_for(lambda: running.svc.health.rejected == 3, 10, "EventRejected appended")
    refusals = [e for e in await approval_events(gov_world) if isinstance(e, EventRejected)]
    assert [(e.reason, e.about) for e in refusals] == [
        ("forged", d.decision_id),
        ("unknown_approval", "0190-unknown"),
        ("malformed", ""),
    ]
    assert "is not a trusted operator key" in refusals[0].detail, refusals[0].detail
    await running.stop()
    rebuilt = await approval_service(rebuild=True)
    await wait_for(lambda: rebuilt.svc.health.position >= running.svc.health.position, 10, "rebuilt")
    assert rebuilt.svc.health.rejected == 0 and rebuilt.svc.health.diagnostics == 3
    assert len([e for e in await approval_events(gov_world) if isinstance(e, EventRejected)]) == 3
    assert rebuilt.svc.approvals.by_id[d.decision_id].status == "pending"
    nc = await gov_world.agent("a1")
    again = await ask(nc, "a1", check("a1", gov_world.tokens["a1"], DEPLOY, context={"approval_for": d.decision_id}))
    assert again.verdict == "review" and not again.ticket
