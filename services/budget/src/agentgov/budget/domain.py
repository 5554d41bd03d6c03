"""The budget projection (pure): events in, state and effects out, no NATS.

:meth:`BudgetProjection.apply` takes each event in stream order and returns :class:`Effects`: the events
the service must append (alerts, exceeded, resets, rejections: each with a ``Nats-Msg-Id`` derived from what
it is about, so a replay can never write it twice) and the ledger operations (settle, set or remove a limit).
:meth:`BudgetProjection.tick` rolls calendar windows over on a timer when no spend arrives.

What it trusts: ``PricingPublished`` only when signed by an operator key trusted with role ``policy`` over
``*`` and newer than the current revision; ``BudgetLimitSet`` only when signed the same way over
:func:`limit_digest` (see :mod:`agentgov.budget.limits`). Registry events are trusted by NATS permissions.

Alerts: ``BudgetAlert`` at 80 % and 95 % and ``BudgetExceeded`` once spend is over the limit, each at most
once per window (the window is named by its start). Windows roll over on the first spend or tick after
their boundary, which appends ``BudgetReset`` for scopes that have a limit on that window. Spend is
placed by its event time; spend stamped before the current window (a late collector) counts in the
current one rather than reopening a closed window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

from agentgov.budget import limits as limit_rules
from agentgov.budget.pricing import MAX_TOKENS_PER_CALL
from agentgov.budget.scopes import (
    CALENDAR,
    calendar_bounds,
    calendar_start_ns,
    rolling_first_ns,
    rolling_width_ns,
    scope_subject,
)
from agentgov.budget.state import Acc, Hold, LimitRow, Pricing, Rolling, State, key
from agentgov.contracts import subjects
from agentgov.contracts.envelope import Event
from agentgov.contracts.events import (
    ActionDecided,
    AgentRegistered,
    AgentRetired,
    AgentTokenRevoked,
    KnownEvent,
    SpendRecorded,
)
from agentgov.contracts.events_budget import (
    BudgetAlert,
    BudgetExceeded,
    BudgetLimitSet,
    BudgetReset,
    BudgetWindow,
    PricingPublished,
    SpendRejected,
    SpendRejectReason,
)
from agentgov.identity.operators import TrustStore
from agentgov.ledger.model import scopes_of

log = logging.getLogger(__name__)

THRESHOLDS: Final = (80, 95)


@dataclass(frozen=True, slots=True)
class Emit:
    """An event to append on ``subject`` with ``Nats-Msg-Id`` ``msg_id``."""

    subject: str
    event: Event
    msg_id: str


@dataclass(slots=True)
class Settle:
    """Add actual spend to the ledger and release the reservation of its request (idempotent per event)."""

    event_id: str
    request_id: str
    scopes: list[str]
    """The scopes that had a limit when the spend was applied (the others are not in the ledger)."""
    usd_micros: int
    ts_ns: int
    held: bool = False
    """True when a reservation for ``request_id`` is outstanding (the settle must name it to release it)."""
    hold_expires_ns: int = 0
    """When that reservation ends (the ledger drops it by itself then: no need to release it)."""


@dataclass(frozen=True, slots=True)
class SetLimit:
    """Write a limit into the ledger (``limit_usd_micros`` None removes it)."""

    row: LimitRow | None
    scope: str
    window: BudgetWindow


@dataclass(slots=True)
class Effects:
    """What applying events asks the service to do."""

    emit: list[Emit] = field(default_factory=list)
    settle: list[Settle] = field(default_factory=list)
    limits: list[SetLimit] = field(default_factory=list)

    def extend(self, other: Effects) -> None:
        """Append another batch's effects."""
        self.emit += other.emit
        self.settle += other.settle
        self.limits += other.limits


def alert_id(scope: str, window: str, start_ns: int, pct: int) -> str:
    """``Nats-Msg-Id`` of the alert at ``pct`` for one window."""
    return f"budget:alert:{scope}:{window}:{start_ns}:{pct}"


def exceeded_id(scope: str, window: str, start_ns: int) -> str:
    """``Nats-Msg-Id`` of the BudgetExceeded of one window."""
    return f"budget:exceeded:{scope}:{window}:{start_ns}"


def reset_id(scope: str, window: str, start_ns: int) -> str:
    """``Nats-Msg-Id`` of the BudgetReset that opens one window."""
    return f"budget:reset:{scope}:{window}:{start_ns}"


def rejected_id(seq: int) -> str:
    """``Nats-Msg-Id`` of the SpendRejected about the stream message ``seq``."""
    return f"budget:rejected:{seq}"


class BudgetProjection:
    """Spend per scope and window, limits, pricing and the registry, rebuilt from the stream."""

    def __init__(
        self, trust: TrustStore, state: State | None = None, *, default_tz: str = "UTC", hold_ttl_ns: int = 0
    ) -> None:
        self.trust = trust
        self.state = state or State()
        self.default_tz = default_tz
        self.hold_ttl_ns = hold_ttl_ns
        self.seen: set[str] = set()
        """Message ids of budget events already on the stream past the snapshot (checked before emitting)."""
        self.rejected: list[str] = []
        self._recent: dict[str, None] = {}
        self._scope_keys: dict[str, tuple[tuple[str, str], list[tuple[str, tuple[str, str, str]]]]] = {}

    # -- reading ---------------------------------------------------------------------------------------

    def pricing(self) -> Pricing:
        """The current pricing revision."""
        return self.state.pricing

    def spent(self, scope: str, window: BudgetWindow, now_ns: int) -> int:
        """Spend of ``scope`` in its current ``window`` as of ``now_ns`` (0 once that window has rolled)."""
        st = self.state
        if window == "rolling":
            roll = st.rolling.get(scope)
            lim = st.limits.get(key(scope, "rolling"))
            if roll is None or lim is None:
                return 0
            first = rolling_first_ns(lim.rolling_s, now_ns)
            return sum(usd for start, usd in roll.items if first <= start <= now_ns)
        acc = st.acc.get(key(scope, window))
        if acc is None:
            return 0
        return acc.spent if calendar_start_ns(window, acc.tz, now_ns) == acc.start_ns else 0

    # -- applying --------------------------------------------------------------------------------------

    def apply(self, event: KnownEvent, seq: int, subject: str = "", into: Effects | None = None) -> Effects:
        """Apply one event (at stream sequence ``seq``); unknown kinds are ignored. The effects are added to
        ``into`` when given (a batch's effects), else to a new :class:`Effects`; returns them."""
        fx = Effects() if into is None else into
        st = self.state
        if seq and seq <= st.position:
            return fx  # already in the state: replaying from an older position changes nothing
        st.position = max(st.position, seq)
        match event:
            case SpendRecorded():
                self._spend(event, seq, subject, fx)
            case ActionDecided(reserved_usd_micros=int(usd)) if usd > 0 and event.budget_scopes:
                st.holds[event.request_id] = Hold(
                    scopes=list(event.budget_scopes), usd_micros=usd, expires_ns=event.ts + self.hold_ttl_ns
                )
            case AgentRegistered(agent=str(agent)):
                st.agents[agent] = (event.team or "", event.org or "")
                if agent in st.retired:
                    st.retired.remove(agent)
            case AgentRetired(agent=str(agent)):
                if agent not in st.retired:
                    st.retired.append(agent)
            case AgentTokenRevoked(agent=str(agent)):
                if event.token_id:
                    st.revoked_tokens.append(event.token_id)
                else:  # same rule as the policy service: tokens issued in or before that second
                    cutoff = event.ts // 1_000_000_000 + 1
                    st.revoked_before[agent] = max(st.revoked_before.get(agent, 0), cutoff)
            case PricingPublished():
                self._pricing(event)
            case BudgetLimitSet():
                self._limit(event, fx)
            case BudgetAlert():
                self._mark(event.scope, event.window, event.window_start_ns, event.threshold_pct)
            case BudgetExceeded():
                self._mark(event.scope, event.window, event.window_start_ns, 100)
            case _:
                pass
        return fx

    def tick(self, now_ns: int) -> Effects:
        """Roll calendar windows whose boundary has passed (BudgetReset), expire old holds."""
        fx = Effects()
        st = self.state
        now_ns = max(now_ns, st.last_ts)
        for row in list(st.limits.values()):
            if row.window in CALENDAR:
                acc = st.acc.get(key(row.scope, row.window))
                if acc is not None:
                    self._roll(row.scope, row.window, acc, now_ns, fx)
        for rid in [rid for rid, h in st.holds.items() if h.expires_ns <= now_ns]:
            del st.holds[rid]
        return fx

    # -- spend -----------------------------------------------------------------------------------------

    def _spend(self, ev: SpendRecorded, seq: int, subject: str, fx: Effects) -> None:
        st = self.state
        if ev.id and ev.id in self._recent:
            return
        facts = st.agents.get(ev.agent or "")
        reason: SpendRejectReason | None = None
        if ev.agent is None or facts is None:
            reason, detail = "unknown_agent", f"agent {ev.agent!r} is not registered"
        elif ev.agent in st.retired:
            reason, detail = "unknown_agent", f"agent {ev.agent!r} is retired"
        elif ev.usd_micros < 0 or not _tokens_ok(ev):
            reason, detail = "bad_tokens", "negative or absurd token counts or amount"
        if reason is not None:
            self._reject(ev, seq, subject, reason, detail, fx)
            return
        assert ev.agent is not None and facts is not None
        if ev.id:
            self._recent[ev.id] = None
            if len(self._recent) > 100_000:
                del self._recent[next(iter(self._recent))]
        team, org = facts
        ts, usd = ev.ts, ev.usd_micros
        st.last_ts = max(st.last_ts, ts)
        limits, accs, totals = st.limits, st.acc, st.spent_total
        limited: list[str] = []
        for scope, keys in self._keys_of(ev.agent, team, org):
            totals[scope] = totals.get(scope, 0) + usd
            is_limited = False
            for window, k in zip(CALENDAR, keys, strict=False):
                lim = limits.get(k)
                acc = accs.get(k)
                if acc is None:
                    tz = lim.tz if lim is not None else self.default_tz
                    start, end = calendar_bounds(window, tz, ts)
                    acc = accs[k] = Acc(start_ns=start, end_ns=end, tz=tz)
                elif ts >= acc.end_ns or (lim is not None and acc.tz != lim.tz):
                    self._roll(scope, window, acc, ts, fx)
                acc.spent += usd
                if lim is not None:
                    is_limited = True
                    self._thresholds(scope, window, acc.start_ns, acc.spent, lim, acc, fx, ev.request_id)
            lim = limits.get(keys[2])
            if lim is not None:
                is_limited = True
                self._rolling(scope, lim, ts, usd, fx, ev.request_id)
            if is_limited:
                limited.append(scope)
        hold = st.holds.pop(ev.request_id, None) if ev.request_id else None
        if limited:  # the ledger keeps (and holds on) limited scopes only: nothing to write for the others
            expires = hold.expires_ns if hold is not None else 0
            fx.settle.append(Settle(ev.id, ev.request_id, limited, usd, ts, hold is not None, expires))

    def _keys_of(self, agent: str, team: str, org: str) -> list[tuple[str, tuple[str, str, str]]]:
        """The agent's scopes, each with its daily, monthly and rolling keys (cached per agent)."""
        hit = self._scope_keys.get(agent)
        if hit is not None and hit[0] == (team, org):
            return hit[1]
        out = [(s, (key(s, "daily"), key(s, "monthly"), key(s, "rolling"))) for s in scopes_of(agent, team, org)]
        if len(self._scope_keys) > 100_000:
            self._scope_keys.clear()
        self._scope_keys[agent] = ((team, org), out)
        return out

    def _roll(self, scope: str, window: BudgetWindow, acc: Acc, ts: int, fx: Effects) -> None:
        lim = self.state.limits.get(key(scope, window))
        tz = lim.tz if lim is not None else acc.tz
        start, end = calendar_bounds(window, tz, ts)
        if start <= acc.start_ns:
            if tz != acc.tz:  # a limit moved the window to another zone: same window, new boundary
                acc.tz, acc.start_ns, acc.end_ns = tz, start, end
            return
        acc.start_ns, acc.end_ns, acc.spent, acc.tz, acc.alerted, acc.exceeded = start, end, 0, tz, [], False
        if lim is not None:
            self._emit(
                fx,
                scope,
                BudgetReset(scope=scope, window=window, window_start_ns=start),
                reset_id(scope, window, start),
            )

    def _tz(self, k: str, acc: Acc) -> str:
        lim = self.state.limits.get(k)
        return lim.tz if lim is not None else acc.tz

    def _thresholds(
        self,
        scope: str,
        window: BudgetWindow,
        start: int,
        spent: int,
        lim: LimitRow,
        marks: Acc | Rolling,
        fx: Effects,
        request_id: str,
    ) -> None:
        limit = lim.limit_usd_micros
        if spent * 100 < limit * THRESHOLDS[0]:
            return  # below every threshold (and so not over the limit): the common case
        for pct in THRESHOLDS:
            if pct not in marks.alerted and spent * 100 >= limit * pct:
                marks.alerted.append(pct)
                event = BudgetAlert(
                    scope=scope,
                    window=window,
                    window_start_ns=start,
                    threshold_pct=pct,
                    spent_usd_micros=spent,
                    limit_usd_micros=limit,
                )
                self._emit(fx, scope, event, alert_id(scope, window, start, pct))
        if not marks.exceeded and spent > limit:
            marks.exceeded = True
            event2 = BudgetExceeded(
                scope=scope,
                window=window,
                window_start_ns=start,
                spent_usd_micros=spent,
                limit_usd_micros=limit,
                over_usd_micros=spent - limit,
                request_id=request_id,
            )
            self._emit(fx, scope, event2, exceeded_id(scope, window, start))

    def _rolling(self, scope: str, lim: LimitRow, ts: int, usd: int, fx: Effects, request_id: str) -> None:
        roll = self.state.rolling.setdefault(scope, Rolling())
        items = roll.items
        width = rolling_width_ns(lim.rolling_s)
        bucket = ts // width * width
        if items and bucket <= items[-1][0]:  # the same bucket, or late spend: counted in the newest one
            items[-1] = (items[-1][0], items[-1][1] + usd)
        else:
            items.append((bucket, usd))
        roll.total += usd
        first = rolling_first_ns(lim.rolling_s, max(ts, items[-1][0]))
        drop = 0
        while drop < len(items) and items[drop][0] < first:
            roll.total -= items[drop][1]
            drop += 1
        if drop:
            del items[:drop]
        limit = lim.limit_usd_micros
        roll.alerted = [p for p in roll.alerted if roll.total * 100 >= limit * p]  # re-arm below a threshold
        roll.exceeded = roll.exceeded and roll.total > limit
        start = roll.items[0][0] if roll.items else ts
        self._thresholds(scope, "rolling", start, roll.total, lim, roll, fx, request_id)

    def _reject(
        self, ev: SpendRecorded, seq: int, subject: str, reason: SpendRejectReason, detail: str, fx: Effects
    ) -> None:
        rejected = SpendRejected(
            agent=ev.agent,
            reason=reason,
            detail=detail,
            request_id=ev.request_id,
            model=ev.model,
            source_subject=subject,
            source_seq=seq,
            trace_id=ev.trace_id,
        )
        target = subject if subject.startswith("gov.spend.") else "gov.budget.rejected"
        msg_id = rejected_id(seq)
        if msg_id not in self.seen:
            fx.emit.append(Emit(target, rejected, msg_id))

    def _emit(self, fx: Effects, scope: str, event: Event, msg_id: str) -> None:
        if msg_id not in self.seen:
            fx.emit.append(Emit(scope_subject(scope), event, msg_id))

    def _mark(self, scope: str, window: BudgetWindow, start: int, pct: int) -> None:
        """Our own alert came back from the stream: never say it again for that window."""
        marks: Acc | Rolling | None
        if window == "rolling":
            marks = self.state.rolling.get(scope)
        else:
            marks = self.state.acc.get(key(scope, window))
            if marks is not None and marks.start_ns != start:
                marks = None
        if marks is None:
            return
        if pct == 100:
            marks.exceeded = True
        elif pct not in marks.alerted:
            marks.alerted.append(pct)

    # -- pricing and limits ----------------------------------------------------------------------------

    def _pricing(self, ev: PricingPublished) -> None:
        why = limit_rules.check_pricing(self.trust, ev, self.state.pricing.revision)
        if why:
            self._refuse(f"pricing revision {ev.revision} refused: {why}")
            return
        self.state.pricing = Pricing(revision=ev.revision, sha256=ev.sha256, prices=list(ev.prices))
        log.info("pricing revision %d current (%d models)", ev.revision, len(ev.prices))

    def _limit(self, ev: BudgetLimitSet, fx: Effects) -> None:
        why = limit_rules.check_limit(self.trust, ev)
        if why:
            self._refuse(f"budget limit {ev.scope} {ev.window} refused: {why}")
            return
        k = key(ev.scope, ev.window)
        if ev.limit_usd_micros is None:
            self.state.limits.pop(k, None)
            self.state.rolling.pop(ev.scope, None) if ev.window == "rolling" else None
            fx.limits.append(SetLimit(None, ev.scope, ev.window))
            return
        row = LimitRow(
            scope=ev.scope, window=ev.window, limit_usd_micros=ev.limit_usd_micros, tz=ev.tz, rolling_s=ev.rolling_s
        )
        first = not self.limited(ev.scope)
        self.state.limits[k] = row
        fx.limits.append(SetLimit(row, ev.scope, ev.window))
        if first and ev.window in CALENDAR and (opening := self.spent(ev.scope, ev.window, ev.ts)):
            # The ledger counts spend only on limited scopes: give it what this window already spent.
            fx.settle.append(Settle(f"opening:{ev.id}", "", [ev.scope], opening, ev.ts))

    def limited(self, scope: str) -> bool:
        """True when ``scope`` has a limit on any window."""
        return any(key(scope, w) in self.state.limits for w in ("daily", "monthly", "rolling"))

    def _refuse(self, why: str) -> None:
        log.warning("%s", why)
        self.rejected.append(why)


def _tokens_ok(ev: SpendRecorded) -> bool:
    most = MAX_TOKENS_PER_CALL
    return (
        0 <= ev.input_tokens <= most
        and 0 <= ev.output_tokens <= most
        and 0 <= ev.cached_tokens <= most
        and 0 <= ev.reasoning_tokens <= most
    )


def spend_subject(agent: str) -> str:
    """Where an agent's SpendRecorded and SpendRejected go."""
    return subjects.spend(agent)
