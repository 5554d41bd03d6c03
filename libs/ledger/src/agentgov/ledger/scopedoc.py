"""One scope's budget state as one document, and the pure steps on it (the JetStream KV backend's core).

The KV backend keeps everything about a scope in one value, so one compare-and-set covers a scope's limits,
its spend per window and its holds. Every step here is pure: a document in, a new document (or a refusal)
out; ``kv.py`` does the reading, the compare-and-set and the retries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final

import msgspec

from agentgov.ledger.model import WINDOWS, Limit, Scope, SettleItem, Shortfall, Usage, shortfall
from agentgov.ledger.windows import Starts, bucket_ns, bucket_of, bucket_range, window_start_ns

SEEN_EVENTS: Final = 1024
"""Event ids a document remembers at least (as 8-byte digests), so spend re-applied after a crash mid-settle
counts once per scope. A document always remembers every event of the last batch that touched it, however
large."""
DIGEST: Final = 8


class LimitRec(msgspec.Struct, frozen=True, array_like=True):
    """A stored limit."""

    limit: int
    tz: str = "UTC"
    rolling_s: int = 0


class Calendar(msgspec.Struct, frozen=True, array_like=True):
    """Spend in the current daily or monthly window (named by its start)."""

    start: int
    spent: int


class Rolling(msgspec.Struct, frozen=True, array_like=True):
    """Spend of a rolling window in time buckets of ``width`` ns, by bucket index."""

    width: int
    buckets: dict[int, int]


class Hold(msgspec.Struct, frozen=True, array_like=True):
    """Budget held for a request until ``expires``."""

    usd: int
    expires: int


class ScopeDoc(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Everything the ledger knows about one scope."""

    limits: dict[str, LimitRec] = {}
    calendar: dict[str, Calendar] = {}
    rolling: dict[str, Rolling] = {}
    holds: dict[str, Hold] = {}
    applied: bytes = b""
    """Digests (:func:`event_digest`) of the events applied last, oldest first."""


EMPTY: Final = ScopeDoc()
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(ScopeDoc).decode


def encode(doc: ScopeDoc) -> bytes:
    """The stored bytes of a document."""
    return _encode(doc)


def decode(data: bytes | None) -> ScopeDoc:
    """A document from its stored bytes (empty bytes: the empty document)."""
    return _decode(data) if data else EMPTY


def limits_of(scope: Scope, doc: ScopeDoc) -> list[Limit]:
    """The limits of ``scope``, in window order."""
    return [Limit(scope, w, r.limit, r.tz, r.rolling_s) for w in WINDOWS if (r := doc.limits.get(w)) is not None]


def with_limit(doc: ScopeDoc, limit: Limit) -> ScopeDoc:
    """``doc`` with ``limit`` set (a rolling window whose length changed starts afresh)."""
    limits = {**doc.limits, limit.window: LimitRec(limit.limit_usd_micros, limit.tz, limit.rolling_s)}
    rolling = doc.rolling
    if limit.window == "rolling" and limit.window in rolling and rolling[limit.window].width != bucket_ns(limit):
        rolling = {k: v for k, v in rolling.items() if k != limit.window}
    return msgspec.structs.replace(doc, limits=limits, rolling=rolling)


def without_limit(doc: ScopeDoc, window: str) -> ScopeDoc:
    """``doc`` without the limit (and the spend) of ``window``."""
    return msgspec.structs.replace(
        doc,
        limits={k: v for k, v in doc.limits.items() if k != window},
        calendar={k: v for k, v in doc.calendar.items() if k != window},
        rolling={k: v for k, v in doc.rolling.items() if k != window},
    )


def reserved(doc: ScopeDoc, now_ns: int) -> int:
    """What the holds that have not expired at ``now_ns`` add up to."""
    return sum(h.usd for h in doc.holds.values() if h.expires > now_ns)


def spent(doc: ScopeDoc, limit: Limit, now_ns: int) -> int:
    """Spend in ``limit``'s window holding ``now_ns`` (spend of an earlier window counts nothing)."""
    if limit.window == "rolling":
        r = doc.rolling.get("rolling")
        if r is None or r.width != bucket_ns(limit):
            return 0
        span = bucket_range(limit, now_ns)
        return sum(v for i, v in r.buckets.items() if i in span)
    c = doc.calendar.get(limit.window)
    return c.spent if c is not None and c.start == window_start_ns(limit, now_ns) else 0


def usages(scope: Scope, doc: ScopeDoc, now_ns: int) -> list[Usage]:
    """Every limited window of the scope at ``now_ns``."""
    held = reserved(doc, now_ns)
    return [
        Usage(scope, lim.window, window_start_ns(lim, now_ns), lim.limit_usd_micros, spent(doc, lim, now_ns), held)
        for lim in limits_of(scope, doc)
    ]


def hold(
    scope: Scope, doc: ScopeDoc, request_id: str, usd: int, now_ns: int, expires_ns: int
) -> ScopeDoc | list[Shortfall]:
    """``doc`` holding ``usd`` for the request, or the shortfalls when a window would be overrun.

    Expired holds are dropped on the way; a request already held is left as it is (idempotent)."""
    if request_id in doc.holds and doc.holds[request_id].expires > now_ns:
        return doc
    short = [s for u in usages(scope, doc, now_ns) if (s := shortfall(u, usd)) is not None]
    if short:
        return short
    holds = {k: h for k, h in doc.holds.items() if h.expires > now_ns}
    holds[request_id] = Hold(usd, expires_ns)
    return msgspec.structs.replace(doc, holds=holds)


def release(doc: ScopeDoc, request_id: str) -> ScopeDoc:
    """``doc`` without the request's hold."""
    return msgspec.structs.replace(doc, holds={k: h for k, h in doc.holds.items() if k != request_id})


def expired(doc: ScopeDoc, now_ns: int) -> list[str]:
    """The requests whose holds ended at or before ``now_ns``."""
    return [k for k, h in doc.holds.items() if h.expires <= now_ns]


def drop_expired(doc: ScopeDoc, now_ns: int) -> ScopeDoc:
    """``doc`` without the holds that ended at or before ``now_ns``."""
    return msgspec.structs.replace(doc, holds={k: h for k, h in doc.holds.items() if h.expires > now_ns})


def event_digest(event_id: str) -> bytes:
    """The 8-byte digest a document remembers an applied event by."""
    return hashlib.blake2b(event_id.encode(), digest_size=DIGEST).digest()


def applied_set(doc: ScopeDoc) -> set[bytes]:
    """The digests of the events the document remembers."""
    a = doc.applied
    return {a[i : i + DIGEST] for i in range(0, len(a), DIGEST)}


def add_spend(
    scope: Scope, doc: ScopeDoc, event_id: str, request_id: str | None, usd: int, ts_ns: int
) -> ScopeDoc | None:
    """``doc`` with ``usd`` spent at ``ts_ns`` in every limited window and the request's hold released;
    None when the document already applied ``event_id``."""
    new, done = add_spends(scope, doc, [SettleItem(event_id, request_id, [scope], usd, ts_ns)])
    return new if done else None


def add_spends(scope: Scope, doc: ScopeDoc, items: Sequence[SettleItem]) -> tuple[ScopeDoc, list[str]]:
    """``doc`` with each item's spend added in order (as :func:`add_spend` one by one would) and the ids of
    the items applied now; items the document already applied are skipped.

    Spend for a window older than the one stored is dropped (it cannot count in the newer one); rolling
    buckets that fell out of the window are dropped."""
    seen = applied_set(doc)
    lims = limits_of(scope, doc)
    calendar = dict(doc.calendar)
    rolling = dict(doc.rolling)
    holds = doc.holds
    starts = Starts()
    done: list[str] = []
    digests: list[bytes] = []
    for it in items:
        dg = event_digest(it.event_id)
        if dg in seen:
            continue
        seen.add(dg)
        digests.append(dg)
        done.append(it.event_id)
        for lim in lims:
            if lim.window == "rolling":
                _add_rolling(rolling, lim, it.usd_micros, it.ts_ns)
            else:
                _add_calendar(calendar, lim, it.usd_micros, starts.start(lim, it.ts_ns))
        if it.request_id is not None and it.request_id in holds:
            holds = {k: h for k, h in holds.items() if k != it.request_id}
    if not done:
        return doc, done
    applied = _remember(doc.applied, digests)
    return msgspec.structs.replace(doc, calendar=calendar, rolling=rolling, holds=holds, applied=applied), done


def _add_rolling(rolling: dict[str, Rolling], lim: Limit, usd: int, ts_ns: int) -> None:
    width, idx = bucket_ns(lim), bucket_of(lim, ts_ns)
    old = rolling.get("rolling")
    buckets = dict(old.buckets) if old is not None and old.width == width else {}
    buckets[idx] = buckets.get(idx, 0) + usd
    first = bucket_range(lim, max(buckets) * width).start
    rolling["rolling"] = Rolling(width, {i: v for i, v in buckets.items() if i >= first})


def _add_calendar(calendar: dict[str, Calendar], lim: Limit, usd: int, start: int) -> None:
    cur = calendar.get(lim.window)
    if cur is None or start > cur.start:
        calendar[lim.window] = Calendar(start, usd)
    elif start == cur.start:
        calendar[lim.window] = Calendar(start, cur.spent + usd)


def _remember(applied: bytes, digests: Iterable[bytes]) -> bytes:
    """``applied`` with ``digests`` added, keeping at least :data:`SEEN_EVENTS` and all of the new ones."""
    new = b"".join(digests)
    keep = max(SEEN_EVENTS * DIGEST, len(new))
    return (applied + new)[-keep:]
