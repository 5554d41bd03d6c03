"""The budget ledger: limits, spend and reservations per scope and window, on Redis or JetStream KV.

Shared by the budget service (limits and actual spend) and the policy replicas (reserving before they
allow). See README.md for what each backend guarantees.
"""

from agentgov.ledger.errors import InvalidLimitError, LedgerError, LedgerUnavailableError
from agentgov.ledger.kv import KvLedger
from agentgov.ledger.model import (
    Limit,
    Reservation,
    Scope,
    SettleItem,
    Shortfall,
    Usage,
    Window,
    hold_id,
    scopes_of,
    usd,
)
from agentgov.ledger.open import open_ledger
from agentgov.ledger.port import Ledger
from agentgov.ledger.redis import RedisLedger
from agentgov.ledger.windows import window_end_ns, window_start_ns

__all__ = [
    "InvalidLimitError",
    "KvLedger",
    "Ledger",
    "LedgerError",
    "LedgerUnavailableError",
    "Limit",
    "RedisLedger",
    "Reservation",
    "Scope",
    "SettleItem",
    "Shortfall",
    "Usage",
    "Window",
    "hold_id",
    "open_ledger",
    "scopes_of",
    "usd",
    "window_end_ns",
    "window_start_ns",
]
