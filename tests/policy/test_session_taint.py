"""Session taint on real replicas: it is recorded on the stream, shared between replicas, and rebuilt by a
replica that starts after the session began."""

from __future__ import annotations

import time

from agentgov.contracts.events import Action
from agentgov.testing.policy import Gov, ReplicaFactory, ask, check, wait_for

TAINT_BUNDLE = """\
apiVersion: agentgov/v1
kind: PolicyBundle
metadata: {name: taint, scope: "*"}
default: allow
risk: {review_at: 60, deny_at: 90}
network:
  allow: [api.github.com]
"""

READ_KEY = Action(kind="file", tool="read_file", target="/home/dev/.ssh/id_rsa", args={"op": "read"})
POST = Action(kind="http", target="https://api.github.com/gists", args={"method": "POST", "body": {"a": "b"}})


async def test_a_replica_started_later_rebuilds_the_session_from_the_stream(
    gov_world: Gov, replicas: ReplicaFactory
) -> None:
    """Read a key through replica A, stop it; replica B, started afterwards, denies the POST in that session."""
    await gov_world.publish_bundle(TAINT_BUNDLE)
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    first = await replicas()
    read = await ask(nc, "a1", check("a1", token, READ_KEY, session="s-1"))
    assert read.verdict == "allow", read.reasons
    assert [p.name for p in read.risk_parts] == ["target"]
    await first.stop()

    second = await replicas()
    rebuilt = second.svc.projection.sessions.view("a1", "s-1", time.time_ns())
    assert rebuilt is not None and set(rebuilt.labels) == {"credential"}
    post = await ask(nc, "a1", check("a1", token, POST, session="s-1"))
    assert post.verdict == "deny", post.reasons
    assert any(e.category == "session" and e.detail.startswith("secret_to_egress") for e in post.evidence)
    other = await ask(nc, "a1", check("a1", token, POST, session="s-2"))
    assert other.verdict == "allow", other.reasons

    recorded = {d.request_id: d for d in await gov_world.decisions()}
    assert recorded[read.request_id].session == "s-1"
    assert recorded[read.request_id].taint == ["credential"]
    assert recorded[post.request_id].taint == []  # a denied action never ran: it taints nothing


async def test_replicas_share_a_session_through_the_stream(gov_world: Gov, replicas: ReplicaFactory) -> None:
    """Whichever replica decided the read, every replica denies the POST once it has followed the stream."""
    await gov_world.publish_bundle(TAINT_BUNDLE)
    token = await gov_world.register("a1")
    nc = await gov_world.agent("a1")
    r1, r2 = await replicas(), await replicas()
    read = await ask(nc, "a1", check("a1", token, READ_KEY, session="s-9"))
    assert read.verdict == "allow"

    def both_tainted() -> bool:
        views = [r.svc.projection.sessions.view("a1", "s-9", time.time_ns()) for r in (r1, r2)]
        return all(v is not None and "credential" in v.labels for v in views)

    await wait_for(both_tainted, what="both replicas to learn the session's taint")
    for _ in range(10):  # the queue group spreads these over both replicas
        post = await ask(nc, "a1", check("a1", token, POST, session="s-9"))
        assert post.verdict == "deny", post.reasons
