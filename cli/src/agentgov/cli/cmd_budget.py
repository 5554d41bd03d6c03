"""``agentgov budget``: publish and show pricing, set and unset spend limits (signed operator events)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agentgov.cli.connection import runtime_from
from agentgov.cli.output import error, note, table

BUDGET_HELP = """\
  pricing publish FILE          sign and publish a pricing table (deploy/pricing.yaml) as the next revision
  pricing show                  the current pricing revision
  set SCOPE --daily USD [--tz Europe/Paris] | --monthly USD [--tz ...] | --rolling 1h USD
  unset SCOPE WINDOW            remove a limit (WINDOW: daily, monthly, rolling)
SCOPE is agent:<id>, team:<id>, org:<id> or global. Pricing and limits are signed with your operator key,
which must hold the 'policy' role over '*'.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``budget`` and its subcommands."""
    p = sub.add_parser(
        "budget",
        help="pricing and spend limits",
        description=BUDGET_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="budget_command", metavar="ACTION", required=True)
    pricing = cmds.add_parser("pricing", help="publish or show the pricing table")
    pcmds = pricing.add_subparsers(dest="pricing_command", metavar="ACTION", required=True)
    pub = pcmds.add_parser("publish", parents=[common], help="sign and publish a pricing file")
    pub.add_argument("file", type=Path, metavar="FILE")
    pub.add_argument("--note", default="")
    pub.set_defaults(handler=_sync(_publish))
    show = pcmds.add_parser("show", parents=[common], help="the current pricing revision")
    show.set_defaults(handler=_sync(_show))
    s = cmds.add_parser("set", parents=[common], help="set a spend limit")
    s.add_argument("scope")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--daily", metavar="USD")
    g.add_argument("--monthly", metavar="USD")
    g.add_argument("--rolling", nargs=2, metavar=("DURATION", "USD"), help="e.g. --rolling 1h 5.00")
    s.add_argument("--tz", default="UTC", help="IANA time zone of daily/monthly windows (default UTC)")
    s.add_argument("--note", default="")
    s.set_defaults(handler=_sync(_set))
    u = cmds.add_parser("unset", parents=[common], help="remove a spend limit")
    u.add_argument("scope")
    u.add_argument("window", choices=["daily", "monthly", "rolling"])
    u.set_defaults(handler=_sync(_unset))


def _sync(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from agentgov.budget.errors import LimitError, PricingError
        from agentgov.identity.errors import TrustError
        from agentgov.streaming.errors import StreamingError

        try:
            return int(asyncio.run(fn(args)))
        except PricingError as exc:
            for line in exc.problems:
                print(line, file=sys.stderr)
            error(f"{exc.source} does not validate; nothing published")
            return 1
        except (StreamingError, TrustError, LimitError, OSError, ValueError) as exc:
            error(str(exc))
            return 1

    return run


def usd_micros(text: str) -> int:
    """Dollars (``12.50``) as micro-dollars; ValueError for anything else."""
    try:
        value = Decimal(text.lstrip("$"))
    except InvalidOperation:
        raise ValueError(f"not an amount of dollars: {text!r}") from None
    micros = value * 1_000_000
    if not value.is_finite() or value < 0 or micros != micros.to_integral_value():
        raise ValueError(f"not an amount of dollars: {text!r}")
    return int(micros)


def _must_sign() -> Any:
    from agentgov.cli.operator import local_operator
    from agentgov.identity.errors import TrustError

    identity = local_operator()
    if not identity.operator.allows("policy", None):
        raise TrustError(f"operator {identity.operator.name!r} may not set prices or limits (needs 'policy' over '*')")
    return identity


async def _publish(args: argparse.Namespace) -> int:
    from agentgov.budget.limits import PRICING_SCOPE
    from agentgov.budget.pricing import parse_pricing, sha256_of
    from agentgov.cli.cmd_cost import replay
    from agentgov.cli.operator import operator_session
    from agentgov.contracts import crypto
    from agentgov.contracts.events_budget import PRICING_SUBJECT, PricingPublished
    from agentgov.identity.operators import TrustStore

    path: Path = args.file
    source = await asyncio.to_thread(path.read_text, "utf-8")
    prices = parse_pricing(source, str(path))
    identity = _must_sign()
    rt = runtime_from(args)
    async with operator_session(rt, "agentgov-budget-pricing") as (nc, producer):
        proj = await replay(nc.jetstream(), TrustStore.load(identity.trust_path))
        revision = proj.state.pricing.revision + 1
        sha = sha256_of(source)
        event = PricingPublished(
            revision=revision,
            prices=prices,
            source=source,
            sha256=sha,
            signer=identity.key_id,
            signer_name=identity.operator.name,
            signature=crypto.sign_policy(identity.key, PRICING_SCOPE, revision, sha),
            note=args.note,
        )
        ack = await producer.publish_once(PRICING_SUBJECT, event, msg_id=f"pricing:{revision}")
    if ack.duplicate:
        error(f"pricing revision {revision} was already published; run it again")
        return 1
    print(f"published {path} as pricing revision {revision} ({len(prices)} models, stream seq {ack.seq})")
    return 0


async def _show(args: argparse.Namespace) -> int:
    from agentgov.cli.cmd_cost import replay
    from agentgov.cli.operator import local_operator
    from agentgov.identity.operators import TrustStore
    from agentgov.streaming.connect import connect

    nc = await connect(runtime_from(args), name="agentgov-budget-pricing")
    try:
        proj = await replay(nc.jetstream(), TrustStore.load(local_operator().trust_path))
    finally:
        await nc.close()
    p = proj.state.pricing
    if not p.revision:
        note("no pricing has been published (agentgov budget pricing publish deploy/pricing.yaml)")
        return 0
    print(f"pricing revision {p.revision} (sha256 {p.sha256[:12]}); USD per million tokens")
    table(
        ["model", "provider", "input", "cached", "output", "reasoning"],
        [
            (
                m.model,
                m.provider,
                m.input / 1e6,
                (m.cached or m.input) / 1e6,
                m.output / 1e6,
                (m.reasoning or m.output) / 1e6,
            )
            for m in p.prices
        ],
    )
    return 0


async def _append_limit(args: argparse.Namespace, window: str, amount: int | None, tz: str, rolling_s: int) -> int:
    from agentgov.budget.limits import LIMIT_SCOPE_PREFIX, limit_digest, validate_limit
    from agentgov.cli.operator import operator_session
    from agentgov.contracts import crypto
    from agentgov.contracts.events_budget import LIMITS_SUBJECT, BudgetLimitSet
    from agentgov.ledger.model import usd

    validate_limit(args.scope, window, amount, tz, rolling_s)
    identity = _must_sign()
    digest = limit_digest(args.scope, window, amount, tz, rolling_s)
    event = BudgetLimitSet(
        scope=args.scope,
        window=window,  # type: ignore[arg-type]
        limit_usd_micros=amount,
        tz=tz,
        rolling_s=rolling_s,
        signer=identity.key_id,
        signer_name=identity.operator.name,
        signature=crypto.sign_policy(identity.key, LIMIT_SCOPE_PREFIX + args.scope, 0, digest),
        note=getattr(args, "note", ""),
    )
    async with operator_session(runtime_from(args), "agentgov-budget-limit") as (_, producer):
        ack = await producer.publish(LIMITS_SUBJECT, event)
    what = "removed" if amount is None else f"set to {usd(amount)}"
    print(f"{args.scope} {window} limit {what} (stream seq {ack.seq})")
    return 0


async def _set(args: argparse.Namespace) -> int:
    from agentgov.contracts.units import parse_duration

    if args.rolling:
        return await _append_limit(args, "rolling", usd_micros(args.rolling[1]), "UTC", parse_duration(args.rolling[0]))
    window = "daily" if args.daily is not None else "monthly"
    return await _append_limit(args, window, usd_micros(args.daily or args.monthly), args.tz, 0)


async def _unset(args: argparse.Namespace) -> int:
    return await _append_limit(args, args.window, None, "UTC", 0)
