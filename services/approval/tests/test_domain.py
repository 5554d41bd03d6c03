"""The approval projection with plain events: opening, first resolution wins, forged and late are ignored."""

from __future__ import annotations

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.approval.domain import Approvals, Changes
from agentgov.contracts import crypto
from agentgov.contracts.events import (
    Action,
    ActionDecided,
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    ApprovalRequested,
)
from agentgov.contracts.events_approval import action_hash
from agentgov.identity.operators import Operator, TrustStore

DEPLOY = Action(kind="mcp_tool", tool="deploy", target="prod")
APPROVER = Ed25519PrivateKey.generate()
OUTSIDER = Ed25519PrivateKey.generate()  # trusted, but only over another org
POLICY_ONLY = Ed25519PrivateKey.generate()  # trusted, but without the approver role
TRUST = TrustStore(
    [
        Operator(name="alice", public_key=crypto.public_key_text(APPROVER), roles=["approver"], scopes=["org:acme"]),
        Operator(name="bob", public_key=crypto.public_key_text(OUTSIDER), roles=["approver"], scopes=["org:other"]),
        Operator(name="carol", public_key=crypto.public_key_text(POLICY_ONLY), roles=["policy"]),
    ]
)
T0 = 1_800_000_000_000_000_000
HASH = action_hash("a1", DEPLOY)


def review(decision_id: str = "d1", timeout_s: int | None = 60) -> ActionDecided:
    """A review decision for a1's deploy."""
    return ActionDecided(
        id=decision_id,
        ts=T0,
        agent="a1",
        org="acme",
        team="pay",
        request_id="r1",
        action=DEPLOY,
        verdict="review",
        claim="approval_required",
        approval_timeout_s=timeout_s,
        approval_fallback="deny",
    )


def requested(decision_id: str = "d1") -> ApprovalRequested:
    """The ApprovalRequested for ``review(decision_id)``."""
    return ApprovalRequested(
        agent="a1",
        org="acme",
        team="pay",
        approval_id=decision_id,
        request_id="r1",
        action_hash=HASH,
        action=DEPLOY,
        expires_ns=T0 + 60 * 10**9,
    )


def resolution(
    granted: bool, key: Ed25519PrivateKey = APPROVER, *, aid: str = "d1", signed_as: str | None = None
) -> ApprovalGranted | ApprovalDenied:
    """A resolution signed by ``key`` (``signed_as`` signs another answer than the event says)."""
    answer = "granted" if granted else "denied"
    cls = ApprovalGranted if granted else ApprovalDenied
    return cls(
        id=f"res-{answer}-{crypto.key_id(crypto.public_key_text(key))}",
        ts=T0 + 5,
        agent="a1",
        approval_id=aid,
        action_hash=HASH,
        approver=crypto.key_id(crypto.public_key_text(key)),
        approver_name="alice",
        reason="ok",
        signature=crypto.sign_approval(key, aid, HASH, signed_as or answer),
    )


def opened() -> tuple[Approvals, Changes]:
    """A projection with d1 opened (seq 1) and requested (seq 2)."""
    book, changes = Approvals(TRUST), Changes()
    book.apply(review(), 1, changes)
    book.apply(requested(), 2, changes)
    return book, changes


def test_a_review_opens_an_approval_bound_to_the_action_hash() -> None:
    """The review's id names the approval; expiry is decision time + timeout; then it is due for a request."""
    book, changes = Approvals(TRUST), Changes()
    book.apply(review(), 1, changes)
    r = book.by_id["d1"]
    assert (r.status, r.action_hash, r.expires_ns, r.requested_seq) == ("pending", HASH, T0 + 60 * 10**9, 0)
    assert [x.approval_id for x in book.to_request()] == ["d1"] and not book.due(T0 + 10**15)
    book.apply(requested(), 2, changes)
    assert not book.to_request() and r.requested_seq == 2
    assert [x.approval_id for x in book.due(T0 + 60 * 10**9)] == ["d1"] and not book.due(T0 + 59 * 10**9)


def test_a_reask_waiting_for_an_approval_opens_none() -> None:
    """A review that names the pending approval it waits for (a guard's re-ask) opens no second approval."""
    book, changes = Approvals(TRUST), Changes()
    book.apply(review(), 1, changes)
    reask = msgspec.structs.replace(review("d2"), approval_id="d1", approval_timeout_s=None)
    book.apply(reask, 2, changes)
    assert list(book.by_id) == ["d1"] and [x.approval_id for x in book.to_request()] == ["d1"]


def test_replaying_events_changes_nothing() -> None:
    """Applying the same events at the same sequences again is a no-op, with no diagnostics."""
    book, _ = opened()
    book.apply(resolution(True), 3, Changes())
    again = Changes()
    for seq, event in ((1, review()), (2, requested()), (3, resolution(True))):
        book.apply(event, seq, again)
    assert not again.rows and not again.diagnostics and book.by_id["d1"].status == "granted"


def test_the_first_resolution_in_stream_order_wins() -> None:
    """A deny after a grant is a 'late' diagnostic and changes nothing; so is an expiry."""
    book, _ = opened()
    changes = Changes()
    book.apply(resolution(True), 3, changes)
    book.apply(resolution(False), 4, changes)
    book.apply(ApprovalExpired(agent="a1", approval_id="d1", action_hash=HASH), 5, changes)
    r = book.by_id["d1"]
    assert (r.status, r.resolver_name, r.resolved_seq) == ("granted", "alice", 3)
    assert [(d.stream_seq, d.kind) for d in changes.diagnostics] == [(4, "late"), (5, "late")]
    assert "already granted by alice" in changes.diagnostics[0].detail


def test_forged_and_unauthorized_resolutions_are_ignored() -> None:
    """Unknown keys, keys without the approver role or scope, and flipped signatures change nothing."""
    book, _ = opened()
    changes = Changes()
    book.apply(resolution(True, Ed25519PrivateKey.generate()), 3, changes)
    book.apply(resolution(True, OUTSIDER), 4, changes)
    book.apply(resolution(True, POLICY_ONLY), 5, changes)
    book.apply(resolution(True, signed_as="denied"), 6, changes)
    assert book.by_id["d1"].status == "pending" and not changes.rows
    assert [d.kind for d in changes.diagnostics] == ["forged"] * 4
    assert "may not act as 'approver'" in changes.diagnostics[1].detail


def test_resolutions_for_unknown_approvals_and_malformed_bytes_are_diagnostics() -> None:
    """A grant for an approval never requested and undecodable bytes are recorded, nothing else."""
    book, changes = Approvals(TRUST), Changes()
    book.apply(resolution(True, aid="nope"), 7, changes)
    book.malformed(8, "not json", changes)
    assert [(d.kind, d.approval_id) for d in changes.diagnostics] == [("unknown", "nope"), ("malformed", "")]
    assert not book.by_id and not changes.rows


def test_a_request_without_its_decision_opens_the_approval() -> None:
    """ApprovalRequested alone (its decision outside what was read) is enough; a second one is a duplicate."""
    book, changes = Approvals(TRUST), Changes()
    book.apply(requested(), 5, changes)
    book.apply(requested(), 6, changes)
    assert book.by_id["d1"].requested_seq == 5
    assert [d.kind for d in changes.diagnostics] == ["duplicate"]
    assert [n[0][0] for n in changes.notices] == ["ApprovalRequested"]


def test_an_expiry_applies_the_fallback() -> None:
    """ApprovalExpired resolves a pending approval with its fallback."""
    book, _ = opened()
    changes = Changes()
    book.apply(ApprovalExpired(agent="a1", approval_id="d1", action_hash=HASH, fallback="allow"), 3, changes)
    assert (book.by_id["d1"].status, book.by_id["d1"].fallback) == ("expired", "allow")
    assert [n[0][0] for n in changes.notices] == ["ApprovalExpired"]
