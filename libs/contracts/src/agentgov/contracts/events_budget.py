"""Budget and spend events (DESIGN.md §2: ``gov.spend.<agent>``, ``gov.budget.<scope>``).

Money is integer micro-dollars (``usd_micros``); prices are micro-dollars per million tokens, so a price of
$2.50 per million input tokens is ``2_500_000``. A budget *scope* is ``agent:<id>``, ``team:<id>``,
``org:<id>`` or ``global``; a *window* is ``daily`` or ``monthly`` in an IANA time zone, or ``rolling`` over
``rolling_s`` seconds. Windows are named by their start (``window_start_ns``), so "exactly once per window"
is checkable from the events alone.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from agentgov.contracts.envelope import Event

BudgetWindow = Literal["daily", "monthly", "rolling"]

PRICING_SUBJECT = "gov.budget.pricing"
"""Where operators publish pricing revisions."""
LIMITS_SUBJECT = "gov.budget.limits"
"""Where operators set and remove budget limits."""


class ModelPrice(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What one model costs, in micro-dollars per million tokens of each kind."""

    model: str
    provider: str = ""
    input: int
    output: int
    cached: int = 0
    """Cached input tokens (prompt-cache reads); 0 = priced as ordinary input."""
    reasoning: int = 0
    """Reasoning tokens; 0 = priced as output."""


class PricingPublished(Event, frozen=True, kw_only=True, tag="PricingPublished.v1"):
    """A pricing table becomes current: SpendRecorded events written after it name its ``revision``.

    ``source`` is the pricing file as written and ``sha256`` its digest; ``signature`` is an Ed25519
    signature by the operator key ``signer`` over :func:`agentgov.contracts.crypto.policy_message` of
    (``pricing``, revision, sha256).
    """

    revision: int
    prices: list[ModelPrice]
    source: str = ""
    sha256: str = ""
    signer: str = ""
    signer_name: str = ""
    signature: str = ""
    note: str = ""


class BudgetLimitSet(Event, frozen=True, kw_only=True, tag="BudgetLimitSet.v1"):
    """A spend limit for one scope and window; ``limit_usd_micros`` None removes the limit."""

    scope: str
    window: BudgetWindow
    limit_usd_micros: int | None
    tz: str = "UTC"
    """IANA time zone of daily and monthly windows."""
    rolling_s: int = 0
    """Length of a rolling window in seconds."""
    signer: str = ""
    signer_name: str = ""
    signature: str = ""
    note: str = ""


class BudgetReserved(Event, frozen=True, kw_only=True, tag="BudgetReserved.v1"):
    """Budget held for a checked action until its SpendRecorded reconciles it (or the hold expires)."""

    request_id: str
    scopes: list[str]
    usd_micros: int
    expires_ns: int


class BudgetAlert(Event, frozen=True, kw_only=True, tag="BudgetAlert.v1"):
    """Spend in a window crossed ``threshold_pct`` (80 or 95) of its limit; written once per window."""

    scope: str
    window: BudgetWindow
    window_start_ns: int
    threshold_pct: int
    spent_usd_micros: int
    limit_usd_micros: int


class BudgetExceeded(Event, frozen=True, kw_only=True, tag="BudgetExceeded.v1"):
    """Spend in a window went over its limit (``over_usd_micros`` past it); written once per window."""

    scope: str
    window: BudgetWindow
    window_start_ns: int
    spent_usd_micros: int
    limit_usd_micros: int
    over_usd_micros: int
    request_id: str = ""


class BudgetReset(Event, frozen=True, kw_only=True, tag="BudgetReset.v1"):
    """A window starts afresh: the calendar rolled over (``reason="window"``) or an operator reset it."""

    scope: str
    window: BudgetWindow
    window_start_ns: int
    reason: str = "window"
    by: str = ""


SpendRejectReason = Literal[
    "unknown_agent", "unknown_model", "bad_tokens", "malformed", "no_pricing", "invalid_id", "oversized"
]


class SpendRejected(Event, frozen=True, kw_only=True, tag="SpendRejected.v1"):
    """A usage report or spend record was refused and changed no state; says why."""

    reason: SpendRejectReason
    detail: str
    request_id: str = ""
    model: str = ""
    source_subject: str = ""
    source_seq: int = 0
