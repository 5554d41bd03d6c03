"""The budget projection's state as data, so it can be snapshotted with its stream position (msgspec).

Everything here is plain and encodable: the service commits ``encode(state)`` together with
``state.position`` in one KV value, and a restart decodes it and reads on from ``position + 1``.
"""

from __future__ import annotations

import msgspec

from agentgov.contracts.events_budget import BudgetWindow, ModelPrice


class LimitRow(msgspec.Struct, kw_only=True):
    """One limit: scope, window and amount (micro-dollars); tz for calendar windows, length for rolling."""

    scope: str
    window: BudgetWindow
    limit_usd_micros: int
    tz: str = "UTC"
    rolling_s: int = 0


class Acc(msgspec.Struct, kw_only=True):
    """Spend of one scope in its current calendar window, and what was already said about that window."""

    start_ns: int = 0
    end_ns: int = 0
    spent: int = 0
    tz: str = "UTC"
    alerted: list[int] = []
    exceeded: bool = False


class Rolling(msgspec.Struct, kw_only=True):
    """Spend of one scope over its rolling window: (bucket start, usd) entries oldest first, in the ledger's
    buckets (:func:`~agentgov.budget.scopes.rolling_width_ns`, at most ~61 of them), their sum, and the
    thresholds currently crossed (re-armed once spend falls back below)."""

    items: list[tuple[int, int]] = []
    total: int = 0
    alerted: list[int] = []
    exceeded: bool = False


class Hold(msgspec.Struct, kw_only=True):
    """A reservation taken by a policy replica (from ActionDecided), until its spend settles it."""

    scopes: list[str]
    usd_micros: int
    expires_ns: int


class Pricing(msgspec.Struct, kw_only=True):
    """The current pricing revision."""

    revision: int = 0
    sha256: str = ""
    prices: list[ModelPrice] = []


class LedgerOp(msgspec.Struct, kw_only=True):
    """One ledger write, kept in the snapshot until done: a settle (``event_id`` set) or a limit change."""

    event_id: str = ""
    request_id: str = ""
    scopes: list[str] = []
    usd_micros: int = 0
    ts_ns: int = 0
    limit: LimitRow | None = None
    remove: tuple[str, str] | None = None
    """(scope, window) of a removed limit."""


class State(msgspec.Struct, kw_only=True):
    """The whole projection; ``position`` is the last stream sequence applied."""

    position: int = 0
    agents: dict[str, tuple[str, str]] = {}
    """agent -> (team, org) from AgentRegistered."""
    retired: list[str] = []
    pricing: Pricing = msgspec.field(default_factory=Pricing)
    limits: dict[str, LimitRow] = {}
    """``scope|window`` -> limit."""
    acc: dict[str, Acc] = {}
    """``scope|daily`` and ``scope|monthly`` -> spend in the current window (every scope that spent)."""
    rolling: dict[str, Rolling] = {}
    """scope -> rolling spend (only scopes with a rolling limit)."""
    holds: dict[str, Hold] = {}
    """request id -> outstanding reservation."""
    spent_total: dict[str, int] = {}
    """scope -> spend since the beginning of the stream."""
    last_ts: int = 0
    """Largest event time applied (ns); timer ticks never roll windows behind it."""
    revoked_tokens: list[str] = []
    revoked_before: dict[str, int] = {}
    """agent -> Unix seconds: its tokens issued before are revoked."""
    intent: list[LedgerOp] = []
    """Ledger writes decided by the batch that ended at ``position``, committed before they are made
    (write-ahead): a restart makes them again (each is idempotent by its event id) and none is lost."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(State)


def encode_state(state: State) -> bytes:
    """The snapshot bytes."""
    return _encoder.encode(state)


def decode_state(data: bytes) -> State:
    """A state from snapshot bytes."""
    return _decoder.decode(data)


def key(scope: str, window: str) -> str:
    """The dictionary key of a (scope, window)."""
    return f"{scope}|{window}"
