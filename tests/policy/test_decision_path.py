"""The decision path end to end: a real nats-server, real replicas, agents with their own NATS users."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from agentgov.contracts import subjects
from agentgov.contracts.events import Action, AgentPaused, AgentResumed, AgentRetired, AgentTokenRevoked
from agentgov.contracts.ids import uuid7
from agentgov.contracts.requests import MAX_REQUEST_BYTES
from agentgov.identity.tokens import issue_token
from agentgov.testing.policy import Gov, ReplicaFactory, ask, check, wait_for

LS = Action(kind="shell", tool="shell", target="ls -la")
RM = Action(kind="shell", tool="shell", target="rm -rf /")


async def test_decision_is_on_record_before_the_reply(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """The reply names the stream sequence of its ActionDecided, which is already stored with the same id."""
    await replicas()
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    allowed = await ask(nc, "a1", check("a1", token, LS))
    denied = await ask(nc, "a1", check("a1", token, RM))
    assert allowed.verdict == "allow" and allowed.claim == "evaluated"
    assert denied.verdict == "deny" and denied.claim == "denied_before_execution" and denied.reasons
    stored = {d.id: d for d in await gov_world.decisions()}
    for reply in (allowed, denied):
        assert reply.decision_id in stored and reply.stream_seq > 0
        assert stored[reply.decision_id].verdict == reply.verdict
        assert stored[reply.decision_id].agent == "a1" and stored[reply.decision_id].org == "acme"


async def test_same_request_id_records_one_decision(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """Retries with one request id (to the same replica, and marked retries to another) record it once."""
    first, second = await replicas(), await replicas()
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    request = check("a1", token, LS)
    a = await ask(nc, "a1", request)
    b = await ask(nc, "a1", request)
    retry = msgspec.structs.replace(request, attempt=2)
    replies = await asyncio.gather(*(ask(nc, "a1", retry) for _ in range(10)))
    assert {r.decision_id for r in (a, b, *replies)} == {a.decision_id}
    assert all(r.duplicate for r in (b, *replies))
    recorded = [d for d in await gov_world.decisions() if d.request_id == request.request_id]
    assert len(recorded) == 1
    assert first.svc.stats.decided + second.svc.stats.decided >= 1


async def test_bad_input_is_denied_with_a_code_and_recorded(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """Undecodable, oversized, mistyped, incomplete requests and unsafe ids get a deny reply and a record."""
    replica = await replicas()
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    good = msgspec.json.decode(msgspec.json.encode(check("a1", token, LS)))
    cases: list[tuple[bytes, str]] = [
        (b"\xff{not json", "bad_request"),
        (b"[1, 2, 3]", "bad_request"),
        (b'{"request_id": "r1", "agent": "a1"}', "incomplete_request"),
        (msgspec.json.encode({**good, "action": {"kind": "shell", "args": "not a map"}}), "bad_request"),
        (msgspec.json.encode({**good, "action": {"kind": "teleport"}}), "bad_request"),
        (msgspec.json.encode({**good, "request_id": "r.1"}), "invalid_id"),
        (msgspec.json.encode({**good, "request_id": "r*"}), "invalid_id"),
        (msgspec.json.encode({**good, "request_id": "r>"}), "invalid_id"),
        (msgspec.json.encode({**good, "agent": "other"}), "agent_mismatch"),
        (msgspec.json.encode({**good, "padding": "x" * (MAX_REQUEST_BYTES + 1)}), "oversized_request"),
    ]
    for data, code in cases:
        reply = await ask(nc, "a1", data)
        assert (reply.verdict, reply.code) == ("deny", code), (data[:60], reply)
        assert reply.decision_id and reply.reasons
    stored = await gov_world.decisions()
    assert [d.code for d in stored] == [code for _, code in cases]
    assert replica.task.done() is False


async def test_tokens_registry_and_pauses(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """Unknown, expired, revoked, forged and other agents' tokens are denied; pauses deny until resumed."""
    replica = await replicas()
    token = await gov_world.register("a1")
    await gov_world.register("b2")
    nc = await gov_world.agent("a1")

    async def code_of(tok: str) -> str | None:
        return (await ask(nc, "a1", check("a1", tok, LS))).code

    expired, _ = issue_token(gov_world.operator, agent="a1", org="acme", team="pay", ttl_s=1, now=time.time() - 100)
    forged, _ = issue_token(Ed25519PrivateKey.generate(), agent="a1", org="acme", team="pay")
    assert await code_of("") == "token_missing"
    assert await code_of(expired) == "token_expired"
    assert await code_of(forged) == "token_invalid"
    assert await code_of(gov_world.tokens["b2"]) == "agent_mismatch"
    assert await code_of(token) is None

    await gov_world.append(subjects.anomaly("a1"), AgentPaused(agent="a1", reason="runaway loop"))
    await wait_for(lambda: "a1" in replica.svc.projection.paused, what="pause applied")
    paused = await ask(nc, "a1", check("a1", token, LS))
    assert paused.code == "agent_paused" and any("runaway loop" in r for r in paused.reasons)
    await gov_world.append(subjects.anomaly("a1"), AgentResumed(agent="a1"))
    await wait_for(lambda: "a1" not in replica.svc.projection.paused, what="resume applied")
    assert (await ask(nc, "a1", check("a1", token, LS))).verdict == "allow"

    await gov_world.append(subjects.registry("a1"), AgentTokenRevoked(agent="a1"))
    await wait_for(lambda: "a1" in replica.svc.projection.revoked_before, what="revocation applied")
    assert await code_of(token) == "token_revoked"

    ghost, _ = issue_token(gov_world.operator, agent="ghost", org="acme", team="pay")
    gov_world.users.add_agent("ghost")
    await asyncio.to_thread(gov_world.server.reload)
    ghost_nc = await gov_world.agent("ghost")
    assert (await ask(ghost_nc, "ghost", check("ghost", ghost, LS))).code == "unknown_agent"

    await gov_world.append(subjects.registry("b2"), AgentRetired(agent="b2"))
    await wait_for(lambda: "b2" in replica.svc.projection.retired, what="retirement applied")
    b2 = await gov_world.agent("b2")
    assert (await ask(b2, "b2", check("b2", gov_world.tokens["b2"], LS))).code == "agent_retired"


async def test_deadline_passed_is_denied_and_recorded(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """A request whose deadline has passed is denied with deadline_exceeded, and that is on the record."""
    await replicas()
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    reply = await ask(nc, "a1", check("a1", token, LS, deadline_ms=int(time.time() * 1000) - 1000))
    assert reply.code == "deadline_exceeded" and reply.verdict == "deny"
    assert [d.code for d in await gov_world.decisions()] == ["deadline_exceeded"]


async def test_new_revision_reaches_replicas_without_dropping_requests(
    gov_world: Gov, replicas: ReplicaFactory
) -> None:
    """Publishing a new bundle mid-burst: every request is answered, and replicas switch within a second."""
    r1, r2 = await replicas(), await replicas()
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    stricter = (
        "apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {name: strict, scope: '*'}\ndefault: deny\n"
        "shell:\n  deny: ['ls*']\n"
    )

    async def burst() -> list[str]:
        return [(await ask(nc, "a1", check("a1", token, LS))).verdict for _ in range(150)]

    task = asyncio.create_task(burst())
    await asyncio.sleep(0.05)
    published_at = time.monotonic()
    await gov_world.publish_bundle(stricter)
    await wait_for(lambda: all(r.svc.projection.bundles["*"].revision == 2 for r in (r1, r2)), 1.0, "switch")
    switched_in = time.monotonic() - published_at
    verdicts = await task
    assert len(verdicts) == 150 and set(verdicts) <= {"allow", "deny"}
    assert switched_in < 1.0
    assert (await ask(nc, "a1", check("a1", token, LS))).verdict == "deny"


async def test_agent_cannot_ask_for_another_agent(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """An agent's NATS user may not publish on another agent's check subject (the server refuses it)."""
    await replicas()
    await gov_world.register("a1")
    await gov_world.register("b2")
    nc = await gov_world.agent("a1")
    request = check("b2", gov_world.tokens["b2"], LS, request_id=uuid7())
    with pytest.raises((NatsTimeoutError, NoRespondersError)):  # the server drops the publish: no reply
        await ask(nc, "b2", request, timeout=0.5)
    assert not [d for d in await gov_world.decisions() if d.agent == "b2"]
