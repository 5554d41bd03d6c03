"""The SQL both read model backends share: statement texts, the DDL skeleton and ``SqlReadModel``.

The backends speak the same SQL but for the placeholder (SQLite ``?``, psycopg ``%s``), the name of the
two-argument maximum (``MAX`` / ``GREATEST``), column types and index methods. ``Statements`` builds every
statement text once per backend from the table lists in ``store``; ``schema`` builds the DDL from a type map
and an index method. ``SqlReadModel`` holds the methods that are the same code over either driver; a
backend adds its connection, its transactions, its error mapping, ``execute_readonly`` and what it writes
or creates differently (``_write_events``, ``_before_migrate``).

Identifiers in the statements come from our own table lists, never from input; values are always bound.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import msgspec

from .errors import StoreError
from .store import (
    CHECKPOINTS,
    DIAGNOSTICS,
    EVENTS,
    INDEXED_COLUMNS,
    META,
    PRODUCER_HEADS,
    PRODUCER_KEYS,
    SCHEMA_VERSION,
    STATUSES,
    TABLES,
    Batch,
    CheckpointRow,
    DiagnosticRow,
    EventQuery,
    EventRow,
    ProducerHeadRow,
    ProducerKeyRow,
    Table,
    count_field,
    query_conditions,
    sort_counts,
)

__all__ = ["Connection", "Cursor", "SqlReadModel", "Statements", "column_defs", "schema"]


# -------------------------------------------------------------------------------------------------- DDL


def column_defs(table: Table, types: Mapping[str, str]) -> list[str]:
    """``name TYPE [NOT NULL]`` for each column of ``table``, with ``types`` mapping a column kind to SQL."""
    return [f"{c.name} {types[c.kind]}{'' if c.nullable else ' NOT NULL'}" for c in table.columns]


def _create_table(table: Table, types: Mapping[str, str]) -> str:
    columns = column_defs(table, types)
    if table is EVENTS:
        columns.append(f"CHECK (status IN ({', '.join(repr(s) for s in STATUSES)}))")
    columns.append(f"PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(columns)})"


def schema(types: Mapping[str, str], index_method: Callable[[str], str]) -> tuple[str, ...]:
    """``CREATE … IF NOT EXISTS`` for every table and event index; ``index_method(column)`` is what follows
    ``ON audit_events`` (e.g. ``(agent)`` or ``USING brin (ts)``). Indexes on nullable columns are partial."""
    return (
        *(_create_table(t, types) for t in TABLES),
        *(
            f"CREATE INDEX IF NOT EXISTS {EVENTS.name}_{col}_idx ON {EVENTS.name} {index_method(col)}"
            + (f" WHERE {col} IS NOT NULL" if EVENTS.nullable(col) else "")
            for col in INDEXED_COLUMNS
        ),
    )


# --------------------------------------------------------------------------------------------- statements


def _select(table: Table, tail: str = "") -> str:
    return f"SELECT {', '.join(table.column_names)} FROM {table.name}{tail}"  # noqa: S608 - our identifiers


def _insert(table: Table, placeholder: str, on_conflict: str = "DO NOTHING") -> str:
    names = table.column_names
    return (
        f"INSERT INTO {table.name} ({', '.join(names)})"  # noqa: S608 - our identifiers
        f" VALUES ({', '.join([placeholder] * len(names))}) "
        f"ON CONFLICT ({', '.join(table.key)}) {on_conflict}"
    )


@dataclass(frozen=True, slots=True)
class Statements:
    """Every statement text the read model runs, in one placeholder style (build with ``for_placeholder``)."""

    placeholder: str
    insert_event: str
    insert_diagnostic: str
    insert_checkpoint: str
    insert_producer_key: str
    upsert_producer_head: str
    """A newer head (higher ``seq``) replaces the stored one; an older or equal one is ignored."""
    insert_meta: str
    advance_position: str
    """Position becomes the max of the stored one and the parameter."""
    select_meta: str
    select_events: str
    count_events: str
    select_diagnostics: str
    select_checkpoints: str
    select_producer_keys: str
    select_producer_heads: str

    @classmethod
    def for_placeholder(cls, p: Literal["?", "%s"], *, greatest: Literal["MAX", "GREATEST"]) -> Statements:
        """The statements with ``p`` for each bound value and ``greatest`` as the two-argument maximum."""
        return cls(
            placeholder=p,
            insert_event=_insert(EVENTS, p),
            insert_diagnostic=_insert(DIAGNOSTICS, p),
            insert_checkpoint=_insert(CHECKPOINTS, p),
            insert_producer_key=_insert(PRODUCER_KEYS, p),
            upsert_producer_head=_insert(
                PRODUCER_HEADS,
                p,
                "DO UPDATE SET seq = excluded.seq, head = excluded.head, stream_seq = excluded.stream_seq"
                f" WHERE excluded.seq > {PRODUCER_HEADS.name}.seq",
            ),
            insert_meta=_insert(META, p),
            advance_position=f"UPDATE {META.name} SET value = {greatest}(value, {p}) WHERE name = 'position'",  # noqa: S608
            select_meta=f"SELECT value FROM {META.name} WHERE name = {p}",  # noqa: S608 - our identifiers
            select_events=_select(EVENTS),
            count_events=f"SELECT count(*) FROM {EVENTS.name}",  # noqa: S608 - our identifiers
            select_diagnostics=_select(DIAGNOSTICS, f" WHERE stream_seq > {p} ORDER BY stream_seq, kind LIMIT {p}"),
            select_checkpoints=_select(CHECKPOINTS, " ORDER BY checkpoint_seq"),
            select_producer_keys=_select(PRODUCER_KEYS, " ORDER BY producer"),
            select_producer_heads=_select(PRODUCER_HEADS, " ORDER BY producer"),
        )

    def where(self, q: EventQuery) -> tuple[str, list[object]]:
        """The ``WHERE`` clause for the filters of ``q`` (empty when there are none) and its parameters."""
        conditions = query_conditions(q)
        if not conditions:
            return "", []
        clause = " AND ".join(f"{c.column} {c.op} {self.placeholder}" for c in conditions)
        return f" WHERE {clause}", [c.value for c in conditions]

    def query(self, q: EventQuery) -> tuple[str, list[object]]:
        """Select the events matching ``q``, in (reversed when ``q.descending``) stream order, at most
        ``q.limit``."""
        where, params = self.where(q)
        order = "DESC" if q.descending else "ASC"
        return f"{self.select_events}{where} ORDER BY stream_seq {order} LIMIT {self.placeholder}", [*params, q.limit]

    def count(self, q: EventQuery) -> tuple[str, list[object]]:
        """Count the events matching ``q``."""
        where, params = self.where(q)
        return self.count_events + where, params

    def counts_by(self, field: str, q: EventQuery) -> tuple[str, list[object]]:
        """Count the events matching ``q`` per value of ``field`` (checked against ``COUNTABLE_FIELDS``)."""
        column = count_field(field)
        where, params = self.where(q)
        return f"SELECT {column}, count(*) FROM {EVENTS.name}{where} GROUP BY {column}", params  # noqa: S608


# ------------------------------------------------------------------------------------------ driver shapes


class Cursor(Protocol):
    """What ``SqlReadModel`` uses of a DB-API cursor (``sqlite3.Cursor``, ``psycopg.Cursor``)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> object: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]], /) -> object: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What ``SqlReadModel`` uses of a connection (``sqlite3.Connection``, ``psycopg.Connection``)."""

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> Cursor: ...

    def close(self) -> None: ...


ConnT = TypeVar("ConnT", bound=Connection)
CurT = TypeVar("CurT", bound=Cursor)


# ------------------------------------------------------------------------------------------- shared model


class SqlReadModel(ABC, Generic[ConnT, CurT]):
    """The ``ReadModel`` methods that are the same SQL over either driver.

    A subclass sets ``_sql`` and ``_schema``, opens ``_conn`` and ``_lock`` (one connection, calls
    serialised by the lock) and provides ``_errors`` and ``_transaction``.
    """

    _sql: ClassVar[Statements]
    _schema: ClassVar[Sequence[str]]
    _lock: threading.Lock
    _conn: ConnT

    @abstractmethod
    def _errors(self, operation: str) -> AbstractContextManager[None]:
        """Turn driver errors into ``StoreError`` naming the operation."""

    @abstractmethod
    def _transaction(self, operation: str) -> AbstractContextManager[CurT]:
        """Hold the lock and run the block in one write transaction, rolled back on any error."""

    def _before_migrate(self, cur: CurT) -> None:
        """Run first in the migration's transaction (nothing by default)."""

    def _write_events(self, cur: CurT, events: Sequence[EventRow]) -> None:
        """Insert ``events`` in the apply transaction, skipping stream sequences already present."""
        cur.executemany(self._sql.insert_event, [msgspec.structs.astuple(r) for r in events])

    def _rows(self, operation: str, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._lock, self._errors(operation):
            return self._conn.execute(sql, params).fetchall()

    def migrate(self) -> None:
        """Create tables and indexes if missing, record the schema version; refuse a newer schema."""
        with self._transaction("migrate") as cur:
            self._before_migrate(cur)
            for statement in self._schema:
                cur.execute(statement)
            cur.execute(self._sql.select_meta, ("schema_version",))
            row = cur.fetchone()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                newer = f"schema version {row[0]} is newer than this build ({SCHEMA_VERSION})"
                raise StoreError("migrate", newer)
            cur.executemany(self._sql.insert_meta, [("schema_version", SCHEMA_VERSION), ("position", 0)])

    def position(self) -> int:
        """The last applied stream sequence (0 before any batch)."""
        rows = self._rows("position", self._sql.select_meta, ("position",))
        if not rows:
            raise StoreError("position", "the read model is not migrated")
        return int(rows[0][0])

    def apply(self, batch: Batch) -> None:
        """Write ``batch`` in one transaction; existing keys are skipped; position only moves forward."""
        astuple = msgspec.structs.astuple
        sql = self._sql
        with self._transaction("apply") as cur:
            if batch.events:
                self._write_events(cur, batch.events)
            for statement, rows in (
                (sql.insert_diagnostic, batch.diagnostics),
                (sql.insert_checkpoint, batch.checkpoints),
                (sql.insert_producer_key, batch.producer_keys),
                (sql.upsert_producer_head, batch.producer_heads),
            ):
                if rows:
                    cur.executemany(statement, [astuple(r) for r in rows])
            cur.execute(sql.advance_position, (batch.position,))
            if cur.rowcount != 1:
                raise StoreError("apply", "the read model is not migrated")

    def query(self, q: EventQuery) -> list[EventRow]:
        """Events matching ``q`` in stream order (newest first when ``q.descending``), at most ``q.limit``."""
        return [EventRow(*row) for row in self._rows("query", *self._sql.query(q))]

    def count(self, q: EventQuery) -> int:
        """How many events match ``q`` (``limit`` ignored)."""
        rows = self._rows("count", *self._sql.count(q))
        return int(rows[0][0]) if rows else 0

    def counts_by(self, field: str, q: EventQuery) -> list[tuple[str | None, int]]:
        """Matching events grouped on ``field``, largest group first, then by key (``None`` last)."""
        rows = self._rows("counts_by", *self._sql.counts_by(field, q))
        return sort_counts([(None if key is None else str(key), int(n)) for key, n in rows])

    def diagnostics(self, after_seq: int = 0, limit: int = 1000) -> list[DiagnosticRow]:
        """Diagnostics with ``stream_seq > after_seq`` in ``(stream_seq, kind)`` order, at most ``limit``."""
        return [
            DiagnosticRow(*row) for row in self._rows("diagnostics", self._sql.select_diagnostics, (after_seq, limit))
        ]

    def checkpoints(self) -> list[CheckpointRow]:
        """All checkpoints in ``checkpoint_seq`` order."""
        return [CheckpointRow(*row) for row in self._rows("checkpoints", self._sql.select_checkpoints)]

    def producer_heads(self) -> list[ProducerHeadRow]:
        """Every producer's last committed chain head, in ``producer`` order."""
        return [ProducerHeadRow(*row) for row in self._rows("producer_heads", self._sql.select_producer_heads)]

    def producer_keys(self) -> list[ProducerKeyRow]:
        """All producer keys in ``producer`` order."""
        return [ProducerKeyRow(*row) for row in self._rows("producer_keys", self._sql.select_producer_keys)]

    def maintain(self) -> None:
        """Housekeeping off the write path; nothing by default."""

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
