"""The approval history conformance suite: every test runs against SQLite and against PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from agentgov.approval.domain import ApprovalRecord, Diagnostic
from agentgov.approval.store import ApprovalStore, StoreBatch, open_store
from agentgov.contracts.events import Action

T0 = 1_800_000_000_000_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApprovalStore]:
    """A migrated, empty store on each backend."""
    target = (
        str(tmp_path / "approval.db") if request.param == "sqlite" else str(request.getfixturevalue("pg_fresh_url"))
    )
    s = open_store(target)
    s.migrate()
    s.migrate()  # idempotent
    yield s
    s.close()


def record(aid: str, *, agent: str = "a1", status: str = "pending", offset: int = 0) -> ApprovalRecord:
    """An approval record decided at T0 + offset."""
    return ApprovalRecord(
        approval_id=aid,
        agent=agent,
        org="acme",
        team="pay",
        action_hash="ab" * 32,
        action=Action(kind="shell", target="deploy.sh", args={"env": "prod"}),
        reasons=["risk 60 ≥ 50"],
        decided_ns=T0 + offset,
        expires_ns=T0 + offset + 900 * 10**9,
        status=status,  # type: ignore[arg-type]
    )


def test_apply_writes_rows_diagnostics_and_position_together(store: ApprovalStore) -> None:
    """One batch: rows, diagnostics and position are all visible after it; records round-trip exactly."""
    assert store.position() == 0 and store.get("x") is None
    r = record("d1")
    store.apply(StoreBatch(7, [r], [Diagnostic(stream_seq=5, kind="forged", approval_id="d1", detail="bad sig")]))
    assert store.position() == 7
    assert msgspec.structs.asdict(store.get("d1") or record("none")) == msgspec.structs.asdict(r)
    assert [(d.stream_seq, d.kind, d.detail) for d in store.diagnostics()] == [(5, "forged", "bad sig")]


def test_upserts_and_replays_apply_nothing_twice(store: ApprovalStore) -> None:
    """Re-applying a batch (a replay after a crash) leaves one row and one diagnostic; position never goes back."""
    diag = Diagnostic(stream_seq=3, kind="late", approval_id="d1")
    store.apply(StoreBatch(3, [record("d1")], [diag]))
    granted = record("d1", status="granted")
    granted.resolver_name, granted.resolved_seq = "alice", 9
    store.apply(StoreBatch(9, [granted]))
    store.apply(StoreBatch(3, [record("d1")], [diag]))  # an old batch replayed: position stays
    assert store.position() == 9
    assert len(store.history()) == 1 and len(store.diagnostics()) == 1


def test_history_filters_and_orders_newest_first(store: ApprovalStore) -> None:
    """history() by agent and status, newest first, limited; load() returns pending plus recent."""
    rows = [
        record("d1", offset=1),
        record("d2", status="granted", offset=2),
        record("d3", agent="a2", offset=3),
        record("d4", status="denied", offset=-(10**12)),
    ]
    store.apply(StoreBatch(4, rows))
    assert [r.approval_id for r in store.history()] == ["d3", "d2", "d1", "d4"]
    assert [r.approval_id for r in store.history(agent="a1", status="pending")] == ["d1"]
    assert [r.approval_id for r in store.history(limit=1)] == ["d3"]
    assert {r.approval_id for r in store.load(T0)} == {"d1", "d2", "d3"}


def test_reset_empties_everything(store: ApprovalStore) -> None:
    """reset() (for --rebuild) leaves no rows, no diagnostics and position 0."""
    store.apply(StoreBatch(4, [record("d1")], [Diagnostic(stream_seq=2, kind="unknown")]))
    store.reset()
    assert store.position() == 0 and not store.history() and not store.diagnostics()
