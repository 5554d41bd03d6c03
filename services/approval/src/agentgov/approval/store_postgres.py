"""The approval history in PostgreSQL (psycopg 3), for deployments past the embedded default.

Tables go in the connection's current schema (the first of its ``search_path``). One connection in
autocommit mode, serialised by a lock; every operation opens an explicit transaction. The session runs with
``synchronous_commit=off``: this is a projection whose position commits with its rows, so a crash loses at
most the last batches, which the service replays from the stream (upserts, so nothing is applied twice).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import psycopg
from psycopg.rows import TupleRow

from agentgov.approval.errors import StoreError
from agentgov.approval.store import SqlApprovalStore

__all__ = ["PostgresApprovalStore"]

MIGRATE_LOCK: Final = 0x617070726F76616C  # "approval": serialises concurrent migrations of one database


class PostgresApprovalStore(SqlApprovalStore):
    """``ApprovalStore`` over a PostgreSQL database given by a libpq URL."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
        super().__init__()
        self._conn_lock = threading.Lock()
        try:
            self._conn = psycopg.connect(url, autocommit=True)
            self._conn.execute("SET synchronous_commit = off")
        except psycopg.Error as exc:
            raise StoreError("open", f"{type(exc).__name__}: {exc}".strip()) from exc

    def __repr__(self) -> str:
        info = self._conn.info
        return f"PostgresApprovalStore(host={info.host!r}, dbname={info.dbname!r})"

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[psycopg.Cursor[TupleRow]]:
        """Hold the lock and run the block in one transaction, rolled back on any error."""
        with self._conn_lock:
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    if operation == "migrate":
                        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
                    yield cur
            except psycopg.Error as exc:
                raise StoreError(operation, f"{type(exc).__name__}: {exc}".strip()) from exc

    def close(self) -> None:
        """Close the connection."""
        with self._conn_lock:
            self._conn.close()
