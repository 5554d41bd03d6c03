"""``agentgov approvals``: list, show, approve and deny approval requests.

Everything is read from the stream (``gov.approval.*``), folded with the approval service's own rules
(:class:`agentgov.approval.domain.Approvals`: the first trusted resolution in stream order wins), so the
CLI works without the approval service's database. ``approve`` / ``deny`` sign the resolution with the
local operator key (``$AGENTGOV_HOME/keys/operator.ed25519``; its trust entry must have the ``approver``
role over the agent's org and team) and append it with ``Nats-Expected-Last-Subject-Sequence`` set to the
last sequence of ``gov.approval.<agent>`` seen while the approval was still pending: when two approvers
race, JetStream stores one and refuses the other, which re-reads and reports who won (exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentgov.cli.connection import runtime_from
from agentgov.cli.output import error, note, table

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from nats.js.client import JetStreamContext

    from agentgov.approval.domain import ApprovalRecord, Approvals
    from agentgov.cli.operator import OperatorIdentity
    from agentgov.contracts.events import ApprovalDenied, ApprovalGranted
    from agentgov.identity.operators import TrustStore
    from agentgov.streaming.home import Runtime
    from agentgov.streaming.producer import ChainedProducer

APPROVALS_HELP = """\
Approval requests: a review verdict becomes an ApprovalRequested (appended by `agentgov run approval`),
bound to the hash of the exact action. `approve` / `deny` sign the answer with your operator key, which
must have the `approver` role over the agent's org and team in the trust file. Exactly one answer wins
when two approvers race; the loser is told who won and exits with status 1. On a grant, the agent's
waiting call is allowed once, with a single-use execution ticket.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``approvals`` and its subcommands."""
    p = sub.add_parser(
        "approvals",
        help="list, show, approve and deny approval requests",
        description=APPROVALS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="approvals_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", parents=[common], help="pending approvals (--all: every one)")
    ls.add_argument("--all", action="store_true", help="resolved ones too")
    ls.add_argument("--agent", help="only this agent's")
    ls.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    ls.set_defaults(handler=_sync(_list))
    show = cmds.add_parser("show", parents=[common], help="one approval in full")
    show.add_argument("approval_id", metavar="ID")
    show.set_defaults(handler=_sync(_show))
    for name, helptext in (("approve", "grant an approval"), ("deny", "deny an approval")):
        c = cmds.add_parser(name, parents=[common], help=helptext)
        c.add_argument("approval_id", metavar="ID")
        c.add_argument("--reason", default="", required=name == "deny", help="why (recorded and shown to the agent)")
        c.set_defaults(handler=_sync(_resolve), resolution="granted" if name == "approve" else "denied")


def _sync(fn: Callable[[argparse.Namespace], Coroutine[Any, Any, int]]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from agentgov.contracts.errors import InvalidIdError
        from agentgov.identity.errors import TrustError
        from agentgov.streaming.errors import StreamingError

        try:
            return int(asyncio.run(fn(args)))
        except (InvalidIdError, StreamingError, TrustError, OSError, ValueError) as exc:
            error(str(exc))
            return 1

    return run


# -- reading -------------------------------------------------------------------------------------------


async def read_approvals(js: JetStreamContext, trust: TrustStore, agent: str | None = None) -> tuple[Approvals, int]:
    """Every approval on ``gov.approval.*`` (or one agent's subject) folded in stream order, and the last
    stream sequence read (for one agent: the last sequence of its subject)."""
    from agentgov.approval.domain import Approvals, Changes
    from agentgov.approval.handlers import Handler
    from agentgov.approval.stream import follow
    from agentgov.contracts import subjects

    subject = subjects.approval(agent) if agent else "gov.approval.*"
    approvals = Approvals(trust)
    handler = Handler(approvals)
    last = 0
    stream = follow(js, start_seq=1, subjects=(subject,), idle_every=0.05)
    try:
        async for msgs, caught_up in stream:
            changes = Changes()
            for m in msgs:
                handler.apply(m, changes)
                last = m.seq
            if caught_up:
                break
    finally:
        await stream.aclose()
    return approvals, last


def _trust(identity: OperatorIdentity | None = None) -> TrustStore:
    from agentgov.cli.operator import local_operator
    from agentgov.identity.operators import TrustStore

    return TrustStore.load((identity or local_operator()).trust_path)


def _when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ns / 1e9)) if ns else "-"


def _summary(r: ApprovalRecord) -> str:
    a = r.action
    return " ".join(x for x in (a.kind, a.tool or "", a.target or "") if x)[:60]


def _who(r: ApprovalRecord) -> str:
    if r.status == "expired":
        return f"fallback {r.fallback}"
    return r.resolver_name or r.resolver or ""


async def _list(args: argparse.Namespace) -> int:
    import msgspec

    async with _connected(runtime_from(args)) as js:
        approvals, _ = await read_approvals(js, _trust(), args.agent)
    records = sorted(approvals.by_id.values(), key=lambda r: r.decided_ns)
    if not args.all:
        records = [r for r in records if r.status == "pending"]
    if args.json:
        json.dump(msgspec.to_builtins(records), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not records:
        note("no pending approvals" if not args.all else "no approvals")
        return 0
    now = time.time_ns()
    rows = [
        (
            r.approval_id,
            r.agent,
            r.status,
            _summary(r),
            f"{max(0, (r.expires_ns - now) // 1_000_000_000)}s" if r.status == "pending" else _who(r),
            "; ".join(r.reasons)[:60],
        )
        for r in records
    ]
    table(("ID", "AGENT", "STATUS", "ACTION", "EXPIRES IN / BY", "REASONS"), rows)
    return 0


async def _show(args: argparse.Namespace) -> int:
    import msgspec

    async with _connected(runtime_from(args)) as js:
        approvals, _ = await read_approvals(js, _trust())
    r = approvals.by_id.get(args.approval_id)
    if r is None:
        error(f"no approval {args.approval_id} on the stream")
        return 1
    data = msgspec.to_builtins(r)
    data.update(decided=_when(r.decided_ns), expires=_when(r.expires_ns), resolved=_when(r.resolved_ns))
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


# -- resolving -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a resolve attempt ended with: ``won`` True when this resolution is the one on record."""

    won: bool
    message: str
    record: ApprovalRecord | None = None
    stream_seq: int = 0


async def resolve_approval(
    rt: Runtime,
    approval_id: str,
    resolution: str,
    reason: str = "",
    *,
    identity: OperatorIdentity | None = None,
    attempts: int = 5,
) -> Outcome:
    """Grant or deny one approval as the local operator; exactly one concurrent resolution wins."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from agentgov.cli.operator import local_operator
    from agentgov.contracts import subjects
    from agentgov.contracts.ids import uuid7
    from agentgov.identity.operators import TrustStore
    from agentgov.streaming.errors import PublishError
    from agentgov.streaming.producer import EXPECTED_LAST_SUBJECT_SEQ, ChainedProducer

    identity = identity or local_operator()
    trust = TrustStore.load(identity.trust_path)
    async with _connected(rt) as js:
        found, _ = await read_approvals(js, trust)
        first = found.by_id.get(approval_id)
        if first is None:
            return Outcome(False, f"no approval {approval_id} on the stream (is `agentgov run approval` running?)")
        op = trust.authorize(identity.key_id, "approver", first.org, first.team)
        producer: ChainedProducer | None = None
        for _ in range(attempts):
            approvals, last = await read_approvals(js, trust, first.agent)
            r = approvals.by_id[approval_id]
            if r.status != "pending":
                return Outcome(False, _already(r), r)
            event = _resolution(identity.key, op.name, r, resolution, reason)
            if producer is None:
                producer = ChainedProducer(js, Ed25519PrivateKey.generate(), role="approver")
                await producer.register()
            try:
                ack = await producer.publish_once(
                    subjects.approval(r.agent),
                    event,
                    msg_id=f"approval-resolution:{approval_id}:{uuid7()}",
                    headers={EXPECTED_LAST_SUBJECT_SEQ: str(last)},
                )
            except PublishError:
                continue  # something else landed on the agent's approvals first: read again
            return Outcome(True, f"approval {approval_id} {resolution} (stream seq {ack.seq})", r, ack.seq)
        return Outcome(False, f"approval {approval_id}: too much concurrent activity, try again")


def _resolution(
    key: Ed25519PrivateKey, name: str, r: ApprovalRecord, resolution: str, reason: str
) -> ApprovalGranted | ApprovalDenied:
    from agentgov.contracts import crypto
    from agentgov.contracts.events import ApprovalDenied, ApprovalGranted

    kid = crypto.key_id(crypto.public_key_text(key))
    signature = crypto.sign_approval(key, r.approval_id, r.action_hash, resolution)
    cls = ApprovalGranted if resolution == "granted" else ApprovalDenied
    return cls(
        agent=r.agent,
        org=r.org,
        team=r.team,
        approval_id=r.approval_id,
        action_hash=r.action_hash,
        approver=kid,
        approver_name=name,
        reason=reason,
        signature=signature,
    )


def _already(r: ApprovalRecord) -> str:
    if r.status == "expired":
        return f"approval {r.approval_id} already expired at {_when(r.resolved_ns)} (fallback {r.fallback})"
    return f"approval {r.approval_id} already {r.status} by {_who(r)} at {_when(r.resolved_ns)}" + (
        f": {r.reason}" if r.reason else ""
    )


async def _resolve(args: argparse.Namespace) -> int:
    outcome = await resolve_approval(runtime_from(args), args.approval_id, args.resolution, args.reason)
    (note if outcome.won else error)(outcome.message)
    return 0 if outcome.won else 1


class _connected:
    """``async with _connected(rt) as js``: a connection for one command, closed on exit."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._nc: Any = None

    async def __aenter__(self) -> JetStreamContext:
        from agentgov.streaming.connect import connect

        self._nc = await connect(self._rt, name="agentgov-approvals")
        js: JetStreamContext = self._nc.jetstream()
        return js

    async def __aexit__(self, *exc: object) -> None:
        await self._nc.close()
