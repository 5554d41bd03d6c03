"""The read model in a SQLite file (the embedded default): WAL journal, ``synchronous=NORMAL``.

``synchronous=NORMAL`` can lose the last commits on power loss but never corrupts or half-applies a batch;
position is written in the same transaction, so the service replays from wherever the file says it is.
Indexes are single-column: ``stream_seq`` is the rowid, which every SQLite index entry already ends with,
so a filtered query walks its index in stream order with nothing added.

One connection, serialised by a lock (the service calls from worker threads). ``execute_readonly`` opens a
separate ``mode=ro`` connection with an authorizer that allows only reads, so neither a write nor an
``ATTACH`` (which would create a file even on a read-only connection) gets through. ``pragma_*()`` table
functions are refused too; ``sqlite_master`` describes the schema.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import quote

import msgspec

from .errors import ReadOnlyQueryError, StoreError
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
    Condition,
    DiagnosticRow,
    EventQuery,
    EventRow,
    ProducerHeadRow,
    ProducerKeyRow,
    ReadonlyResult,
    SqlParams,
    Table,
    check_readonly_statement,
    count_field,
    query_conditions,
    sort_counts,
)

__all__ = ["SqliteReadModel"]

BUSY_TIMEOUT_MS: Final = 5_000
CACHE_KIB: Final = 65_536
"""Page cache of the writing connection (64 MiB): index pages stay cached between batches."""
WAL_CHECKPOINT_PAGES: Final = 10_000
"""Checkpoint the WAL every ~40 MB rather than SQLite's 4 MB: index pages rewritten by every batch are then
copied back (and fsynced) once per checkpoint instead of about once per batch."""

_READ_ACTIONS: Final = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
_ACTION_NAMES: Final = {
    getattr(sqlite3, f"SQLITE_{name}"): name
    for name in [
        "ALTER_TABLE",
        "ANALYZE",
        "ATTACH",
        "CREATE_INDEX",
        "CREATE_TABLE",
        "CREATE_TEMP_INDEX",
        "CREATE_TEMP_TABLE",
        "CREATE_TEMP_TRIGGER",
        "CREATE_TEMP_VIEW",
        "CREATE_TRIGGER",
        "CREATE_VIEW",
        "CREATE_VTABLE",
        "DELETE",
        "DETACH",
        "DROP_INDEX",
        "DROP_TABLE",
        "DROP_TEMP_INDEX",
        "DROP_TEMP_TABLE",
        "DROP_TEMP_TRIGGER",
        "DROP_TEMP_VIEW",
        "DROP_TRIGGER",
        "DROP_VIEW",
        "DROP_VTABLE",
        "INSERT",
        "PRAGMA",
        "REINDEX",
        "SAVEPOINT",
        "TRANSACTION",
        "UPDATE",
    ]
}
"""Names of the authorizer actions we refuse, for the error message (the module's constants mix them with
result codes of the same values, so they are listed here)."""


def _create_table(table: Table) -> str:
    columns = [
        f"{c.name} {'INTEGER' if c.kind == 'int' else 'TEXT'}{'' if c.nullable else ' NOT NULL'}" for c in table.columns
    ]
    if table is EVENTS:
        columns.append(f"CHECK (status IN ({', '.join(repr(s) for s in STATUSES)}))")
    columns.append(f"PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(columns)})"


def _insert(table: Table) -> str:
    names = table.column_names
    return (
        f"INSERT INTO {table.name} ({', '.join(names)})"  # noqa: S608 - identifiers from our table lists
        f" VALUES ({', '.join('?' * len(names))}) "
        f"ON CONFLICT ({', '.join(table.key)}) DO NOTHING"
    )


def _where(conditions: Sequence[Condition]) -> tuple[str, list[object]]:
    if not conditions:
        return "", []
    return " WHERE " + " AND ".join(f"{c.column} {c.op} ?" for c in conditions), [c.value for c in conditions]


_SCHEMA: Final = [
    *(_create_table(t) for t in TABLES),
    *(
        f"CREATE INDEX IF NOT EXISTS {EVENTS.name}_{col}_idx ON {EVENTS.name} ({col})"
        + (f" WHERE {col} IS NOT NULL" if EVENTS.nullable(col) else "")
        for col in INDEXED_COLUMNS
    ),
]
_INSERT_EVENT: Final = _insert(EVENTS)
_INSERT_DIAGNOSTIC: Final = _insert(DIAGNOSTICS)
_INSERT_CHECKPOINT: Final = _insert(CHECKPOINTS)
_INSERT_PRODUCER_KEY: Final = _insert(PRODUCER_KEYS)
_UPSERT_PRODUCER_HEAD: Final = (
    f"INSERT INTO {PRODUCER_HEADS.name} ({', '.join(PRODUCER_HEADS.column_names)})"  # noqa: S608 - our identifiers
    f" VALUES ({', '.join(['?'] * len(PRODUCER_HEADS.column_names))}) ON CONFLICT (producer) DO UPDATE"
    f" SET seq = excluded.seq, head = excluded.head, stream_seq = excluded.stream_seq"
    f" WHERE excluded.seq > {PRODUCER_HEADS.name}.seq"
)
_SELECT_PRODUCER_HEADS: Final = (
    f"SELECT {', '.join(PRODUCER_HEADS.column_names)} FROM {PRODUCER_HEADS.name} ORDER BY producer"  # noqa: S608
)
_EVENT_COLUMNS: Final = ", ".join(EVENTS.column_names)
# Identifiers below come from our own table lists in store.py, never from input; values are bound.
_SELECT_EVENTS: Final = f"SELECT {_EVENT_COLUMNS} FROM {EVENTS.name}"  # noqa: S608 - see above
_COUNT_EVENTS: Final = f"SELECT count(*) FROM {EVENTS.name}"  # noqa: S608 - see above
_SELECT_DIAGNOSTICS: Final = (
    f"SELECT {', '.join(DIAGNOSTICS.column_names)} FROM {DIAGNOSTICS.name} "  # noqa: S608 - see above
    "WHERE stream_seq > ? ORDER BY stream_seq, kind LIMIT ?"
)
_SELECT_CHECKPOINTS: Final = (
    f"SELECT {', '.join(CHECKPOINTS.column_names)} FROM {CHECKPOINTS.name} "  # noqa: S608 - see above
    "ORDER BY checkpoint_seq"
)
_SELECT_PRODUCER_KEYS: Final = (
    f"SELECT {', '.join(PRODUCER_KEYS.column_names)} FROM {PRODUCER_KEYS.name} "  # noqa: S608 - see above
    "ORDER BY producer"
)
_SELECT_META: Final = f"SELECT value FROM {META.name} WHERE name = ?"  # noqa: S608 - see above
_INSERT_META: Final = (
    f"INSERT INTO {META.name} (name, value) VALUES (?, ?)"  # noqa: S608 - see above
    " ON CONFLICT (name) DO NOTHING"
)
_ADVANCE_POSITION: Final = (
    f"UPDATE {META.name} SET value = MAX(value, ?)"  # noqa: S608 - see above
    " WHERE name = 'position'"
)


class SqliteReadModel:
    """``ReadModel`` over a SQLite file at ``path`` (created if missing, parent directories too)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        with self._errors("open"):
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; apply and migrate say BEGIN themselves.
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")

    def __repr__(self) -> str:
        return f"SqliteReadModel({str(self.path)!r})"

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """Turn driver errors into ``StoreError`` naming the operation."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(operation, f"{type(exc).__name__}: {exc}") from exc
        except OSError as exc:
            raise StoreError(operation, str(exc)) from exc

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the block in one write transaction, rolled back on any error."""
        with self._lock, self._errors(operation):
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def migrate(self) -> None:
        """Create tables and indexes if missing, record the schema version; refuse a newer schema."""
        with self._transaction("migrate") as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            row = conn.execute(_SELECT_META, ("schema_version",)).fetchone()
            if row is not None and row[0] > SCHEMA_VERSION:
                newer = f"schema version {row[0]} is newer than this build ({SCHEMA_VERSION})"
                raise StoreError("migrate", newer)
            conn.executemany(
                _INSERT_META,
                [("schema_version", SCHEMA_VERSION), ("position", 0)],
            )

    def position(self) -> int:
        """The last applied stream sequence (0 before any batch)."""
        with self._lock, self._errors("position"):
            row = self._conn.execute(_SELECT_META, ("position",)).fetchone()
        if row is None:
            raise StoreError("position", "the read model is not migrated")
        return int(row[0])

    def apply(self, batch: Batch) -> None:
        """Write ``batch`` in one transaction; existing keys are skipped; position only moves forward."""
        astuple = msgspec.structs.astuple
        with self._transaction("apply") as conn:
            if batch.events:
                conn.executemany(_INSERT_EVENT, [astuple(r) for r in batch.events])
            if batch.diagnostics:
                conn.executemany(_INSERT_DIAGNOSTIC, [astuple(r) for r in batch.diagnostics])
            if batch.checkpoints:
                conn.executemany(_INSERT_CHECKPOINT, [astuple(r) for r in batch.checkpoints])
            if batch.producer_keys:
                conn.executemany(_INSERT_PRODUCER_KEY, [astuple(r) for r in batch.producer_keys])
            if batch.producer_heads:
                conn.executemany(_UPSERT_PRODUCER_HEAD, [astuple(r) for r in batch.producer_heads])
            updated = conn.execute(_ADVANCE_POSITION, (batch.position,))
            if updated.rowcount != 1:
                raise StoreError("apply", "the read model is not migrated")

    def query(self, q: EventQuery) -> list[EventRow]:
        """Events matching ``q`` in stream order (newest first when ``q.descending``), at most ``q.limit``."""
        where, params = _where(query_conditions(q))
        order = "DESC" if q.descending else "ASC"
        sql = f"{_SELECT_EVENTS}{where} ORDER BY stream_seq {order} LIMIT ?"
        with self._lock, self._errors("query"):
            rows = self._conn.execute(sql, [*params, q.limit]).fetchall()
        return [EventRow(*row) for row in rows]

    def count(self, q: EventQuery) -> int:
        """How many events match ``q`` (``limit`` ignored)."""
        where, params = _where(query_conditions(q))
        with self._lock, self._errors("count"):
            (n,) = self._conn.execute(_COUNT_EVENTS + where, params).fetchone()
        return int(n)

    def counts_by(self, field: str, q: EventQuery) -> list[tuple[str | None, int]]:
        """Matching events grouped on ``field``, largest group first, then by key (``None`` last)."""
        column = count_field(field)
        where, params = _where(query_conditions(q))
        sql = f"SELECT {column}, count(*) FROM {EVENTS.name}{where} GROUP BY {column}"  # noqa: S608 - allowlisted
        with self._lock, self._errors("counts_by"):
            rows = self._conn.execute(sql, params).fetchall()
        return sort_counts(rows)

    def diagnostics(self, after_seq: int = 0, limit: int = 1000) -> list[DiagnosticRow]:
        """Diagnostics with ``stream_seq > after_seq`` in ``(stream_seq, kind)`` order, at most ``limit``."""
        with self._lock, self._errors("diagnostics"):
            rows = self._conn.execute(_SELECT_DIAGNOSTICS, (after_seq, limit)).fetchall()
        return [DiagnosticRow(*row) for row in rows]

    def checkpoints(self) -> list[CheckpointRow]:
        """All checkpoints in ``checkpoint_seq`` order."""
        with self._lock, self._errors("checkpoints"):
            rows = self._conn.execute(_SELECT_CHECKPOINTS).fetchall()
        return [CheckpointRow(*row) for row in rows]

    def producer_heads(self) -> list[ProducerHeadRow]:
        """Every producer's last committed chain head, in ``producer`` order."""
        with self._lock, self._errors("producer_heads"):
            rows = self._conn.execute(_SELECT_PRODUCER_HEADS).fetchall()
        return [ProducerHeadRow(*row) for row in rows]

    def producer_keys(self) -> list[ProducerKeyRow]:
        """All producer keys in ``producer`` order."""
        with self._lock, self._errors("producer_keys"):
            rows = self._conn.execute(_SELECT_PRODUCER_KEYS).fetchall()
        return [ProducerKeyRow(*row) for row in rows]

    def execute_readonly(self, sql: str, params: SqlParams = ()) -> ReadonlyResult:
        """Run one reading statement on a separate ``mode=ro`` connection; refuse writes with
        ``ReadOnlyQueryError``."""
        check_readonly_statement(sql)
        denied: list[str] = []

        def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
            if action in _READ_ACTIONS:
                return sqlite3.SQLITE_OK
            denied.append(" ".join(filter(None, (_ACTION_NAMES.get(action, str(action)), arg1))))
            return sqlite3.SQLITE_DENY

        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        with self._errors("read-only query"):
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.set_authorizer(authorize)
            cursor = conn.execute(sql, params)
            columns = [d[0] for d in cursor.description or ()]
            rows = [tuple(row) for row in cursor.fetchall()]
        except sqlite3.ProgrammingError as exc:
            if "one statement" in str(exc):
                raise ReadOnlyQueryError(sql, "more than one statement") from exc
            raise StoreError("read-only query", f"{type(exc).__name__}: {exc}") from exc
        except sqlite3.Error as exc:
            if denied:
                raise ReadOnlyQueryError(sql, f"refused {', '.join(denied)}") from exc
            if "readonly" in str(exc):
                raise ReadOnlyQueryError(sql, str(exc)) from exc
            raise StoreError("read-only query", f"{type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
        return columns, rows

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
