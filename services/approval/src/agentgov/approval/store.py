"""The approval history: a SQL read model (SQLite by default, PostgreSQL at scale) behind one port.

Three tables, created by :meth:`ApprovalStore.migrate`:

- ``approvals``: one row per approval, the columns queries filter on plus the whole record as JSON;
- ``approval_diagnostics``: approval events that changed nothing (forged, late, unknown, malformed);
- ``approval_meta``: the stream position the rows reflect.

:meth:`ApprovalStore.apply` writes a batch's rows, diagnostics and position in **one transaction**, so a
restart resumes exactly after the last committed message and replays nothing twice (rows are upserts keyed
by approval id, diagnostics are keyed by stream sequence and kind). :meth:`ApprovalStore.reset` empties the
tables for ``--rebuild``. Both backends speak the same SQL but for the placeholder; ``SqlApprovalStore`` is
the shared code and each backend adds its connection and transactions. One conformance suite runs against
both (``tests/test_store.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import msgspec

from agentgov.approval.domain import ApprovalRecord, Diagnostic, Status

__all__ = ["ApprovalStore", "StoreBatch", "open_store"]

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS approvals (approval_id TEXT PRIMARY KEY, agent TEXT NOT NULL, org TEXT, team TEXT,"
    " status TEXT NOT NULL, decided_ns BIGINT NOT NULL, expires_ns BIGINT NOT NULL, resolved_ns BIGINT NOT NULL,"
    " record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS approvals_status_idx ON approvals (status, decided_ns)",
    "CREATE INDEX IF NOT EXISTS approvals_agent_idx ON approvals (agent, decided_ns)",
    "CREATE TABLE IF NOT EXISTS approval_diagnostics (stream_seq BIGINT NOT NULL, kind TEXT NOT NULL,"
    " approval_id TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (stream_seq, kind))",
    "CREATE TABLE IF NOT EXISTS approval_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
)
_UPSERT: Final = (
    "INSERT INTO approvals (approval_id, agent, org, team, status, decided_ns, expires_ns, resolved_ns, record)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (approval_id) DO UPDATE SET agent = excluded.agent,"
    " org = excluded.org, team = excluded.team, status = excluded.status, decided_ns = excluded.decided_ns,"
    " expires_ns = excluded.expires_ns, resolved_ns = excluded.resolved_ns, record = excluded.record"
)
_DIAGNOSTIC: Final = (
    "INSERT INTO approval_diagnostics (stream_seq, kind, approval_id, detail) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (stream_seq, kind) DO NOTHING"
)
_POSITION: Final = (
    "INSERT INTO approval_meta (key, value) VALUES ('position', ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE excluded.value > approval_meta.value"
)
_DIAGNOSTICS: Final = (
    "SELECT stream_seq, kind, approval_id, detail FROM approval_diagnostics ORDER BY stream_seq DESC, kind LIMIT ?"
)
_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(ApprovalRecord).decode


@dataclass(slots=True)
class StoreBatch:
    """What one batch of the stream changed, committed together with the position it reached."""

    position: int
    rows: Sequence[ApprovalRecord] = ()
    diagnostics: Sequence[Diagnostic] = field(default_factory=list)


class ApprovalStore(Protocol):
    """The approval history port."""

    def migrate(self) -> None:
        """Create the tables if they do not exist."""

    def position(self) -> int:
        """The stream sequence the stored rows reflect (0 when empty)."""

    def apply(self, batch: StoreBatch) -> None:
        """Write a batch and its position in one transaction; the position only moves forward."""

    def reset(self) -> None:
        """Empty every table (for a rebuild from the stream)."""

    def load(self, since_ns: int) -> list[ApprovalRecord]:
        """Approvals still pending, and every approval decided at or after ``since_ns``."""

    def get(self, approval_id: str) -> ApprovalRecord | None:
        """One approval."""

    def history(
        self, *, agent: str | None = None, status: Status | None = None, limit: int = 100
    ) -> list[ApprovalRecord]:
        """Approvals, newest first, optionally of one agent or in one status."""

    def diagnostics(self, limit: int = 100) -> list[Diagnostic]:
        """Recent diagnostics, newest first."""

    def close(self) -> None:
        """Close the connection."""


class SqlApprovalStore(ABC):
    """The SQL shared by both backends; a subclass gives the placeholder, connection and transactions."""

    placeholder: str = "?"

    def _sql(self, text: str) -> str:
        """A statement written with ``?`` placeholders in this backend's placeholder style."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    @abstractmethod
    def _transaction(self, operation: str) -> AbstractContextManager[Any]:
        """A cursor inside one transaction (rolled back on error), errors as StoreError."""

    def migrate(self) -> None:
        """Create the tables if they do not exist."""
        with self._transaction("migrate") as cur:
            for statement in _SCHEMA:
                cur.execute(statement)

    def position(self) -> int:
        """The stream sequence the stored rows reflect (0 when empty)."""
        rows = self._query("position", "SELECT value FROM approval_meta WHERE key = 'position'", ())
        return int(rows[0][0]) if rows else 0

    def apply(self, batch: StoreBatch) -> None:
        """Write a batch and its position in one transaction; the position only moves forward."""
        with self._transaction("apply") as cur:
            if batch.rows:
                cur.executemany(self._sql(_UPSERT), [_row(r) for r in batch.rows])
            if batch.diagnostics:
                cur.executemany(
                    self._sql(_DIAGNOSTIC), [(d.stream_seq, d.kind, d.approval_id, d.detail) for d in batch.diagnostics]
                )
            cur.execute(self._sql(_POSITION), (batch.position,))

    def reset(self) -> None:
        """Empty every table (for a rebuild from the stream)."""
        with self._transaction("reset") as cur:
            for table in ("approvals", "approval_diagnostics", "approval_meta"):
                cur.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are our own constants

    def load(self, since_ns: int) -> list[ApprovalRecord]:
        """Approvals still pending, and every approval decided at or after ``since_ns``."""
        sql = "SELECT record FROM approvals WHERE status = 'pending' OR decided_ns >= ?"
        return [_decode_record(r[0]) for r in self._query("load", sql, (since_ns,))]

    def get(self, approval_id: str) -> ApprovalRecord | None:
        """One approval."""
        sql = "SELECT record FROM approvals WHERE approval_id = ?"
        rows = self._query("get", sql, (approval_id,))
        return _decode_record(rows[0][0]) if rows else None

    def history(
        self, *, agent: str | None = None, status: Status | None = None, limit: int = 100
    ) -> list[ApprovalRecord]:
        """Approvals, newest first, optionally of one agent or in one status."""
        where, params = [], []
        if agent is not None:
            where.append("agent = ?")
            params.append(agent)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT record FROM approvals{clause} ORDER BY decided_ns DESC, approval_id DESC LIMIT ?"  # noqa: S608 - fixed column conditions
        return [_decode_record(r[0]) for r in self._query("history", sql, (*params, limit))]

    def diagnostics(self, limit: int = 100) -> list[Diagnostic]:
        """Recent diagnostics, newest first."""
        return [
            Diagnostic(stream_seq=int(s), kind=k, approval_id=a, detail=d)
            for s, k, a, d in self._query("diagnostics", _DIAGNOSTICS, (limit,))
        ]

    def _query(self, operation: str, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        with self._transaction(operation) as cur:
            cur.execute(self._sql(sql), tuple(params))
            return [tuple(r) for r in cur.fetchall()]


def _row(r: ApprovalRecord) -> tuple[object, ...]:
    return (
        r.approval_id,
        r.agent,
        r.org,
        r.team,
        r.status,
        r.decided_ns,
        r.expires_ns,
        r.resolved_ns,
        _encode(r).decode(),
    )


def open_store(database: str) -> ApprovalStore:
    """A store for ``database``: a ``postgresql://`` URL, or a SQLite file path."""
    if database.startswith(("postgresql://", "postgres://")):
        from agentgov.approval.store_postgres import PostgresApprovalStore  # noqa: PLC0415 - psycopg on demand

        return PostgresApprovalStore(database)
    from agentgov.approval.store_sqlite import SqliteApprovalStore  # noqa: PLC0415 - one backend per process

    return SqliteApprovalStore(Path(database))
