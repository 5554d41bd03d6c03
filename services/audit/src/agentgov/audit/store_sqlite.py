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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import quote

from .errors import ReadOnlyQueryError, StoreError
from .sql import SqlReadModel, Statements, schema
from .store import ReadonlyResult, SqlParams, check_readonly_statement

__all__ = ["SqliteReadModel"]

BUSY_TIMEOUT_MS: Final = 5_000
CACHE_KIB: Final = 65_536
"""Page cache of the writing connection (64 MiB): index pages stay cached between batches."""
WAL_CHECKPOINT_PAGES: Final = 100_000
"""A safety net only: the service checkpoints the WAL itself, off the write path, through ``maintain``."""
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


_SCHEMA: Final = schema({"int": "INTEGER", "text": "TEXT"}, lambda col: f"({col})")


class SqliteReadModel(SqlReadModel[sqlite3.Connection, sqlite3.Cursor]):
    """``ReadModel`` over a SQLite file at ``path`` (created if missing, parent directories too)."""

    _sql = Statements.for_placeholder("?", greatest="MAX")
    _schema = _SCHEMA

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        with self._errors("open"):
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; apply and migrate say BEGIN themselves.
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._maint: sqlite3.Connection | None = None
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")

    def __repr__(self) -> str:
        return f"SqliteReadModel({str(self.path)!r})"

    def maintain(self) -> None:
        """Checkpoint the WAL (PASSIVE) on a connection of its own, so writers are not held up.

        Measured in bench/audit.py: left to ``wal_autocheckpoint`` inside ``apply``, the checkpoint made one
        batch in forty take 80 ms alone and up to 0.5 s inside the service.
        """
        with self._errors("maintain"):
            if self._maint is None:
                self._maint = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._maint.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._maint.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """Close the connections."""
        if self._maint is not None:
            self._maint.close()
            self._maint = None
        super().close()

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
    def _transaction(self, operation: str) -> Iterator[sqlite3.Cursor]:
        """Hold the lock and run the block in one write transaction, rolled back on any error."""
        with self._lock, self._errors(operation):
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn.cursor()
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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
