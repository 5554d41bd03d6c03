"""The read model conformance suite: every test runs against SQLite and against PostgreSQL.

The tests are written once against the ``ReadModel`` port; the ``read_model`` fixture is parametrized over
the backends (PostgreSQL cases carry the ``postgres`` marker and use a schema of their own).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest

from agentgov.audit.errors import (
    InvalidQueryError,
    ReadOnlyQueryError,
    StoreError,
)
from agentgov.audit.store import (
    COUNTABLE_FIELDS,
    SCHEMA_VERSION,
    Batch,
    CheckpointRow,
    DiagnosticRow,
    EventQuery,
    EventRow,
    ProducerKeyRow,
    ReadModel,
    open_read_model,
)

T0 = 1_700_000_000_000_000_000
"""A base time in ns; event times below are offsets from it, deliberately not in stream order."""


def ev(
    seq: int,
    *,
    offset: int,
    agent: str | None = None,
    team: str | None = None,
    org: str | None = None,
    type_: str = "ActionDecided.v1",
    verdict: str | None = None,
    trace_id: str | None = None,
    status: str = "ok",
    producer: str | None = "policy-1",
) -> EventRow:
    """An event row with the fields the filters look at, and plausible values for the rest."""
    return EventRow(
        stream_seq=seq,
        subject=f"gov.decision.{agent or 'unknown'}",
        type=type_,
        status=status,
        leaf=f"{seq:064x}",
        event_id=None if status == "malformed" else f"0190-{seq:04d}",
        producer=producer,
        producer_seq=None if producer is None else seq,
        agent=agent,
        team=team,
        org=org,
        verdict=verdict,
        ts=T0 + offset,
        trace_id=trace_id,
        size=200 + seq,
    )


DECIDED = "ActionDecided.v1"
EVENTS = [
    ev(1, offset=1000, agent="a1", team="t1", org="o1", verdict="allow", trace_id="tr1"),
    ev(2, offset=2000, agent="a2", team="t1", org="o1", verdict="deny", trace_id="tr1"),
    ev(
        3,
        offset=2500,
        agent="a1",
        team="t2",
        org="o1",
        type_="SpendRecorded.v1",
        trace_id="tr2",
        producer="spend-1",
    ),
    ev(4, offset=4000, agent="a3", team="t3", org="o2", verdict="review", trace_id="tr3"),
    ev(5, offset=3000, type_="", status="malformed", producer=None),
    ev(6, offset=6000, agent="a1", team="t1", org="o1", verdict="allow", status="broken"),
    ev(
        7,
        offset=7000,
        agent="a2",
        team="t1",
        org="o1",
        type_="Future.v9",
        trace_id="tr4",
        status="unknown_type",
    ),
    ev(8, offset=9000, agent="a1", team="t1", org="o1", verdict="deny", trace_id="tr4"),
    ev(
        9,
        offset=8000,
        agent="a4",
        team="t2",
        org="o2",
        type_="ApprovalGranted.v1",
        trace_id="tr5",
        producer="approval-1",
    ),
    ev(10, offset=10000, agent="a1", team="t2", org="o1", verdict="redact", trace_id="tr1"),
]
BY_SEQ = {e.stream_seq: e for e in EVENTS}
DIAGNOSTICS = [
    DiagnosticRow(5, "malformed", "not a framed event", "first bytes 0x7b22"),
    DiagnosticRow(6, "chain_broken", "gap", "policy-1 jumped from 5 to 6"),
    DiagnosticRow(6, "bad_signature", "signature does not verify"),
    DiagnosticRow(7, "unknown_type", "Future.v9"),
]
CHECKPOINTS = [
    CheckpointRow(1, 1, 5, 5, "ab" * 32, "cd" * 32, T0 + 5000),
    CheckpointRow(2, 6, 10, 5, "ef" * 32, "01" * 32, T0 + 11000),
]
PRODUCER_KEYS = [
    ProducerKeyRow("policy-1", "pk-policy", "kid-p", "policy", 1),
    ProducerKeyRow("approval-1", "pk-approval", "kid-a", "approval", 9),
]
FULL = Batch(events=EVENTS, diagnostics=DIAGNOSTICS, checkpoints=CHECKPOINTS, producer_keys=PRODUCER_KEYS, position=10)


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    name: str = request.param
    return name


@pytest.fixture
def target(backend: str, request: pytest.FixtureRequest) -> str:
    """Where the backend's empty database is: a temp SQLite file or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        path: Path = request.getfixturevalue("sqlite_path")
        return str(path)
    url: str = request.getfixturevalue("pg_fresh_url")
    return url


@pytest.fixture
def read_model(target: str) -> Iterator[ReadModel]:
    """A migrated, empty read model."""
    rm = open_read_model(target)
    rm.migrate()
    yield rm
    rm.close()


@pytest.fixture
def loaded(read_model: ReadModel) -> ReadModel:
    """The read model with the sample batch applied."""
    read_model.apply(FULL)
    return read_model


@pytest.fixture
def placeholder(backend: str) -> str:
    """The backend's parameter placeholder for ``execute_readonly``."""
    return "?" if backend == "sqlite" else "%s"


def seqs(rows: list[EventRow]) -> list[int]:
    """The stream sequences of ``rows``, in order."""
    return [r.stream_seq for r in rows]


def everything(rm: ReadModel) -> tuple[object, ...]:
    """All that the read model holds, for before/after comparisons."""
    return (
        rm.query(EventQuery(limit=10_000)),
        rm.diagnostics(),
        rm.checkpoints(),
        rm.producer_keys(),
        rm.position(),
    )


# ------------------------------------------------------------------------------- migrate and position


def test_migrate_is_idempotent(read_model: ReadModel) -> None:
    """Migrating an already migrated database changes nothing and keeps the data."""
    read_model.migrate()
    read_model.apply(FULL)
    before = everything(read_model)
    read_model.migrate()
    read_model.migrate()
    assert everything(read_model) == before


def test_migrate_records_schema_version(read_model: ReadModel) -> None:
    """The schema version is recorded in the meta table."""
    _, rows = read_model.execute_readonly("SELECT value FROM audit_meta WHERE name = 'schema_version'")
    assert rows == [(SCHEMA_VERSION,)]


def test_unmigrated_read_model_raises_store_error(target: str) -> None:
    """Reading the position before migrating raises StoreError, not a driver error."""
    rm = open_read_model(target)
    try:
        with pytest.raises(StoreError):
            rm.position()
    finally:
        rm.close()


def test_position_starts_at_zero(read_model: ReadModel) -> None:
    """A fresh read model is at position 0 and holds nothing."""
    assert read_model.position() == 0
    assert read_model.query(EventQuery()) == []
    assert read_model.count(EventQuery()) == 0


def test_position_only_moves_forward(read_model: ReadModel) -> None:
    """Position becomes the max of the old and the batch's, so an older batch never moves it back."""
    read_model.apply(Batch(position=10))
    assert read_model.position() == 10
    read_model.apply(Batch(events=EVENTS[:3], position=3))
    assert read_model.position() == 10
    read_model.apply(Batch(position=25))
    assert read_model.position() == 25


# -------------------------------------------------------------------------------------------- apply


def test_apply_writes_every_kind_of_row(loaded: ReadModel) -> None:
    """Events, diagnostics, checkpoints and producer keys round-trip unchanged."""
    assert loaded.query(EventQuery()) == EVENTS
    assert loaded.diagnostics() == sorted(DIAGNOSTICS, key=lambda d: (d.stream_seq, d.kind))
    assert loaded.checkpoints() == CHECKPOINTS
    assert loaded.producer_keys() == sorted(PRODUCER_KEYS, key=lambda k: k.producer)
    assert loaded.position() == 10


def test_apply_is_atomic(read_model: ReadModel) -> None:
    """A batch with one row violating NOT NULL writes nothing at all and leaves the position alone."""
    bad = msgspec.structs.replace(EVENTS[3], subject=None)
    batch = Batch(
        events=[*EVENTS[:3], bad, *EVENTS[4:]],
        diagnostics=DIAGNOSTICS,
        checkpoints=CHECKPOINTS,
        producer_keys=PRODUCER_KEYS,
        position=10,
    )
    with pytest.raises(StoreError):
        read_model.apply(batch)
    assert everything(read_model) == ([], [], [], [], 0)
    read_model.apply(FULL)  # the connection is still usable after the rollback
    assert read_model.count(EventQuery()) == len(EVENTS)


def test_apply_rejects_unknown_status(read_model: ReadModel) -> None:
    """An event status outside ok/malformed/unknown_type/broken is refused and nothing is written."""
    with pytest.raises(StoreError):
        read_model.apply(Batch(events=[msgspec.structs.replace(EVENTS[0], status="fine")], position=1))
    assert everything(read_model) == ([], [], [], [], 0)


def test_reapplying_a_batch_writes_nothing_twice(loaded: ReadModel) -> None:
    """Applying the same batch again leaves exactly the same rows."""
    before = everything(loaded)
    loaded.apply(FULL)
    assert everything(loaded) == before
    assert loaded.count(EventQuery()) == len(EVENTS)


def test_overlapping_batch_keeps_first_rows_and_adds_new(read_model: ReadModel) -> None:
    """An overlapping batch adds only the new keys; rows already there keep their first version."""
    read_model.apply(
        Batch(
            events=EVENTS[:6],
            diagnostics=DIAGNOSTICS[:2],
            checkpoints=CHECKPOINTS[:1],
            producer_keys=PRODUCER_KEYS[:1],
            position=6,
        )
    )
    changed = [msgspec.structs.replace(e, subject="gov.changed") for e in EVENTS[3:6]]
    read_model.apply(
        Batch(
            events=[*changed, *EVENTS[6:]],
            diagnostics=[msgspec.structs.replace(DIAGNOSTICS[1], reason="other"), *DIAGNOSTICS[2:]],
            checkpoints=[msgspec.structs.replace(CHECKPOINTS[0], hash="ff" * 32), CHECKPOINTS[1]],
            producer_keys=[
                msgspec.structs.replace(PRODUCER_KEYS[0], public_key="pk-forged"),
                PRODUCER_KEYS[1],
            ],
            position=10,
        )
    )
    assert read_model.query(EventQuery()) == EVENTS
    assert read_model.diagnostics() == sorted(DIAGNOSTICS, key=lambda d: (d.stream_seq, d.kind))
    assert read_model.checkpoints() == CHECKPOINTS
    assert read_model.producer_keys() == sorted(PRODUCER_KEYS, key=lambda k: k.producer)
    assert read_model.position() == 10


def test_apply_from_several_threads(read_model: ReadModel) -> None:
    """Calls from worker threads (as through asyncio.to_thread) are serialised and all land."""
    batches = [Batch(events=[e], position=e.stream_seq) for e in EVENTS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(read_model.apply, batches))
        counts = list(pool.map(lambda _: read_model.count(EventQuery()), range(8)))
    assert all(0 <= n <= len(EVENTS) for n in counts)
    assert read_model.query(EventQuery()) == EVENTS
    assert read_model.position() == 10


# -------------------------------------------------------------------------------------------- query

QUERY_CASES = [
    pytest.param(EventQuery(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], id="everything"),
    pytest.param(EventQuery(agent="a1"), [1, 3, 6, 8, 10], id="agent"),
    pytest.param(EventQuery(team="t2"), [3, 9, 10], id="team"),
    pytest.param(EventQuery(org="o2"), [4, 9], id="org"),
    pytest.param(EventQuery(type=DECIDED), [1, 2, 4, 6, 8, 10], id="type"),
    pytest.param(EventQuery(verdict="deny"), [2, 8], id="verdict"),
    pytest.param(EventQuery(trace_id="tr1"), [1, 2, 10], id="trace_id"),
    pytest.param(EventQuery(since_ns=T0 + 3000), [4, 5, 6, 7, 8, 9, 10], id="since-inclusive"),
    pytest.param(EventQuery(until_ns=T0 + 3000), [1, 2, 3], id="until-exclusive"),
    pytest.param(EventQuery(since_ns=T0 + 2500, until_ns=T0 + 8001), [3, 4, 5, 6, 7, 9], id="time-range"),
    pytest.param(EventQuery(status="broken"), [6], id="status-broken"),
    pytest.param(EventQuery(status="malformed"), [5], id="status-malformed"),
    pytest.param(EventQuery(status="ok"), [1, 2, 3, 4, 8, 9, 10], id="status-ok"),
    pytest.param(EventQuery(after_seq=7), [8, 9, 10], id="after_seq"),
    pytest.param(EventQuery(limit=3), [1, 2, 3], id="limit"),
    pytest.param(EventQuery(limit=0), [], id="limit-zero"),
    pytest.param(EventQuery(descending=True), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1], id="descending"),
    pytest.param(EventQuery(descending=True, limit=2), [10, 9], id="descending-limit"),
    pytest.param(EventQuery(after_seq=2, limit=2), [3, 4], id="after_seq-limit"),
    pytest.param(EventQuery(agent="a1", verdict="deny"), [8], id="agent-and-verdict"),
    pytest.param(EventQuery(agent="a1", team="t1", since_ns=T0 + 5000), [6, 8], id="agent-team-since"),
    pytest.param(EventQuery(agent="a1", descending=True, limit=2), [10, 8], id="agent-descending-limit"),
    pytest.param(EventQuery(agent="nobody"), [], id="no-match"),
]


@pytest.mark.parametrize(("q", "expected"), QUERY_CASES)
def test_query_returns_exactly_the_matching_rows(loaded: ReadModel, q: EventQuery, expected: list[int]) -> None:
    """Each filter, alone and combined, returns exactly the matching events in the asked order."""
    assert loaded.query(q) == [BY_SEQ[s] for s in expected]


@pytest.mark.parametrize(("q", "expected"), QUERY_CASES)
def test_count_matches_query_without_limit(loaded: ReadModel, q: EventQuery, expected: list[int]) -> None:
    """count() counts what query() would return if it had no limit."""
    unlimited = msgspec.structs.replace(q, limit=10_000)
    assert loaded.count(q) == len(loaded.query(unlimited))


@pytest.mark.parametrize(
    ("q", "field"),
    [
        pytest.param(EventQuery(status="fine"), "status", id="unknown-status"),
        pytest.param(EventQuery(limit=-1), "limit", id="negative-limit"),
        pytest.param(EventQuery(after_seq=-1), "after_seq", id="negative-after_seq"),
    ],
)
def test_invalid_query_values_raise(read_model: ReadModel, q: EventQuery, field: str) -> None:
    """A query with an impossible value raises InvalidQueryError naming the field."""
    with pytest.raises(InvalidQueryError) as caught:
        read_model.query(q)
    assert caught.value.field == field


# ----------------------------------------------------------------------------------------- counts_by


def test_counts_by_verdict(loaded: ReadModel) -> None:
    """counts_by groups matching events, largest group first, ties by key, None last."""
    assert loaded.counts_by("verdict", EventQuery()) == [
        (None, 4),
        ("allow", 2),
        ("deny", 2),
        ("redact", 1),
        ("review", 1),
    ]
    assert loaded.counts_by("agent", EventQuery(agent="a1")) == [("a1", 5)]
    assert loaded.counts_by("status", EventQuery(since_ns=T0 + 6000)) == [
        ("ok", 3),
        ("broken", 1),
        ("unknown_type", 1),
    ]


@pytest.mark.parametrize("field", sorted(COUNTABLE_FIELDS))
def test_counts_by_every_allowed_field(loaded: ReadModel, field: str) -> None:
    """counts_by on each allowed field, with a filter, agrees with counting the matching rows by hand."""
    q = EventQuery(org="o1")
    matching = loaded.query(msgspec.structs.replace(q, limit=10_000))
    counted = Counter(getattr(e, field) for e in matching)
    expected = sorted(counted.items(), key=lambda kn: (-kn[1], kn[0] is None, kn[0] or ""))
    assert loaded.counts_by(field, q) == expected


@pytest.mark.parametrize("field", ["leaf", "ts", "agent; DROP TABLE audit_events", ""])
def test_counts_by_rejects_fields_outside_the_allowlist(loaded: ReadModel, field: str) -> None:
    """counts_by on a field outside the allowlist raises InvalidQueryError and touches nothing."""
    with pytest.raises(InvalidQueryError):
        loaded.counts_by(field, EventQuery())
    assert loaded.count(EventQuery()) == len(EVENTS)


# ---------------------------------------------------------------------------- diagnostics and others


def test_diagnostics_page_by_stream_seq(loaded: ReadModel) -> None:
    """diagnostics() pages with after_seq and limit in (stream_seq, kind) order."""
    ordered = sorted(DIAGNOSTICS, key=lambda d: (d.stream_seq, d.kind))
    assert loaded.diagnostics(after_seq=5) == ordered[1:]
    assert loaded.diagnostics(limit=2) == ordered[:2]
    assert loaded.diagnostics(after_seq=7) == []


# ------------------------------------------------------------------------------------ read-only SQL


def test_execute_readonly_runs_a_select(loaded: ReadModel) -> None:
    """A SELECT returns its column names and rows."""
    columns, rows = loaded.execute_readonly(
        "SELECT stream_seq, agent FROM audit_events WHERE verdict = 'deny' ORDER BY stream_seq"
    )
    assert columns == ["stream_seq", "agent"]
    assert rows == [(2, "a2"), (8, "a1")]


def test_execute_readonly_binds_parameters(loaded: ReadModel, placeholder: str) -> None:
    """Parameters are bound with the backend's placeholder, and a WITH query is allowed."""
    columns, rows = loaded.execute_readonly(
        "-- agents of one team\nWITH t AS (SELECT agent FROM audit_events "
        f"WHERE team = {placeholder}) SELECT count(*) AS n FROM t",
        ("t2",),
    )
    assert columns == ["n"]
    assert rows == [(3,)]


def test_execute_readonly_allows_percent_without_parameters(loaded: ReadModel) -> None:
    """A literal % in a query without parameters is not taken for a placeholder."""
    _, rows = loaded.execute_readonly("SELECT count(*) FROM audit_events WHERE subject LIKE 'gov.decision.a%'")
    assert rows == [(9,)]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO audit_events (stream_seq, subject, type, status, leaf, ts, size) "
        "VALUES (99, 's', 't', 'ok', 'l', 0, 0)",
        "DELETE FROM audit_events",
        "DROP TABLE audit_events",
        "UPDATE audit_meta SET value = 0 WHERE name = 'position'",
        "CREATE TABLE sneaky (a integer)",
        "/* looks harmless */ DELETE FROM audit_events",
        "SELECT 1; DELETE FROM audit_events",
        "SELECT 1; COMMIT; DROP TABLE audit_events",
        "ATTACH DATABASE 'elsewhere.db' AS elsewhere",
        "  ",
    ],
)
def test_execute_readonly_refuses_writes(loaded: ReadModel, sql: str) -> None:
    """Anything but a single reading statement raises ReadOnlyQueryError and changes nothing."""
    before = everything(loaded)
    with pytest.raises(ReadOnlyQueryError):
        loaded.execute_readonly(sql)
    assert everything(loaded) == before


def test_execute_readonly_refuses_a_writing_cte(loaded: ReadModel) -> None:
    """A data-modifying WITH query fails (a syntax error on SQLite, read-only on PostgreSQL)."""
    before = everything(loaded)
    with pytest.raises(StoreError):
        loaded.execute_readonly("WITH gone AS (DELETE FROM audit_events RETURNING stream_seq) SELECT * FROM gone")
    assert everything(loaded) == before


def test_execute_readonly_reports_bad_sql_as_store_error(loaded: ReadModel) -> None:
    """A SELECT that does not compile raises StoreError (not a driver error), and the model stays usable."""
    with pytest.raises(StoreError) as caught:
        loaded.execute_readonly("SELECT no_such_column FROM audit_events")
    assert not isinstance(caught.value, ReadOnlyQueryError)
    assert loaded.count(EventQuery()) == len(EVENTS)


# --------------------------------------------------------------------------------- open_read_model


def test_open_sqlite_from_a_url_or_a_path(sqlite_path: Path) -> None:
    """sqlite:/// URLs, plain strings and Path objects all open the same SQLite file."""
    first = open_read_model(f"sqlite:///{sqlite_path}")  # absolute path: four slashes in all
    first.migrate()
    first.apply(Batch(events=EVENTS[:2], position=2))
    first.close()
    for target in (sqlite_path, str(sqlite_path)):
        rm = open_read_model(target)
        try:
            assert rm.position() == 2
        finally:
            rm.close()


@pytest.mark.postgres
def test_open_postgres_scheme_alias(pg_fresh_url: str) -> None:
    """postgres:// is accepted as well as postgresql://."""
    rm = open_read_model(pg_fresh_url.replace("postgresql://", "postgres://", 1))
    try:
        rm.migrate()
        assert rm.position() == 0
    finally:
        rm.close()


@pytest.mark.parametrize("target", ["mysql://db/audit", "sqlite://", ":memory:", "sqlite:///:memory:", ""])
def test_open_refuses_unsupported_targets(target: str) -> None:
    """Other URL schemes and in-memory SQLite (no file for the read-only connection) raise StoreError."""
    with pytest.raises(StoreError):
        open_read_model(target)
