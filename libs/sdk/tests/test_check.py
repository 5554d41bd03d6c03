"""Client.check over real NATS: the round trip, the deadline, retries, and every way it fails closed."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

from agentgov.contracts.errors import InvalidIdError
from agentgov.contracts.requests import CheckAction, Decision
from agentgov.sdk import Client, ConfigurationError, actions
from agentgov.sdk.tracing import current_trace_id

from .conftest import AGENT, TOKEN, Responders, allow_all, decision_for

SLACK = 0.25
"""Scheduling slack allowed beyond a deadline on this shared 2-core machine."""


def assert_unavailable(d: Decision, *fragments: str) -> None:
    """The fail-closed shape: deny, before execution, policy_unavailable, with the reason spelled out."""
    assert d.verdict == "deny" and d.claim == "denied_before_execution" and d.code == "policy_unavailable", d
    assert len(d.reasons) == 1 and d.reasons[0].startswith("policy unavailable: "), d.reasons
    for fragment in fragments:
        assert fragment in d.reasons[0], (fragment, d.reasons)


async def test_round_trip_carries_every_field(client: Client, responder: Responders) -> None:
    """The request carries agent, token, action, session, trace, deadline, cost and context; the reply is whole."""
    r = await responder()
    before_ms = time.time_ns() // 1_000_000
    d = await client.check(
        actions.shell("ls -la", cwd="/repo"),
        session="s-1",
        trace_id="trace-1",
        timeout=0.8,
        estimated_usd_micros=1500,
        context={"source": "web"},
    )
    (req,) = r.unique
    assert (
        req.attempt == 1
        and req.agent == AGENT
        and req.token == TOKEN
        and req.session == "s-1"
        and req.trace_id == "trace-1"
    )
    assert req.action == actions.shell("ls -la", cwd="/repo")
    assert req.estimated_usd_micros == 1500 and req.context == {"source": "web"}
    assert req.deadline_ms is not None and before_ms + 700 <= req.deadline_ms <= before_ms + 900
    assert d.request_id == req.request_id and d.verdict == "allow" and d.claim == "evaluated"
    assert d.rules[0].id == "test-rule" and d.policy_revision == 3 and d.stream_seq == 42 and d.decision_id
    assert d.trace_id == "trace-1" and d.code is None


async def test_checks_name_the_client_session_unless_they_give_one(client: Client, responder: Responders) -> None:
    """One session per client by default, so session taint follows the client's work; None sends none."""
    r = await responder()
    await client.check(actions.shell("ls"))
    await client.check(actions.shell("ls"), session="mine")
    client.session = None
    await client.check(actions.shell("ls"))
    first, given, none = r.unique
    assert first.session is not None and len(first.session) >= 32
    assert (given.session, none.session) == ("mine", None)


async def test_request_id_can_be_given_and_is_validated(client: Client, responder: Responders) -> None:
    """A caller-chosen request id is sent as a possible retry; ids that are not subject-safe raise before sending."""
    r = await responder()
    d = await client.check(actions.shell("ls"), request_id="req-123")
    assert d.request_id == "req-123" and r.requests[0].request_id == "req-123" and r.requests[0].attempt == 2
    with pytest.raises(InvalidIdError):
        await client.check(actions.shell("ls"), request_id="bad.id")
    with pytest.raises(InvalidIdError):
        await client.check(actions.shell("ls"), session="a b")
    assert len(r.unique) == 1


async def test_no_reply_denies_within_the_deadline(client: Client, responder: Responders) -> None:
    """A policy that never answers: deny policy_unavailable, returned at the deadline, not later."""
    r = await responder(lambda req: None)
    started = time.monotonic()
    d = await client.check(actions.shell("ls"), timeout=0.4)
    elapsed = time.monotonic() - started
    assert_unavailable(d, "no decision within 400 ms")
    assert 0.38 <= elapsed <= 0.4 + SLACK, elapsed
    assert d.request_id == r.requests[0].request_id


async def test_no_responders_denies(client: Client) -> None:
    """Nobody subscribed to gov.check.<agent>: deny policy_unavailable, naming no responders."""
    started = time.monotonic()
    # NATS answers "no responders" at once; the generous deadline only keeps a stalled server from turning
    # this into a timeout (a different reason), which would hide what the test is about
    d = await client.check(actions.shell("ls"), timeout=2.0)
    assert_unavailable(d, "no responders")
    assert time.monotonic() - started <= 2.0 + SLACK


async def test_undecodable_reply_denies(client: Client, responder: Responders) -> None:
    """A reply that is not a Decision (garbage, or the wrong shape) is a deny, not an exception."""
    r = await responder(lambda req: b"\x00 not json")
    assert_unavailable(await client.check(actions.shell("ls")), "not a Decision")
    r.decide = lambda req: b'{"request_id": "x", "verdict": "maybe"}'
    assert_unavailable(await client.check(actions.shell("ls")), "not a Decision")


async def test_reply_for_another_request_denies(client: Client, responder: Responders) -> None:
    """A Decision naming another request id is not accepted as this request's answer."""

    def wrong(req: CheckAction) -> Decision:
        return msgspec.structs.replace(decision_for(req), request_id="someone-else")

    await responder(wrong)
    assert_unavailable(await client.check(actions.shell("ls")), "someone-else")


async def test_lost_request_is_resent_with_the_same_request_id(client: Client, responder: Responders) -> None:
    """A request that gets no reply is sent again before the deadline, with the same request id."""
    seen: list[tuple[str, int]] = []

    def drop_first(req: CheckAction) -> Decision | None:
        seen.append((req.request_id, req.attempt))
        return None if len(seen) == 1 else decision_for(req)

    await responder(drop_first)
    started = time.monotonic()
    d = await client.check(actions.shell("ls"), timeout=1.0)
    assert d.verdict == "allow"
    assert {rid for rid, _ in seen} == {d.request_id} and [n for _, n in seen] == list(range(1, len(seen) + 1))
    assert len(seen) >= 2 and 0.2 <= time.monotonic() - started < 1.0


async def test_no_responders_is_retried_until_a_replica_appears(client: Client, responder: Responders) -> None:
    """A check sent before any policy replica listens is retried, same request id, and answered."""
    task = asyncio.create_task(client.check(actions.shell("ls"), request_id="early-1", timeout=2.0))
    await asyncio.sleep(0.3)
    assert not task.done()
    r = await responder()
    d = await task
    assert d.verdict == "allow" and d.request_id == "early-1"
    assert [q.request_id for q in r.unique] == ["early-1"] and r.requests[0].attempt > 2


async def test_trace_ids_are_shared_inside_a_trace(client: Client, responder: Responders) -> None:
    """Checks inside client.trace() share its id, nested blocks join it, and loose checks get fresh ones."""
    r = await responder()
    with client.trace() as tid:
        assert current_trace_id() == tid and len(tid) == 32
        await client.check(actions.shell("a"))
        with client.trace():
            await client.check(actions.shell("b"))
        await asyncio.gather(client.check(actions.shell("c")), client.check(actions.shell("d")))
    await client.check(actions.shell("e"))
    await client.check(actions.shell("f"))
    traces = [q.trace_id for q in r.unique]
    assert traces[:4] == [tid] * 4
    assert traces[4] != tid and traces[5] not in (tid, traces[4])
    with client.trace("given-trace"):
        d = await client.check(actions.shell("g"))
    assert d.trace_id == "given-trace"


async def test_concurrent_checks_get_their_own_answers(client: Client, responder: Responders) -> None:
    """Many checks in flight on one connection each get the Decision for their own request."""
    r = await responder()
    decisions = await asyncio.gather(*(client.check(actions.shell(f"echo {i}")) for i in range(100)))
    assert all(d.verdict == "allow" for d in decisions)
    assert {d.request_id for d in decisions} == {q.request_id for q in r.requests}  # retries repeat an id
    assert len({d.request_id for d in decisions}) == 100


async def test_unencodable_action_denies_as_bad_request(client: Client, responder: Responders) -> None:
    """An action whose arguments are not JSON values is denied locally as bad_request, never sent."""
    r = await responder()
    d = await client.check(actions.mcp_tool("srv", "t", {"x": object()}))
    assert d.verdict == "deny" and d.code == "bad_request" and not r.requests


async def test_closed_client_fails_closed(agent_credentials: object, responder: Responders) -> None:
    """After close(), check returns a policy_unavailable deny instead of raising."""
    await responder(allow_all)
    c = await Client.connect(credentials=str(agent_credentials))
    await c.close()
    await c.close()
    assert_unavailable(await c.check(actions.shell("ls")), "closed")


async def test_client_without_agent_cannot_check(nats_url: str, nats_users: object) -> None:
    """An operator client may not check: a configuration error, raised before anything is sent."""
    from agentgov.streaming.natsconf import NatsUsers

    assert isinstance(nats_users, NatsUsers)
    op = nats_users.role("operator")
    async with Client.connect(nats_url, user=op.user, password=op.password) as c:
        assert c.agent is None and c.settings.inbox_prefix == "_ROLE_INBOX_operator"
        with pytest.raises(ConfigurationError, match="no agent"):
            await c.check(actions.shell("ls"))
