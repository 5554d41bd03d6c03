"""The ledger on JetStream KV: one document per scope, changed only by compare-and-set.

Bucket ``<bucket>`` (history 1) holds a document per scope (``s.<kind>.<id>``, see ``scopedoc.py``);
bucket ``<bucket>_events`` remembers applied spend events for ``events_ttl_s`` (settle's idempotence).
Both are created by whichever process opens the ledger first.

Guarantees (also in the README): each scope is changed by compare-and-set (``update(last=revision)``,
``create`` for a new one), so no write is lost and no window of a scope is ever held past its cap. A
reservation over several scopes takes them one by one in a fixed (sorted) order and gives back what it took
when a later scope refuses, so for a moment an amount can be held on one scope but not yet on another: a
racing request may then be refused although, in the end, both would have fit (a spurious deny, never an
overspend). A compare-and-set that keeps losing (``max_attempts``) refuses the reservation. A hold whose
holder died is released when its TTL passes. Settling a batch (``settle_many``) costs one compare-and-set
per scope document it touches, whatever the number of items.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import random
from collections.abc import Callable, Sequence
from typing import Final

import nats.errors
import nats.js.errors
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from agentgov.ledger import scopedoc
from agentgov.ledger.errors import InvalidLimitError, LedgerUnavailableError
from agentgov.ledger.model import Limit, Reservation, Scope, SettleItem, Shortfall, Usage, check_scope
from agentgov.ledger.scopedoc import ScopeDoc

DEFAULT_BUCKET: Final = "agentgov_budget"
_PREFIX: Final = "s."
MAX_KNOWN: Final = 10_000
"""Documents remembered per process (see ``KvLedger._known``); forgotten all at once beyond that."""

Step = Callable[[ScopeDoc], ScopeDoc | None]
"""A change to one scope's document; None = nothing to write."""


def scope_key(scope: Scope) -> str:
    """The KV key of a scope's document (``agent:a1`` → ``s.agent.a1``)."""
    return _PREFIX + check_scope(scope).replace(":", ".")


def key_scope(key: str) -> Scope:
    """The scope of a document key."""
    return key[len(_PREFIX) :].replace(".", ":", 1)


class KvLedger:
    """The ledger on JetStream KV (see the module docstring for what it guarantees)."""

    def __init__(
        self,
        js: JetStreamContext,
        docs: KeyValue,
        events: KeyValue,
        *,
        bucket: str,
        events_ttl_s: float,
        max_attempts: int = 40,
    ) -> None:
        self._js = js
        self._docs = docs
        self._events = events
        self._bucket = bucket
        self._events_ttl_s = events_ttl_s
        self._max_attempts = max_attempts
        self._locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        """One compare-and-set at a time per document in this process: contention is only between processes."""
        self._known: dict[str, tuple[ScopeDoc, int]] = {}
        """The last document and revision this process read or wrote per key. Settles start their
        compare-and-set from it (saving a read per document); a stale one only makes that CAS fail."""

    @classmethod
    async def open(
        cls, js: JetStreamContext, bucket: str = DEFAULT_BUCKET, *, events_ttl_s: float = 7 * 86_400.0
    ) -> KvLedger:
        """Open (creating if needed) the ledger's buckets."""
        try:
            docs, events = await _buckets(js, bucket, events_ttl_s)
        except (nats.errors.Error, OSError) as exc:
            raise LedgerUnavailableError(f"JetStream KV {bucket!r}: {exc}") from exc
        return cls(js, docs, events, bucket=bucket, events_ttl_s=events_ttl_s)

    # -- limits ---------------------------------------------------------------------------------------

    async def set_limit(self, limit: Limit) -> None:
        """Set the limit of (scope, window)."""
        await self._change(limit.scope, lambda d: scopedoc.with_limit(d, limit), create=True)

    async def remove_limit(self, scope: Scope, window: str) -> None:
        """Remove the limit of (scope, window)."""
        await self._change(scope, lambda d: scopedoc.without_limit(d, window) if window in d.limits else None)

    async def limits(self) -> list[Limit]:
        """Every limit, by scope then window."""
        out: list[Limit] = []
        for key in await self._keys():
            doc, _ = await self._read(key)
            out += scopedoc.limits_of(key_scope(key), doc)
        return sorted(out, key=lambda lim: (lim.scope, lim.window))

    # -- reservations and spend -----------------------------------------------------------------------

    async def reserve(
        self, request_id: str, scopes: Sequence[Scope], usd_micros: int, now_ns: int, ttl_ns: int
    ) -> Reservation:
        """Hold ``usd_micros`` on every limited scope, one scope at a time in sorted order; roll back on refusal."""
        if usd_micros < 0:
            raise InvalidLimitError(f"cannot reserve a negative amount ({usd_micros})")
        held: list[Scope] = []
        for scope in sorted(set(scopes)):
            outcome = await self._hold(scope, request_id, usd_micros, now_ns, now_ns + ttl_ns)
            if outcome is True:
                held.append(scope)
            elif outcome is not False:
                await self._rollback(held, request_id)
                reason = "" if outcome else "the budget ledger stayed contended; refused to stay under the cap"
                return Reservation(False, request_id, usd_micros, [], outcome, reason=reason)
        ordered = [s for s in scopes if s in held]
        return Reservation(True, request_id, usd_micros if held else 0, ordered)

    async def _hold(
        self, scope: Scope, request_id: str, usd: int, now_ns: int, expires_ns: int
    ) -> bool | list[Shortfall]:
        """True when held, False when the scope has no limit, else the shortfalls ([] = lost every CAS)."""
        key = scope_key(scope)
        for attempt in range(self._max_attempts):
            async with self._locks[key]:
                doc, rev = await self._read(key)
                if not doc.limits:
                    return False
                got = scopedoc.hold(scope, doc, request_id, usd, now_ns, expires_ns)
                if isinstance(got, list):
                    return got
                if got is doc or await self._write(key, got, rev):
                    return True
            await _backoff(attempt)
        return []

    async def _rollback(self, scopes: Sequence[Scope], request_id: str) -> None:
        for scope in scopes:
            await self._change(scope, lambda d: scopedoc.release(d, request_id) if request_id in d.holds else None)

    async def settle(
        self, event_id: str, request_id: str | None, scopes: Sequence[Scope], usd_micros: int, ts_ns: int
    ) -> bool:
        """Record spend on every limited scope and release the hold; once per ``event_id``."""
        return await self.settle_many([SettleItem(event_id, request_id, scopes, usd_micros, ts_ns)]) > 0

    async def settle_many(self, items: Sequence[SettleItem]) -> int:
        """Settle ``items`` with one compare-and-set per touched scope document (all documents at once).

        Idempotence: a marker for the batch (``e.<event id>`` for one item, ``b.<digest of the ids>`` for
        more) is checked first and written last, so the same batch run again within ``events_ttl_s`` is
        skipped whole; and every document remembers the events it applied (at least its last
        ``SEEN_EVENTS``, and always all of its last batch), so a batch re-run after a crash half-way, or an
        event settled again in another batch soon after, counts once per document."""
        batch = _first_of_each(items)
        if not batch:
            return 0
        marker = _marker(batch)
        try:
            await self._events.get(marker)
            return 0
        except nats.js.errors.KeyNotFoundError:
            pass
        except (nats.errors.Error, OSError) as exc:
            raise LedgerUnavailableError(f"JetStream KV {self._bucket!r}: {exc}") from exc
        by_scope: dict[Scope, list[SettleItem]] = {}
        for it in batch:
            for scope in dict.fromkeys(it.scopes):
                by_scope.setdefault(scope, []).append(it)
        results = await asyncio.gather(*(self._spend(s, its) for s, its in sorted(by_scope.items())))
        applied: set[str] = set().union(*(r for r in results if r))
        touched = {s for s, r in zip(sorted(by_scope), results, strict=True) if r is not None}
        # an item no document knows (none of its scopes has one) counts as applied: nothing to skip it by
        n = sum(1 for it in batch if it.event_id in applied or not touched.intersection(it.scopes))
        try:
            await self._events.create(marker, b"")
        except nats.js.errors.KeyWrongLastSequenceError:
            return 0  # another settle of the same batch finished first; each document counted it once
        except (nats.errors.Error, OSError) as exc:
            raise LedgerUnavailableError(f"JetStream KV {self._bucket!r}: {exc}") from exc
        return n

    async def _spend(self, scope: Scope, items: Sequence[SettleItem]) -> set[str] | None:
        """Add ``items`` to the scope's document by one compare-and-set (retried when another writer won);
        the ids applied now, or None when the scope has no document."""
        key = scope_key(scope)
        for attempt in range(self._max_attempts * 4):
            async with self._locks[key]:
                known = self._known.get(key) if attempt == 0 else None
                doc, rev = known if known is not None else await self._read(key)
                if rev == 0:
                    return None
                new, done = scopedoc.add_spends(scope, doc, items)
                if not done and known is not None:
                    continue  # nothing new by what this process last saw: check the stored document
                if not done or await self._write(key, new, rev):
                    return set(done)
            await _backoff(attempt)
        raise LedgerUnavailableError(f"scope {scope}: lost {self._max_attempts * 4} compare-and-sets in a row")

    async def usage(self, scopes: Sequence[Scope], now_ns: int) -> list[Usage]:
        """Every limited window of ``scopes``."""
        docs = await asyncio.gather(*(self._read(scope_key(s)) for s in scopes))
        return [u for s, (doc, _) in zip(scopes, docs, strict=True) for u in scopedoc.usages(s, doc, now_ns)]

    async def remaining(self, scopes: Sequence[Scope], now_ns: int) -> int | None:
        """The least left over the limited windows of ``scopes``; None when none is limited."""
        return min((u.remaining for u in await self.usage(scopes, now_ns)), default=None)

    async def expire(self, now_ns: int) -> int:
        """Drop the holds that ended; return how many."""
        dropped = 0
        for key in await self._keys():
            doc, _ = await self._read(key)
            if gone := scopedoc.expired(doc, now_ns):
                await self._change(
                    key_scope(key), lambda d: scopedoc.drop_expired(d, now_ns) if scopedoc.expired(d, now_ns) else None
                )
                dropped += len(gone)
        return dropped

    async def reset(self) -> None:
        """Delete both buckets and create them afresh."""
        try:
            for name in (self._bucket, _events_bucket(self._bucket)):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await self._js.delete_key_value(name)
            self._known.clear()
            self._docs, self._events = await _buckets(self._js, self._bucket, self._events_ttl_s)
        except (nats.errors.Error, OSError) as exc:
            raise LedgerUnavailableError(f"JetStream KV {self._bucket!r}: {exc}") from exc

    async def close(self) -> None:
        """Nothing to release: the connection belongs to the caller."""

    # -- compare-and-set on one document --------------------------------------------------------------

    async def _change(self, scope: Scope, step: Step, *, create: bool = False) -> None:
        """Apply ``step`` to the scope's document by compare-and-set, retrying when another writer won."""
        key = scope_key(scope)
        for attempt in range(self._max_attempts * 4):
            async with self._locks[key]:
                doc, rev = await self._read(key)
                if rev == 0 and not create:
                    return
                new = step(doc)
                if new is None or await self._write(key, new, rev):
                    return
            await _backoff(attempt)
        raise LedgerUnavailableError(f"scope {scope}: lost {self._max_attempts * 4} compare-and-sets in a row")

    async def _read(self, key: str) -> tuple[ScopeDoc, int]:
        """The document and its revision (0 when there is none)."""
        try:
            entry = await self._docs.get(key)
        except nats.js.errors.KeyNotFoundError:
            return scopedoc.EMPTY, 0
        except (nats.errors.Error, OSError) as exc:
            raise LedgerUnavailableError(f"JetStream KV {self._bucket!r}: {exc}") from exc
        doc, rev = scopedoc.decode(entry.value), entry.revision or 0
        self._remember(key, doc, rev)
        return doc, rev

    async def _write(self, key: str, doc: ScopeDoc, rev: int) -> bool:
        """Write ``doc`` if the stored revision is still ``rev``; False when another writer came first."""
        try:
            if rev == 0:
                new_rev = await self._docs.create(key, scopedoc.encode(doc))
            else:
                new_rev = await self._docs.update(key, scopedoc.encode(doc), last=rev)
        except nats.js.errors.KeyWrongLastSequenceError:
            self._known.pop(key, None)
            return False
        except (nats.errors.Error, OSError) as exc:
            self._known.pop(key, None)
            raise LedgerUnavailableError(f"JetStream KV {self._bucket!r}: {exc}") from exc
        self._remember(key, doc, new_rev)
        return True

    def _remember(self, key: str, doc: ScopeDoc, rev: int) -> None:
        if rev == 0:
            self._known.pop(key, None)
            return
        if len(self._known) >= MAX_KNOWN and key not in self._known:
            self._known.clear()
        self._known[key] = (doc, rev)

    async def _keys(self) -> list[str]:
        try:
            keys = await self._docs.keys()
        except nats.js.errors.NoKeysError:
            return []
        except (nats.errors.Error, OSError) as exc:
            raise LedgerUnavailableError(f"JetStream KV {self._bucket!r}: {exc}") from exc
        return sorted(k for k in keys if k.startswith(_PREFIX))


def _events_bucket(bucket: str) -> str:
    return f"{bucket}_events"


async def _buckets(js: JetStreamContext, bucket: str, events_ttl_s: float) -> tuple[KeyValue, KeyValue]:
    docs = await _bucket(js, bucket, None)
    events = await _bucket(js, _events_bucket(bucket), events_ttl_s)
    return docs, events


async def _bucket(js: JetStreamContext, name: str, ttl: float | None) -> KeyValue:
    try:
        return await js.key_value(name)
    except nats.js.errors.BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(bucket=name, history=1, ttl=ttl)
    except nats.js.errors.BadRequestError:
        return await js.key_value(name)  # created by another process in between


def _first_of_each(items: Sequence[SettleItem]) -> list[SettleItem]:
    """``items`` in order, without later items repeating an event id."""
    ids: set[str] = set()
    out: list[SettleItem] = []
    for it in items:
        if it.event_id not in ids:
            ids.add(it.event_id)
            out.append(it)
    return out


def _marker(batch: Sequence[SettleItem]) -> str:
    """The ``<bucket>_events`` key recording that ``batch`` was applied."""
    if len(batch) == 1:
        return "e." + _safe(batch[0].event_id)
    h = hashlib.sha256()
    for it in batch:
        h.update(it.event_id.encode())
        h.update(b"\0")
    return "b." + h.hexdigest()[:40]


def _safe(event_id: str) -> str:
    """An event id as a KV key token."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in event_id)


async def _backoff(attempt: int) -> None:
    """A short random pause that grows with the attempts, so racing writers spread out."""
    await asyncio.sleep(random.uniform(0, 0.0005 * min(attempt + 1, 20)))
