"""The read model in PostgreSQL (psycopg 3), for deployments past the embedded default.

Tables go in the connection's current schema (the first of its ``search_path``; a URL can set it with
``options=-csearch_path%3D<schema>``). One connection in autocommit mode, serialised by a lock; ``apply``
and ``migrate`` open explicit transactions.

Write path, measured on the 2-core dev machine (1000 events, 7 secondary indexes, before the partial
indexes and ``synchronous_commit=off`` below): ``executemany`` through psycopg's pipeline ≈ 36 ms;
``INSERT … SELECT FROM unnest(arrays)`` ≈ 53 ms; binary ``COPY`` into a temp table then ``INSERT … ON
CONFLICT DO NOTHING`` ≈ 27 ms. So events take the COPY path and the small tables take ``executemany``.
Most of the remaining time is index maintenance in the server, so two indexes use cheaper methods: ``ts``
is BRIN (time grows with stream order) and ``trace_id`` hash (only ever compared for equality); the rest
are ``(column, stream_seq)`` b-trees so a filtered page comes in stream order without a sort. The session
runs with ``synchronous_commit=off``: this is a projection whose position commits with its rows, so a
crash loses at most the last batches, which the service replays from the stream. With all of it a 1000-
event apply takes ≈ 15 ms (p50) here. The temp table and the session setting need session pooling, not
transaction pooling, if a pooler sits in front.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

import msgspec
import psycopg
from psycopg.rows import TupleRow

from .errors import ReadOnlyQueryError, StoreError
from .sql import SqlReadModel, Statements, column_defs, schema
from .store import EVENTS, Batch, EventRow, ReadonlyResult, SqlParams, check_readonly_statement

__all__ = ["PostgresReadModel"]

MIGRATE_LOCK: Final = 0x61756469745F6D67  # "audit_mg": serialises concurrent migrations of one database
READONLY_TIMEOUT: Final = "60s"
"""``statement_timeout`` for ``execute_readonly``, so an ad-hoc query cannot hold the connection forever."""

_TYPES: Final = {"int": "bigint", "text": "text"}
_INDEX_METHODS: Final = {"ts": "brin (ts)", "trace_id": "hash (trace_id)"}
_STAGING: Final = "audit_events_in"

_SCHEMA: Final = schema(_TYPES, lambda col: f"USING {_INDEX_METHODS.get(col, f'btree ({col}, stream_seq)')}")
_EVENT_COLUMNS: Final = ", ".join(EVENTS.column_names)
_CREATE_STAGING: Final = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} ({', '.join(column_defs(EVENTS, _TYPES))}) ON COMMIT DELETE ROWS"
)
_COPY_EVENTS: Final = f"COPY {_STAGING} ({_EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_EVENT_TYPES: Final = [_TYPES[c.kind] for c in EVENTS.columns]
_MERGE_EVENTS: Final = (
    f"INSERT INTO {EVENTS.name} ({_EVENT_COLUMNS})"  # noqa: S608 - identifiers from our table lists
    f" SELECT {_EVENT_COLUMNS} FROM {_STAGING} ON CONFLICT (stream_seq) DO NOTHING"
)


class PostgresReadModel(SqlReadModel[psycopg.Connection[TupleRow], psycopg.Cursor[TupleRow]]):
    """``ReadModel`` over a PostgreSQL database given by a libpq URL."""

    _sql = Statements.for_placeholder("%s", greatest="GREATEST")
    _schema = _SCHEMA

    def __init__(self, url: str) -> None:
        self._lock = threading.Lock()
        self._staging_ready = False
        with self._errors("open"):
            self._conn = psycopg.connect(url, autocommit=True)
            # A projection: losing the last commits in a crash only means replaying them from the stream.
            self._conn.execute("SET synchronous_commit = off")

    def __repr__(self) -> str:
        info = self._conn.info
        return f"PostgresReadModel(host={info.host!r}, dbname={info.dbname!r})"

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """Turn driver errors into ``StoreError`` naming the operation."""
        try:
            yield
        except psycopg.Error as exc:
            raise StoreError(operation, f"{type(exc).__name__}: {exc}".strip()) from exc

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[psycopg.Cursor[TupleRow]]:
        """Hold the lock and run the block in one transaction, rolled back on any error."""
        with self._lock, self._errors(operation), self._conn.transaction(), self._conn.cursor() as cur:
            yield cur

    def _before_migrate(self, cur: psycopg.Cursor[TupleRow]) -> None:
        """Serialise concurrent migrations and check there is a schema to create the tables in."""
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        cur.execute("SELECT current_schema()")
        current = cur.fetchone()
        if current is None or current[0] is None:
            raise StoreError("migrate", "no schema to create tables in (check search_path)")

    def _write_events(self, cur: psycopg.Cursor[TupleRow], events: Sequence[EventRow]) -> None:
        """Binary ``COPY`` into the session's staging table, then insert what is new from there."""
        if not self._staging_ready:
            cur.execute(_CREATE_STAGING)
        with cur.copy(_COPY_EVENTS) as copy:
            copy.set_types(_EVENT_TYPES)
            for row in events:
                copy.write_row(msgspec.structs.astuple(row))
        cur.execute(_MERGE_EVENTS)

    def apply(self, batch: Batch) -> None:
        """Write ``batch`` in one transaction; existing keys are skipped; position only moves forward."""
        super().apply(batch)
        # Only now: a temp table created in a transaction that rolled back is gone with it.
        self._staging_ready = self._staging_ready or bool(batch.events)

    def execute_readonly(self, sql: str, params: SqlParams = ()) -> ReadonlyResult:
        """Run one reading statement in a ``READ ONLY`` transaction that is always rolled back.

        The statement is prepared, so the server refuses a second statement after a ``;`` (which could
        otherwise end the read-only transaction and run outside it); writes raise ``ReadOnlyQueryError``.
        """
        check_readonly_statement(sql)
        try:
            with self._lock, self._conn.transaction() as tx, self._conn.cursor() as cur:
                cur.execute("SET TRANSACTION READ ONLY")
                cur.execute(f"SET LOCAL statement_timeout = '{READONLY_TIMEOUT}'")
                cur.execute(sql, params or None, prepare=True)
                columns = [d.name for d in cur.description or ()]
                rows = [tuple(row) for row in cur.fetchall()] if cur.description else []
                raise psycopg.Rollback(tx)
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            raise ReadOnlyQueryError(sql, str(exc)) from exc
        except psycopg.errors.SyntaxError as exc:
            if "multiple commands" in str(exc):
                raise ReadOnlyQueryError(sql, "more than one statement") from exc
            raise StoreError("read-only query", f"{type(exc).__name__}: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError("read-only query", f"{type(exc).__name__}: {exc}") from exc
        return columns, rows
