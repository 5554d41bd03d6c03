"""Where the projection lives between runs: a SQLite snapshot file, and what is already on the stream.

The snapshot is one row: the stream position and the whole :class:`~agentgov.anomaly.baseline.State`
(msgpack), written in one transaction, so the position is always committed with the state it describes.
The service writes it every N applied events or T seconds and at shutdown; a restart reads it and replays
the stream from the next message. Events replayed after a crash raise the same findings with the same ids,
and :func:`already_emitted` lists the ids already appended, so nothing is lost or written twice.

Why SQLite and not a KV bucket: the snapshot can grow to megabytes with many agents (beyond a KV value's
comfortable size), it is private to one instance, and a local file keeps the service's state beside its
other files under ``AGENTGOV_HOME``. ``--rebuild`` ignores it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import msgspec
from nats.js.client import JetStreamContext

from agentgov.anomaly.baseline import State
from agentgov.anomaly.errors import SnapshotError
from agentgov.anomaly.handlers import Emitted
from agentgov.contracts import codec
from agentgov.contracts.errors import DecodeError
from agentgov.streaming.reader import last_seq, read_batches

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(State)
SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    state BLOB NOT NULL,
    saved_at REAL NOT NULL
)
"""


class SnapshotStore:
    """The snapshot file (created with its directory on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SnapshotError(str(path), str(exc)) from exc

    def load(self) -> State | None:
        """The last snapshot, or None when there is none."""
        try:
            row = self._db.execute("SELECT state FROM snapshot WHERE id = 1").fetchone()
        except sqlite3.Error as exc:
            raise SnapshotError(str(self.path), str(exc)) from exc
        if row is None:
            return None
        try:
            return _decoder.decode(row[0])
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise SnapshotError(str(self.path), f"unreadable snapshot ({exc}); run with --rebuild") from None

    @staticmethod
    def encode(state: State) -> tuple[int, bytes]:
        """The bytes to save (taken in the event loop, so later events cannot change them mid-write)."""
        return state.position, _encoder.encode(state)

    def save(self, position: int, blob: bytes) -> None:
        """Replace the snapshot (one transaction); safe to call from a worker thread."""
        try:
            self._db.execute(
                "INSERT INTO snapshot (id, position, state, saved_at) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET position = excluded.position, state = excluded.state, "
                "saved_at = excluded.saved_at",
                (position, blob, time.time()),
            )
        except sqlite3.Error as exc:
            raise SnapshotError(str(self.path), str(exc)) from exc

    def close(self) -> None:
        """Close the file."""
        self._db.close()


async def already_emitted(js: JetStreamContext, stream: str, start_seq: int) -> Emitted:
    """AnomalyDetected ids and paused anomaly ids on ``gov.anomaly.*`` from ``start_seq`` to the end now."""
    out = Emitted()
    end = await last_seq(js, stream)
    if end < start_seq:
        return out
    # Unfiltered: with a filter, the last matching message may sit before ``end`` and the read never ends.
    async for batch in read_batches(js, stream, start_seq=start_seq, until_seq=end):
        for m in batch:
            if not m.subject.startswith("gov.anomaly."):
                continue
            try:
                out.note(codec.decode_event(codec.split_lazy(m.data)[0]))
            except DecodeError:
                continue
    return out
