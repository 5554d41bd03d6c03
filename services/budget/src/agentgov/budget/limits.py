"""What makes a pricing revision or a budget limit acceptable, and what operators sign (pure).

Both are signed with :func:`agentgov.contracts.crypto.sign_policy` by an operator key trusted with the
``policy`` role over ``*`` (money is global: an org-scoped policy operator cannot change prices or caps):

- pricing: ``sign_policy(key, "pricing", revision, sha256(source))``, revision = previous + 1, and the
  source must hash to ``sha256`` and parse to exactly the ``prices`` the event carries;
- a limit: ``sign_policy(key, "budget:" + scope, 0, limit_digest(event))`` where :func:`limit_digest` is the
  SHA-256 of ``scope NUL window NUL amount-or-"none" NUL tz NUL rolling_s``. The signature binds every field
  that changes the cap; replaying an old signed limit re-applies exactly that old limit, which only
  operators (who may publish ``gov.budget.limits``) can do.
"""

from __future__ import annotations

import hashlib

from agentgov.budget.errors import LimitError, PricingError
from agentgov.budget.pricing import parse_pricing, sha256_of
from agentgov.budget.scopes import parse_scope, zone
from agentgov.contracts import crypto
from agentgov.contracts.events_budget import BudgetLimitSet, PricingPublished
from agentgov.identity.errors import TrustError
from agentgov.identity.operators import TrustStore

PRICING_SCOPE = "pricing"
LIMIT_SCOPE_PREFIX = "budget:"
MAX_LIMIT_USD_MICROS = 10**15
"""A billion dollars: anything larger is a typo."""


def limit_digest(scope: str, window: str, limit_usd_micros: int | None, tz: str, rolling_s: int) -> str:
    """The hex digest an operator signs for a limit."""
    amount = "none" if limit_usd_micros is None else str(limit_usd_micros)
    return hashlib.sha256(f"{scope}\x00{window}\x00{amount}\x00{tz}\x00{rolling_s}".encode()).hexdigest()


def validate_limit(scope: str, window: str, limit_usd_micros: int | None, tz: str, rolling_s: int) -> None:
    """LimitError unless the fields make a limit (or a removal)."""
    parse_scope(scope)
    if window not in ("daily", "monthly", "rolling"):
        raise LimitError(f"bad window {window!r}: daily, monthly or rolling")
    if limit_usd_micros is not None and not 0 <= limit_usd_micros <= MAX_LIMIT_USD_MICROS:
        raise LimitError(f"limit {limit_usd_micros} micro-dollars is out of range")
    zone(tz)
    if window == "rolling" and limit_usd_micros is not None and not 60 <= rolling_s <= 366 * 86_400:
        raise LimitError("a rolling window is between 1 minute and 366 days long")


def _signer_ok(trust: TrustStore, signer: str, signature: str, scope: str, revision: int, digest: str) -> str:
    key = trust.public_key(signer)
    if key is None:
        return f"signer {signer!r} is not a trusted operator key"
    try:
        trust.authorize(signer, "policy", None)
    except TrustError as exc:
        return str(exc)
    if not crypto.verify_policy(key, signature, scope, revision, digest):
        return "signature does not verify"
    return ""


def check_pricing(trust: TrustStore, ev: PricingPublished, current: int) -> str:
    """Why a pricing revision cannot become current ('' when it can)."""
    if ev.revision <= current:
        return f"revision {ev.revision} is not newer than the current revision {current}"
    why = _signer_ok(trust, ev.signer, ev.signature, PRICING_SCOPE, ev.revision, ev.sha256)
    if why:
        return why
    if sha256_of(ev.source) != ev.sha256:
        return "source does not match its sha256"
    try:
        parsed = parse_pricing(ev.source, f"pricing@{ev.revision}")
    except PricingError as exc:
        return str(exc)
    if sorted(parsed, key=lambda p: p.model) != sorted(ev.prices, key=lambda p: p.model):
        return "prices do not match the signed source"
    return ""


def check_limit(trust: TrustStore, ev: BudgetLimitSet) -> str:
    """Why a limit cannot be applied ('' when it can)."""
    try:
        validate_limit(ev.scope, ev.window, ev.limit_usd_micros, ev.tz, ev.rolling_s)
    except LimitError as exc:
        return str(exc)
    digest = limit_digest(ev.scope, ev.window, ev.limit_usd_micros, ev.tz, ev.rolling_s)
    return _signer_ok(trust, ev.signer, ev.signature, LIMIT_SCOPE_PREFIX + ev.scope, 0, digest)
