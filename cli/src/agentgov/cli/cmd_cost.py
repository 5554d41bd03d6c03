"""``agentgov cost``: spend, limit, remaining and a month-end forecast by org / team / agent."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from agentgov.cli.connection import runtime_from
from agentgov.cli.output import error, note, table

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

    from agentgov.budget.domain import BudgetProjection
    from agentgov.identity.operators import TrustStore

COST_HELP = """\
Spend by org, team and agent, replayed from the GOV stream (gov.spend, gov.budget, gov.registry): month-to-date
spend (in the monthly limit's time zone, else UTC), the monthly limit (else the daily one), what remains of it,
and a month-end forecast: month-to-date spend extrapolated linearly over the whole month
(spend / elapsed x month length). --json prints one object per line for scripts.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``cost``."""
    p = sub.add_parser(
        "cost",
        parents=[common],
        help="spend, limits, remaining and month-end forecast by org / team / agent",
        description=COST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="one JSON object per scope")
    p.set_defaults(handler=_cost)


async def replay(js: JetStreamContext, trust: TrustStore) -> BudgetProjection:
    """The budget projection as of now, replayed from the stream (nothing is written)."""
    from agentgov.budget.domain import BudgetProjection
    from agentgov.budget.handlers import decode_batch
    from agentgov.contracts.streams import GOV
    from agentgov.streaming.reader import last_seq, read_batches

    proj = BudgetProjection(trust)
    end = await last_seq(js, GOV)
    if end:
        async for batch in read_batches(js, GOV, until_seq=end):
            for m, event in decode_batch(batch):
                proj.apply(event, m.seq, m.subject)
    return proj


def rows(proj: BudgetProjection, now_ns: int) -> list[dict[str, Any]]:
    """One row per org, team and agent (then global) with spend, limit, remaining and forecast."""
    from agentgov.budget.scopes import calendar_bounds
    from agentgov.budget.state import key

    st = proj.state
    scopes = set(st.spent_total) | {lim.scope for lim in st.limits.values()}
    order = {"org": 0, "team": 1, "agent": 2, "global": 3}
    out = []
    for scope in sorted(scopes, key=lambda s: (order.get(s.split(":")[0], 9), s)):
        lim = st.limits.get(key(scope, "monthly")) or st.limits.get(key(scope, "daily"))
        window = lim.window if lim is not None else "monthly"
        month = st.limits.get(key(scope, "monthly"))
        tz = month.tz if month is not None else "UTC"
        start, end = calendar_bounds("monthly", tz, now_ns)
        mtd = proj.spent(scope, "monthly", now_ns)
        forecast = mtd * (end - start) // max(now_ns - start, 1)
        spent = mtd if window == "monthly" else proj.spent(scope, "daily", now_ns)
        row: dict[str, Any] = {
            "scope": scope,
            "window": window,
            "spent_usd_micros": spent,
            "month_to_date_usd_micros": mtd,
            "limit_usd_micros": lim.limit_usd_micros if lim is not None else None,
            "remaining_usd_micros": lim.limit_usd_micros - spent if lim is not None else None,
            "forecast_month_usd_micros": forecast,
        }
        out.append(row)
    return out


def _cost(args: argparse.Namespace) -> int:
    from agentgov.identity.operators import TrustStore, trust_file
    from agentgov.ledger.model import usd
    from agentgov.streaming import home
    from agentgov.streaming.connect import connect
    from agentgov.streaming.errors import StreamingError

    async def run() -> list[dict[str, Any]]:
        nc = await connect(runtime_from(args), name="agentgov-cost")
        try:
            proj = await replay(nc.jetstream(), TrustStore.load(trust_file(home.home())))
        finally:
            await nc.close()
        return rows(proj, time.time_ns())

    try:
        data = asyncio.run(run())
    except (StreamingError, OSError) as exc:
        error(str(exc))
        return 1
    if args.json:
        for row in data:
            print(json.dumps(row))
        return 0
    if not data:
        note("no spend recorded and no limits set")
        return 0

    def money(v: int | None) -> str:
        return "-" if v is None else usd(v)

    table(
        ["scope", "window", "spent", "limit", "remaining", "month-end forecast"],
        [
            (
                r["scope"],
                r["window"],
                money(r["spent_usd_micros"]),
                money(r["limit_usd_micros"]),
                money(r["remaining_usd_micros"]),
                money(r["forecast_month_usd_micros"]),
            )
            for r in data
        ],
    )
    return 0
