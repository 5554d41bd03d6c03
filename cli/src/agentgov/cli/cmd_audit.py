"""``agentgov audit verify | export | replay | query``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from agentgov.cli.connection import runtime_from
from agentgov.cli.output import Progress, error, note
from agentgov.cli.timeparse import parse_time

if TYPE_CHECKING:
    from agentgov.audit import bundle as bundles
    from agentgov.audit.verify import Report
    from agentgov.streaming.reader import StoredMsg

# agentgov.contracts.streams.GOV and CHECKPOINTS, kept out of `--help` (a test keeps them equal)
GOV: Final = "GOV"
CHECKPOINTS: Final = "GOV_CHECKPOINTS"

VERIFY_HELP = """\
Re-derive everything from the stored bytes, with no agentgov service running: every producer's hash chain
and key, the signatures, every checkpoint's signature, link, range, sealed leaves and Merkle root, and
whether the stream was truncated after a checkpoint. Reads the live stream, or an exported bundle with
--bundle (then nothing but the file is needed).

Exit status: 0 when everything verifies; 1 otherwise, after printing the first bad stream sequence and why.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``audit`` and its commands."""
    audit = sub.add_parser(
        "audit",
        help="verify, export, replay and query the audit trail",
        description="Verify, export, replay and query the audit trail.",
    )
    cmds = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    streams = argparse.ArgumentParser(add_help=False)
    streams.add_argument("--stream", default=GOV, help=f"the event stream (default {GOV})")
    streams.add_argument(
        "--checkpoint-stream", default=CHECKPOINTS, help=f"the checkpoint stream (default {CHECKPOINTS})"
    )
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--since", metavar="TIME", help="from this time: ISO 8601, or an age such as 15m, 2h, 7d")
    filters.add_argument("--until", metavar="TIME", help="up to this time (same forms as --since)")
    filters.add_argument("--agent", metavar="ID", help="only this agent's events")
    filters.add_argument("--team", metavar="ID", help="only this team's events")

    v = cmds.add_parser(
        "verify",
        parents=[common, streams],
        help="verify chains, signatures and checkpoints",
        description=VERIFY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("--bundle", type=Path, metavar="FILE", help="verify an exported bundle instead of the live stream")
    v.add_argument(
        "--all-signatures",
        action="store_true",
        help="check every event's signature, not only each producer's head per checkpoint (slower)",
    )
    v.add_argument(
        "--trust",
        action="append",
        metavar="KEY_ID",
        help="pin the audit key(s) whose checkpoints you trust (key ids as printed by `agentgov up`; repeatable; "
        "default $AGENTGOV_TRUSTED_AUDIT_KEYS). Without it the keys are taken from the stream or bundle itself, "
        "which proves integrity but not who sealed it.",
    )
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument("--quiet", action="store_true", help="no progress output")
    v.set_defaults(handler=verify_cmd)

    e = cmds.add_parser(
        "export",
        parents=[common, streams, filters],
        help="write an offline evidence bundle",
        description="Write an offline evidence bundle: the selected events as stored, the "
        "checkpoints sealing them, the producers' key registrations and an inclusion proof per "
        "sealed event. Without --agent/--team the bundle is complete (every message of its "
        "range, widened to whole checkpoints). Verify it with `agentgov audit verify --bundle`.",
    )
    e.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="bundle file (.jsonl or .jsonl.gz)")
    e.set_defaults(handler=export_cmd)

    r = cmds.add_parser(
        "replay",
        parents=[common, streams, filters],
        help="print events in stream order",
        description="Print the stream's events in order, filtered, as a table or JSON lines. "
        "Works on the live stream or on a bundle.",
    )
    r.add_argument("--bundle", type=Path, metavar="FILE", help="replay a bundle instead of the live stream")
    r.add_argument("--type", metavar="TYPE", help="only this event type (e.g. ActionDecided.v1)")
    r.add_argument(
        "--format",
        choices=("table", "jsonl"),
        default=None,
        help="output format (default: table on a terminal, jsonl otherwise)",
    )
    r.add_argument("--from-seq", type=int, default=1, metavar="N", help="start at this stream sequence")
    r.add_argument("--limit", type=int, metavar="N", help="stop after N events")
    r.set_defaults(handler=replay_cmd)

    q = cmds.add_parser(
        "query",
        parents=[common, filters],
        help="query the SQL read model",
        description="Query the audit service's SQL read model (indexed by agent, team, org, type, "
        "verdict, time and trace id).",
    )
    q.add_argument("--database", metavar="PATH|URL", help="read model (default: as `agentgov run audit`)")
    q.add_argument("--org", metavar="ID")
    q.add_argument("--type", metavar="TYPE")
    q.add_argument("--verdict", choices=("allow", "review", "deny", "redact"))
    q.add_argument("--trace-id", metavar="ID")
    q.add_argument("--status", choices=("ok", "malformed", "unknown_type", "broken"))
    q.add_argument(
        "--count-by",
        metavar="FIELD",
        help="counts grouped by type, verdict, agent, team, org, status or producer",
    )
    q.add_argument("--sql", metavar="SELECT", help="run a read-only SQL query against the read model")
    q.add_argument("--diagnostics", action="store_true", help="list ChainBroken and malformed diagnostics")
    q.add_argument("--checkpoints", action="store_true", help="list sealed checkpoints")
    q.add_argument("--limit", type=int, default=50, metavar="N")
    q.add_argument("--format", choices=("table", "jsonl"), default="table")
    q.set_defaults(handler=query_cmd)


# -- verify --------------------------------------------------------------------------------------------


def verify_cmd(args: argparse.Namespace) -> int:
    """``audit verify``."""
    from agentgov.cli import render
    from agentgov.streaming.errors import StreamingError

    try:
        report = asyncio.run(_verify(args))
    except (StreamingError, ValueError, OSError) as exc:
        error(str(exc))
        return 1
    render.report(report, as_json=args.json, source=str(args.bundle) if args.bundle else args.stream)
    return 0 if report.ok else 1


async def _verify(args: argparse.Namespace) -> Report:
    from agentgov.audit import bundle as bundles
    from agentgov.audit.verify import verify_stream
    from agentgov.streaming.connect import connect
    from agentgov.streaming.reader import last_seq

    trusted = _trusted(args)
    if args.bundle:
        b = bundles.read(args.bundle)
        return await bundles.verify_bundle(b, all_signatures=args.all_signatures, trusted=trusted)
    nc = await connect(runtime_from(args), name="agentgov-verify")
    try:
        js = nc.jetstream()
        total = await last_seq(js, args.stream)
        progress = Progress("verifying", total, enabled=not args.quiet and not args.json)
        started = time.monotonic()
        report = await verify_stream(
            js,
            stream=args.stream,
            checkpoint_stream=args.checkpoint_stream,
            all_signatures=args.all_signatures,
            progress=progress,
            trusted=trusted,
        )
        progress.done()
        if not args.json and not args.quiet:
            dt = time.monotonic() - started
            note(f"verified {report.messages:,} messages in {dt:.1f} s ({report.messages / max(dt, 1e-9):,.0f}/s)")
        return report
    finally:
        await nc.close()


def _trusted(args: argparse.Namespace) -> frozenset[str] | None:
    ids = [k.strip() for k in args.trust or [] for k in k.split(",")]
    ids += [k.strip() for k in os.environ.get("AGENTGOV_TRUSTED_AUDIT_KEYS", "").split(",")] if not ids else []
    ids = [k for k in ids if k]
    return frozenset(ids) if ids else None


# -- export --------------------------------------------------------------------------------------------


def export_cmd(args: argparse.Namespace) -> int:
    """``audit export``."""
    from agentgov.audit import bundle as bundles
    from agentgov.streaming.errors import StreamingError

    try:
        selection = _selection(args)
        b = asyncio.run(_export(args, selection))
    except (StreamingError, ValueError, OSError) as exc:
        error(str(exc))
        return 1
    bundles.write(args.output, b)
    sealed = sum(1 for e in b.events if e.proof is not None)
    note(
        f"wrote {args.output}: {len(b.events):,} events ({sealed:,} with inclusion proofs), "
        f"{len(b.checkpoints)} checkpoints, {len(b.keys)} keys{'' if b.header.complete else ' (filtered)'}"
    )
    return 0


def _selection(args: argparse.Namespace) -> bundles.Selection:
    from agentgov.audit import bundle as bundles
    from agentgov.contracts.ids import check_token

    return bundles.Selection(
        since_ns=parse_time(args.since) if args.since else None,
        until_ns=parse_time(args.until) if args.until else None,
        agent=check_token("agent", args.agent) if args.agent else None,
        team=check_token("team", args.team) if args.team else None,
    )


async def _export(args: argparse.Namespace, selection: bundles.Selection) -> bundles.Bundle:
    from agentgov.audit import bundle as bundles
    from agentgov.streaming.connect import connect
    from agentgov.streaming.reader import last_seq, read_all, read_batches

    nc = await connect(runtime_from(args), name="agentgov-export")
    try:
        js = nc.jetstream()
        gov_last = await last_seq(js, args.stream)
        cps = await read_all(js, args.checkpoint_stream)
        progress = Progress("reading", gov_last)

        async def batches() -> AsyncIterator[list[StoredMsg]]:
            n = 0
            async for batch in read_batches(js, args.stream, until_seq=gov_last):
                n += len(batch)
                progress(n)
                yield batch

        b = await bundles.export(batches(), cps, selection, stream=args.stream, created=time.time_ns())
        progress.done()
        return b
    finally:
        await nc.close()


# -- replay --------------------------------------------------------------------------------------------


def replay_cmd(args: argparse.Namespace) -> int:
    """``audit replay``."""
    from agentgov.streaming.errors import StreamingError

    fmt = args.format or ("table" if sys.stdout.isatty() else "jsonl")
    try:
        selection = _selection(args)
        asyncio.run(_replay(args, selection, fmt))
    except (StreamingError, ValueError, OSError) as exc:
        error(str(exc))
        return 1
    except BrokenPipeError:
        return 0
    return 0


async def _replay(args: argparse.Namespace, selection: bundles.Selection, fmt: str) -> None:
    from agentgov.audit import bundle as bundles
    from agentgov.cli import render
    from agentgov.streaming.connect import connect
    from agentgov.streaming.reader import last_seq, read_batches

    printer = render.EventPrinter(fmt, type_filter=args.type, selection=selection, limit=args.limit)
    if args.bundle:
        for line in bundles.read(args.bundle).events:
            if not printer.feed(bundles.msg_of(line)):
                break
        printer.finish()
        return
    nc = await connect(runtime_from(args), name="agentgov-replay")
    try:
        js = nc.jetstream()
        gov_last = await last_seq(js, args.stream)
        async for batch in read_batches(js, args.stream, start_seq=args.from_seq, until_seq=gov_last):
            if not all(printer.feed(m) for m in batch):
                break
        printer.finish()
    finally:
        await nc.close()


# -- query ---------------------------------------------------------------------------------------------


def query_cmd(args: argparse.Namespace) -> int:
    """``audit query``."""
    from agentgov.audit.errors import AuditError
    from agentgov.audit.settings import AuditSettings
    from agentgov.audit.store import EventQuery, open_read_model
    from agentgov.cli import render

    database = args.database or AuditSettings.from_env().database
    try:
        rm = open_read_model(database)
    except AuditError as exc:
        error(str(exc))
        return 1
    try:
        if args.sql:
            cols, rows = rm.execute_readonly(args.sql)
            render.rows(cols, rows, args.format)
            return 0
        if args.diagnostics:
            d = rm.diagnostics(limit=args.limit)
            render.rows(
                ["stream_seq", "kind", "reason", "detail"],
                [(x.stream_seq, x.kind, x.reason, x.detail) for x in d],
                args.format,
            )
            return 0
        if args.checkpoints:
            c = rm.checkpoints()
            render.rows(
                ["checkpoint", "first_seq", "last_seq", "count", "merkle_root"],
                [(x.checkpoint_seq, x.first_seq, x.last_seq, x.count, x.merkle_root[:16]) for x in c],
                args.format,
            )
            return 0
        q = EventQuery(
            agent=args.agent,
            team=args.team,
            org=args.org,
            type=args.type,
            verdict=args.verdict,
            trace_id=args.trace_id,
            status=args.status,
            limit=args.limit,
            since_ns=parse_time(args.since) if args.since else None,
            until_ns=parse_time(args.until) if args.until else None,
        )
        if args.count_by:
            render.rows([args.count_by, "count"], rm.counts_by(args.count_by, q), args.format)
            return 0
        render.event_rows(rm.query(q), args.format)
        return 0
    except (AuditError, ValueError) as exc:
        error(str(exc))
        return 1
    finally:
        rm.close()
