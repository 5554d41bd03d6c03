"""The approval history in a SQLite file (the embedded default): WAL journal, ``synchronous=NORMAL``.

``synchronous=NORMAL`` can lose the last commits on power loss but never half-applies a batch; the position
is written in the same transaction, so the service replays from wherever the file says it is. One
connection, serialised by a lock (the service calls from worker threads).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from agentgov.approval.errors import StoreError
from agentgov.approval.store import SqlApprovalStore

__all__ = ["SqliteApprovalStore"]

BUSY_TIMEOUT_MS: Final = 5_000


class SqliteApprovalStore(SqlApprovalStore):
    """``ApprovalStore`` over a SQLite file at ``path`` (created if missing, parent directories too)."""

    placeholder = "?"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._conn_lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; _transaction says BEGIN itself.
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError("open", f"{path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteApprovalStore({str(self.path)!r})"

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[sqlite3.Cursor]:
        """Hold the lock and run the block in one write transaction, rolled back on any error."""
        with self._conn_lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn.cursor()
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(operation, f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Close the connection."""
        with self._conn_lock:
            self._conn.close()
