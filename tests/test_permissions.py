"""Subject permissions of the generated nats-server config (DESIGN.md §7), enforced by the real server."""

from __future__ import annotations

import asyncio

import nats.errors
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from agentgov.contracts import subjects
from agentgov.contracts.streams import GOV
from agentgov.streaming.natsconf import Credential, NatsUsers, connect
from agentgov.testing.nats import NatsConnector


class Violations:
    """Collects the errors nats-py hands to ``error_cb`` (it lower-cases the server's -ERR text).

    ``flush()`` returning does not mean the error has arrived: nats-py 2.16 writes flush's PING straight
    to the socket, ahead of publishes still queued for its flusher task, so the PONG can come back before
    the server has even seen the PUB. :meth:`reported` waits for the error instead.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._changed = asyncio.Condition()

    async def record(self, e: Exception) -> None:
        """The ``error_cb`` (nats-py wants a coroutine function, not a callable object)."""
        async with self._changed:
            self.errors.append(str(e))
            self._changed.notify_all()

    async def reported(self, what: str, subject: str, *, prefix: bool = False, within: float = 2.0) -> bool:
        """Wait until the server reports a permissions violation for ``what`` ("publish"/"subscription")
        on ``subject`` (or, with ``prefix``, a subject starting with it); False on timeout."""
        needle = f'permissions violation for {what} to "{subject.lower()}' + ("" if prefix else '"')

        def seen() -> bool:
            return any(needle in e for e in self.errors)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(seen), within)
            except TimeoutError:
                return False
        return True


async def _agent(nats_connect: NatsConnector, users: NatsUsers, agent: str = "demo") -> tuple[NATS, Violations]:
    seen = Violations()
    nc = await nats_connect(users.agent(agent), error_cb=seen.record)
    return nc, seen


async def _count(js: JetStreamContext) -> int:
    messages: int = (await js.stream_info(GOV)).state.messages
    return messages


@pytest.mark.parametrize(
    "subject",
    [
        subjects.decision("demo"),
        subjects.approval("demo"),
        subjects.POLICY,
        subjects.registry("demo"),
        subjects.spend("demo"),
        subjects.budget("limits"),
    ],
)
async def test_agent_cannot_publish_governance_subjects(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers, subject: str
) -> None:
    """An agent publishing decisions, approvals, policy, registrations, spend records or budget limits is
    refused and nothing is stored (agents report usage through the budget service, which prices it)."""
    agent, seen = await _agent(nats_connect, nats_users)
    await agent.publish(subject, b"{}")
    await agent.flush()
    assert await seen.reported("publish", subject), seen.errors
    assert await _count(gov) == 0


async def test_agent_cannot_publish_for_another_agent(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers, nc: NATS
) -> None:
    """An agent cannot send checks or spend in another agent's name; no responder ever sees them."""
    received: list[str] = []

    async def record(msg: Msg) -> None:
        received.append(msg.subject)

    await nc.subscribe("gov.check.*", cb=record)
    await nc.subscribe("gov.usage.*", cb=record)
    await nc.flush()
    agent, seen = await _agent(nats_connect, nats_users)
    await agent.publish(subjects.check("other"), b"{}")
    await agent.publish(subjects.usage("other"), b"{}")
    await agent.flush()
    await nc.flush()
    assert await seen.reported("publish", subjects.check("other")), seen.errors
    assert await seen.reported("publish", subjects.usage("other")), seen.errors
    assert received == []
    assert await _count(gov) == 0


async def test_agent_cannot_use_jetstream_api(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers
) -> None:
    """An agent can neither look at GOV, nor consume it, nor fetch a message from it directly."""
    await gov.publish(subjects.decision("demo"), b"{}")
    agent, seen = await _agent(nats_connect, nats_users)
    ajs = agent.jetstream(timeout=0.5)
    with pytest.raises(nats.errors.TimeoutError):
        await ajs.stream_info(GOV)
    assert await seen.reported("publish", f"$JS.API.STREAM.INFO.{GOV}"), seen.errors
    with pytest.raises(nats.errors.TimeoutError):
        await ajs.subscribe("gov.decision.demo", stream=GOV)
    assert await seen.reported("publish", f"$JS.API.CONSUMER.CREATE.{GOV}", prefix=True), seen.errors
    with pytest.raises(nats.errors.TimeoutError):
        await agent.request(f"$JS.API.DIRECT.GET.{GOV}", b'{"seq": 1}', timeout=0.5)
    assert await seen.reported("publish", f"$JS.API.DIRECT.GET.{GOV}"), seen.errors


async def test_agent_cannot_subscribe_to_gov(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers
) -> None:
    """A plain subscription to gov.> is refused and receives nothing that is published there."""
    agent, seen = await _agent(nats_connect, nats_users)
    sub = await agent.subscribe("gov.>")
    await agent.flush()
    assert await seen.reported("subscription", "gov.>"), seen.errors
    await gov.publish(subjects.decision("demo"), b"{}")
    with pytest.raises(nats.errors.TimeoutError):
        await sub.next_msg(timeout=0.3)


async def test_agent_reports_its_own_usage_as_a_request(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers, nc: NATS
) -> None:
    """A request on gov.usage.<own id> reaches the budget responder and the reply comes back; nothing is stored."""

    async def answer(msg: Msg) -> None:
        await msg.respond(b"receipt:" + msg.subject.encode())

    await nc.subscribe("gov.usage.*", cb=answer)
    await nc.flush()
    agent, seen = await _agent(nats_connect, nats_users)
    reply = await agent.request(subjects.usage("demo"), b"{}", timeout=2)
    assert reply.data == b"receipt:gov.usage.demo"
    assert seen.errors == []
    assert await _count(gov) == 0


async def test_agent_gets_its_check_answered(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers, nc: NATS
) -> None:
    """A request on gov.check.<own id> reaches the responder and the reply comes back; nothing is stored."""

    async def answer(msg: Msg) -> None:
        await msg.respond(b"allow:" + msg.subject.encode())

    await nc.subscribe("gov.check.*", cb=answer)
    await nc.flush()
    agent, seen = await _agent(nats_connect, nats_users)
    reply = await agent.request(subjects.check("demo"), b"{}", timeout=2)
    assert reply.data == b"allow:gov.check.demo"
    assert seen.errors == []
    assert await _count(gov) == 0


async def test_agent_without_its_inbox_prefix_gets_no_reply(
    nats_connect: NatsConnector, nats_users: NatsUsers, nc: NATS
) -> None:
    """An agent connecting with the default _INBOX prefix may not subscribe to it, so its request fails."""

    async def answer(msg: Msg) -> None:
        await msg.respond(b"allow")

    await nc.subscribe("gov.check.*", cb=answer)
    await nc.flush()
    seen = Violations()
    agent = await nats_connect(nats_users.agent("demo"), error_cb=seen.record, inbox_prefix="_INBOX")
    with pytest.raises(nats.errors.TimeoutError):
        await agent.request(subjects.check("demo"), b"{}", timeout=0.5)
    assert await seen.reported("subscription", "_INBOX.", prefix=True), seen.errors


async def test_policy_answers_an_agents_check(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers
) -> None:
    """The policy role may receive checks and reply into the agent's private inbox, and append decisions."""
    policy = await nats_connect(nats_users.role("policy"))
    pjs = policy.jetstream(timeout=2)

    async def decide(msg: Msg) -> None:
        await pjs.publish(subjects.decision("demo"), b"{}")
        await msg.respond(b"allow")

    await policy.subscribe("gov.check.*", queue="policy", cb=decide)
    await policy.flush()
    agent, _ = await _agent(nats_connect, nats_users)
    for attempt in range(10):  # interest can lag on a loaded server; a refused permission never heals
        try:
            reply = await agent.request(subjects.check("demo"), b"{}", timeout=2)
            break
        except nats.errors.NoRespondersError:
            if attempt == 9:
                raise
            await asyncio.sleep(0.1)
    assert reply.data == b"allow"
    assert await _count(gov) == 1


async def test_other_services_cannot_see_checks(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers
) -> None:
    """Only policy sees CheckAction requests; budget can neither subscribe to them nor write decisions."""
    seen = Violations()
    budget = await nats_connect(nats_users.role("budget"), error_cb=seen.record)
    await budget.subscribe("gov.check.*")
    await budget.publish(subjects.decision("demo"), b"{}")
    ack = await budget.jetstream(timeout=2).publish(subjects.budget("team-a"), b"{}")
    assert ack.stream == GOV
    assert await seen.reported("subscription", "gov.check.*"), seen.errors
    assert await seen.reported("publish", subjects.decision("demo")), seen.errors
    assert await _count(gov) == 1


async def test_approver_publishes_approvals_only(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers
) -> None:
    """An approver can append approval decisions (with a PubAck) but not decisions or policy."""
    seen = Violations()
    approver = await nats_connect(nats_users.role("approver"), error_cb=seen.record)
    ack = await approver.jetstream(timeout=2).publish(subjects.approval("demo"), b"{}")
    assert ack.stream == GOV
    await approver.publish(subjects.POLICY, b"{}")
    await approver.flush()
    assert await seen.reported("publish", subjects.POLICY), seen.errors
    await approver.publish(subjects.rejected("approval"), b"{}")  # the service's refusals are its own
    await approver.flush()
    assert await seen.reported("publish", subjects.rejected("approval")), seen.errors
    assert await _count(gov) == 1


async def test_operator_reads_but_cannot_delete(
    gov: JetStreamContext, nats_connect: NatsConnector, nats_users: NatsUsers
) -> None:
    """The operator publishes policy and reads GOV (info, get, ordered consumer), but cannot delete it."""
    seen = Violations()
    operator = await nats_connect(nats_users.role("operator"), error_cb=seen.record)
    ojs = operator.jetstream(timeout=1)
    ack = await ojs.publish(subjects.POLICY, b"{}")
    assert (await ojs.stream_info(GOV)).state.messages == 1
    assert (await ojs.get_msg(GOV, ack.seq, direct=True)).subject == subjects.POLICY
    reader = await ojs.subscribe(subjects.POLICY, stream=GOV, ordered_consumer=True)
    assert (await reader.next_msg(timeout=2)).subject == subjects.POLICY
    await reader.unsubscribe()
    with pytest.raises(nats.errors.TimeoutError):
        await ojs.delete_stream(GOV)
    assert await seen.reported("publish", f"$JS.API.STREAM.DELETE.{GOV}"), seen.errors
    with pytest.raises(nats.errors.TimeoutError):
        await ojs.purge_stream(GOV)
    assert await seen.reported("publish", f"$JS.API.STREAM.PURGE.{GOV}"), seen.errors
    await operator.publish(subjects.rejected("anomaly"), b"{}")  # pauses yes, the service's refusals no
    await operator.flush()
    assert await seen.reported("publish", subjects.rejected("anomaly")), seen.errors
    assert await _count(gov) == 1


async def test_wrong_password_is_refused(nats_url: str, nats_users: NatsUsers) -> None:
    """A known user with a wrong password cannot connect at all."""
    forged = Credential(user=nats_users.agent("demo").user, password="wrong")
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
        await connect(nats_url, forged, allow_reconnect=False, connect_timeout=1)
