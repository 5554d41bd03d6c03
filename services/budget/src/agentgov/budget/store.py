"""The projection's snapshot in JetStream KV: state and stream position in one value, written together.

Bucket ``agentgov_budget_state`` (history 1), key ``projection``: the msgpack of
:class:`~agentgov.budget.state.State` (which holds ``position`` and the pending ledger intent). One put per
committed batch; a restart reads it and resumes at ``position + 1``.
"""

from __future__ import annotations

import contextlib

import nats.js.errors
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from agentgov.budget.state import State, decode_state, encode_state

BUCKET = "agentgov_budget_state"
KEY = "projection"


class SnapshotStore:
    """Loads and commits the projection's snapshot."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self.commits = 0

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str = BUCKET) -> SnapshotStore:
        """Open (creating if needed) the bucket."""
        try:
            kv = await js.key_value(bucket)
        except nats.js.errors.BucketNotFoundError:
            kv = await js.create_key_value(bucket=bucket, history=1, description="agentgov budget projection")
        return cls(kv)

    async def load(self) -> State | None:
        """The committed state, or None before the first commit."""
        try:
            entry = await self._kv.get(KEY)
        except nats.js.errors.KeyNotFoundError:
            return None
        return decode_state(entry.value) if entry.value else None

    async def save(self, state: State) -> None:
        """Commit the state (with its position and intent) in one put."""
        await self._kv.put(KEY, encode_state(state))
        self.commits += 1

    async def clear(self) -> None:
        """Forget the snapshot (``--rebuild``)."""
        with contextlib.suppress(nats.js.errors.KeyNotFoundError):
            await self._kv.delete(KEY)
