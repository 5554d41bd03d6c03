"""The audit read model port: row types, the query object, the ``ReadModel`` protocol and ``open_read_model``.

The read model is a projection of the GOV stream kept in SQL for compliance queries (DESIGN §6): a SQLite
file by default, PostgreSQL when ``AGENTGOV_DATABASE_URL`` says so. Both backends implement ``ReadModel``
and pass one conformance suite (``services/audit/tests/test_store.py``).

What is shared between the backends lives here: the table and column lists, the query filters as data
(``query_conditions``), the ``counts_by`` allowlist and the read-only statement check. The SQL text built
from them, and the methods that are the same over either driver, live in ``sql``; ``store_sqlite`` and
``store_postgres`` keep only what differs (types, indexes, connections, transactions, read-only guards).

Writes come in one ``Batch`` per ``apply`` call, written in one transaction. ``apply`` is idempotent: rows
are keyed (events by ``stream_seq``, diagnostics by ``(stream_seq, kind)``, checkpoints by
``checkpoint_seq``, producer keys by ``producer``) and a key already present is left as it is, so replaying
the stream from any earlier position writes nothing twice. The first key recorded for a producer stays;
a later, different announcement for the same producer is the audit core's business (a diagnostic), not
an overwrite.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, Literal, NamedTuple, Protocol
from urllib.parse import urlsplit

import msgspec

from .errors import InvalidQueryError, ReadOnlyQueryError, StoreError

__all__ = [
    "CHECKPOINTS",
    "COUNTABLE_FIELDS",
    "DIAGNOSTICS",
    "EVENTS",
    "INDEXED_COLUMNS",
    "META",
    "PRODUCER_KEYS",
    "READ_KEYWORDS",
    "SCHEMA_VERSION",
    "STATUSES",
    "TABLES",
    "Batch",
    "CheckpointRow",
    "Column",
    "Condition",
    "DiagnosticRow",
    "EventQuery",
    "EventRow",
    "ProducerKeyRow",
    "ReadModel",
    "ReadonlyResult",
    "SqlParams",
    "Table",
    "check_readonly_statement",
    "count_field",
    "open_read_model",
    "query_conditions",
    "sort_counts",
]

SCHEMA_VERSION: Final = 1
"""Version of the tables below; ``migrate`` records it and refuses a database written by a newer build."""

STATUSES: Final = ("ok", "malformed", "unknown_type", "broken")
"""What the audit core made of an event: decoded and verified, undecodable, of an unknown type, or breaking
its producer chain."""


# ---------------------------------------------------------------------------------------------- row types


class EventRow(msgspec.Struct, frozen=True):
    """One stream message as the read model keeps it (the payload stays in the stream).

    ``leaf`` is the Merkle leaf (hex event hash) the checkpoint covers; ``ts`` is the event's own time in ns
    since the epoch; ``size`` the message size in bytes. Fields the event does not carry are ``None``.
    """

    stream_seq: int
    subject: str
    type: str
    status: str
    leaf: str
    event_id: str | None = None
    producer: str | None = None
    producer_seq: int | None = None
    agent: str | None = None
    team: str | None = None
    org: str | None = None
    verdict: str | None = None
    ts: int = 0
    trace_id: str | None = None
    size: int = 0


class DiagnosticRow(msgspec.Struct, frozen=True):
    """Something the audit core found wrong at a stream sequence (``kind`` e.g. ``chain_broken``)."""

    stream_seq: int
    kind: str
    reason: str
    detail: str = ""


class CheckpointRow(msgspec.Struct, frozen=True):
    """A sealed checkpoint over stream sequences ``first_seq..last_seq`` (``count`` events)."""

    checkpoint_seq: int
    first_seq: int
    last_seq: int
    count: int
    merkle_root: str
    hash: str
    ts: int


class ProducerKeyRow(msgspec.Struct, frozen=True):
    """A producer's announced public key, and the stream sequence of the announcement."""

    producer: str
    public_key: str
    key_id: str
    role: str
    stream_seq: int


class ProducerHeadRow(msgspec.Struct, frozen=True):
    """Where a producer's chain stood (its seq and event hash) when the batch holding it was committed.

    Unlike the other rows, heads are upserted: a newer head (higher ``seq``) replaces the stored one.
    The audit service resumes its verifier from these after a restart.
    """

    producer: str
    seq: int
    head: str
    stream_seq: int


class Batch(msgspec.Struct, frozen=True):
    """Everything one ``apply`` writes, in one transaction, and the stream position it brings us to."""

    events: Sequence[EventRow] = ()
    diagnostics: Sequence[DiagnosticRow] = ()
    checkpoints: Sequence[CheckpointRow] = ()
    producer_keys: Sequence[ProducerKeyRow] = ()
    position: int = 0
    producer_heads: Sequence[ProducerHeadRow] = ()


class EventQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Filters over the events table; ``None`` means "any". All given filters must hold.

    ``since_ns`` is inclusive and ``until_ns`` exclusive; ``after_seq`` keeps events with a larger
    ``stream_seq`` (for paging); rows come in ``stream_seq`` order, newest first when ``descending``.
    ``limit`` bounds ``query`` only; ``count`` and ``counts_by`` ignore it.
    """

    agent: str | None = None
    team: str | None = None
    org: str | None = None
    type: str | None = None
    verdict: str | None = None
    trace_id: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    status: str | None = None
    after_seq: int = 0
    limit: int = 1000
    descending: bool = False


# ------------------------------------------------------------------------------------------- table lists


class Column(NamedTuple):
    """A column as both backends declare it; each maps ``kind`` to its own SQL type."""

    name: str
    kind: Literal["int", "text"]
    nullable: bool = False


class Table(NamedTuple):
    """A table: its columns (in the order of the row type's fields) and its primary key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in declaration order (the row type's field order)."""
        return tuple(c.name for c in self.columns)

    def nullable(self, name: str) -> bool:
        """Whether column ``name`` may hold NULL."""
        return next(c.nullable for c in self.columns if c.name == name)


def _table(name: str, row: type[msgspec.Struct], key: tuple[str, ...]) -> Table:
    """Derive a table from a row type, so the columns can never drift from the fields."""
    columns = []
    for field in msgspec.structs.fields(row):
        members = getattr(field.type, "__args__", (field.type,))  # the X of X | None, or just X
        kind: Literal["int", "text"] = "int" if int in members else "text"
        columns.append(Column(field.name, kind, nullable=type(None) in members))
    return Table(name, tuple(columns), key)


EVENTS: Final = _table("audit_events", EventRow, ("stream_seq",))
DIAGNOSTICS: Final = _table("audit_diagnostics", DiagnosticRow, ("stream_seq", "kind"))
CHECKPOINTS: Final = _table("audit_checkpoints", CheckpointRow, ("checkpoint_seq",))
PRODUCER_KEYS: Final = _table("audit_producer_keys", ProducerKeyRow, ("producer",))
PRODUCER_HEADS: Final = _table("audit_producer_heads", ProducerHeadRow, ("producer",))
META: Final = Table("audit_meta", (Column("name", "text"), Column("value", "int")), ("name",))
"""Named integers: ``schema_version`` and ``position`` (the last applied stream sequence)."""

TABLES: Final = (EVENTS, DIAGNOSTICS, CHECKPOINTS, PRODUCER_KEYS, PRODUCER_HEADS, META)

INDEXED_COLUMNS: Final = ("agent", "team", "org", "type", "verdict", "ts", "trace_id")
"""Event columns with an index. Indexes on nullable columns are partial (``WHERE column IS NOT NULL``):
filters compare with ``=``, which implies it, and rows without the field cost no index entry. Each backend
makes the index return a filtered page in ``stream_seq`` order where it can (see its module)."""

COUNTABLE_FIELDS: Final = frozenset({"type", "verdict", "agent", "team", "org", "status", "producer"})
"""The event columns ``counts_by`` may group on."""


# ------------------------------------------------------------------------------------------ query helpers


class Condition(NamedTuple):
    """One filter as data: ``column op value``; ``sql.Statements`` renders it in a backend's placeholder style."""

    column: str
    op: Literal["=", ">", ">=", "<"]
    value: object


def query_conditions(q: EventQuery) -> list[Condition]:
    """The filters of ``q`` as conditions (all must hold), after checking its values."""
    if q.status is not None and q.status not in STATUSES:
        raise InvalidQueryError("status", q.status, f"not one of {', '.join(STATUSES)}")
    if q.after_seq < 0:
        raise InvalidQueryError("after_seq", q.after_seq, "must be 0 or more")
    if q.limit < 0:
        raise InvalidQueryError("limit", q.limit, "must be 0 or more")
    conditions = [
        Condition(column, "=", value)
        for column, value in (
            ("agent", q.agent),
            ("team", q.team),
            ("org", q.org),
            ("type", q.type),
            ("verdict", q.verdict),
            ("trace_id", q.trace_id),
            ("status", q.status),
        )
        if value is not None
    ]
    if q.since_ns is not None:
        conditions.append(Condition("ts", ">=", q.since_ns))
    if q.until_ns is not None:
        conditions.append(Condition("ts", "<", q.until_ns))
    if q.after_seq:
        conditions.append(Condition("stream_seq", ">", q.after_seq))
    return conditions


def count_field(field: str) -> str:
    """Return ``field`` if ``counts_by`` may group on it, else raise ``InvalidQueryError``."""
    if field not in COUNTABLE_FIELDS:
        allowed = ", ".join(sorted(COUNTABLE_FIELDS))
        raise InvalidQueryError("field", field, f"counts_by groups only on {allowed}")
    return field


def sort_counts(rows: Sequence[tuple[str | None, int]]) -> list[tuple[str | None, int]]:
    """Order ``counts_by`` results the same on every backend: largest count first, then by key, ``None`` last.

    Sorting here rather than in SQL keeps the order independent of the database's collation.
    """
    return sorted(((key, int(n)) for key, n in rows), key=lambda kn: (-kn[1], kn[0] is None, kn[0] or ""))


# ------------------------------------------------------------------------------------- read-only queries

SqlParams = Sequence[object] | Mapping[str, object]
"""Parameters for ``execute_readonly``, in the backend's placeholder style (SQLite ``?``/``:name``,
PostgreSQL ``%s``/``%(name)s``)."""

ReadonlyResult = tuple[list[str], list[tuple[object, ...]]]
"""What ``execute_readonly`` returns: the column names and the rows."""

READ_KEYWORDS: Final = frozenset({"select", "with", "values", "table"})
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z]+")


def check_readonly_statement(sql: str) -> None:
    """Refuse a statement that does not start with a reading keyword (``SELECT``, ``WITH``, ``VALUES``,
    ``TABLE``).

    This is the first of three guards; the backends also run the statement on a read-only connection or in
    a ``READ ONLY`` transaction, one statement at a time, so a ``WITH … DELETE`` still fails.
    """
    noise = _LEADING_NOISE.match(sql)
    rest = sql[noise.end() :] if noise else sql
    word = _WORD.match(rest)
    if word is None:
        raise ReadOnlyQueryError(sql, "no statement found")
    if word.group().lower() not in READ_KEYWORDS:
        raise ReadOnlyQueryError(sql, f"{word.group().upper()} statements are refused")


# -------------------------------------------------------------------------------------------------- port


class ReadModel(Protocol):
    """The audit SQL read model. Methods are synchronous; the service calls them through
    ``asyncio.to_thread``, and implementations serialise calls from different threads."""

    def migrate(self) -> None:
        """Create the tables and indexes if missing and record the schema version (idempotent)."""
        ...

    def position(self) -> int:
        """The last stream sequence applied (0 before the first batch)."""
        ...

    def apply(self, batch: Batch) -> None:
        """Write ``batch`` in one transaction; keys already present are skipped; position becomes the max
        of the old and the batch's."""
        ...

    def query(self, q: EventQuery) -> list[EventRow]:
        """Events matching ``q``, in stream order (reversed when ``q.descending``), at most ``q.limit``."""
        ...

    def count(self, q: EventQuery) -> int:
        """How many events match ``q`` (``limit`` ignored)."""
        ...

    def counts_by(self, field: str, q: EventQuery) -> list[tuple[str | None, int]]:
        """Events matching ``q`` grouped on ``field`` (one of ``COUNTABLE_FIELDS``), largest group first."""
        ...

    def diagnostics(self, after_seq: int = 0, limit: int = 1000) -> list[DiagnosticRow]:
        """Diagnostics after ``after_seq`` in ``(stream_seq, kind)`` order."""
        ...

    def checkpoints(self) -> list[CheckpointRow]:
        """All checkpoints in ``checkpoint_seq`` order."""
        ...

    def producer_heads(self) -> list[ProducerHeadRow]:
        """Every producer's last committed chain head, in ``producer`` order."""
        ...

    def maintain(self) -> None:
        """Housekeeping off the write path (SQLite: checkpoint the WAL); called when the service is idle."""
        ...

    def producer_keys(self) -> list[ProducerKeyRow]:
        """All producer keys in ``producer`` order."""
        ...

    def execute_readonly(self, sql: str, params: SqlParams = ()) -> ReadonlyResult:
        """Run one ad-hoc reading statement; return column names and rows. Writes raise
        ``ReadOnlyQueryError``."""
        ...

    def close(self) -> None:
        """Release the connection(s); the object is unusable afterwards."""
        ...


# ------------------------------------------------------------------------------------------ construction


def open_read_model(target: str | os.PathLike[str]) -> ReadModel:
    """Open the read model at ``target`` (without migrating it).

    ``postgresql://…`` or ``postgres://…`` opens PostgreSQL (tables go in the connection's current schema,
    e.g. ``?options=-csearch_path%3Daudit``). ``sqlite:///relative/path``, ``sqlite:////absolute/path`` or a
    plain path opens a SQLite file, created if missing.
    """
    text = os.fspath(target)
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres"):
        from .store_postgres import PostgresReadModel  # noqa: PLC0415 - load a driver only when asked for it

        return PostgresReadModel(text)
    if scheme == "sqlite":
        text = text[len("sqlite:///") :] if text.lower().startswith("sqlite:///") else ""
    elif scheme:
        raise StoreError("open", f"unsupported read model target {scheme}://… (use postgresql:// or sqlite:///)")
    if not text or text == ":memory:" or text.startswith("file:"):
        raise StoreError("open", f"{os.fspath(target)!r} is not a database file path")
    from .store_sqlite import SqliteReadModel  # noqa: PLC0415 - see above

    return SqliteReadModel(Path(text))
