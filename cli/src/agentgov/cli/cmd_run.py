"""``agentgov run SERVICE``: run one service against any NATS server, in the foreground."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from agentgov.audit.service import serve
from agentgov.audit.settings import AuditSettings
from agentgov.cli.connection import runtime_from
from agentgov.cli.output import describe_validation, error, note
from agentgov.policy import service as policy_service
from agentgov.policy import settings as policy_settings
from agentgov.streaming.errors import StreamingError
from agentgov.streaming.home import Runtime
from agentgov.streaming.lifecycle import run_until_stopped

S = TypeVar("S")

AUDIT_HELP = """\
Follow the GOV stream: verify every producer's hash chain and signatures, write the SQL read model
(SQLite by default, PostgreSQL when AGENTGOV_DATABASE_URL is set), append ChainBroken / MalformedEvent
diagnostics, and every N messages or T milliseconds append a signed checkpoint to GOV_CHECKPOINTS.
Restarts resume from the read model's committed position: nothing is lost or written twice.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``run`` and its services."""
    run = sub.add_parser("run", help="run one service in the foreground", description="Run one agentgov service.")
    services = run.add_subparsers(dest="service", metavar="SERVICE", required=True)
    audit = services.add_parser(
        "audit",
        parents=[common],
        help="the audit service",
        description=AUDIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument(
        "--database",
        metavar="PATH|URL",
        help="read model: SQLite path or postgresql:// URL "
        "(default: $AGENTGOV_DATABASE_URL, else $AGENTGOV_HOME/audit.db)",
    )
    audit.add_argument("--seal-every", type=int, metavar="N", help="seal a checkpoint every N messages (default 1000)")
    audit.add_argument("--seal-interval-ms", type=int, metavar="T", help="...or every T ms (default 1000)")
    audit.add_argument("--rebuild", action="store_true", help="re-verify and re-index the stream from the start")
    audit.set_defaults(handler=run_audit)
    policy = services.add_parser(
        "policy",
        parents=[common],
        help="one policy replica (run several: they form the queue group 'policy')",
        description=POLICY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    policy.add_argument(
        "--redis-url",
        metavar="URL",
        help="Redis for rate limits shared by replicas (default: $AGENTGOV_REDIS_URL; in-process when unset)",
    )
    policy.add_argument(
        "--operators",
        type=Path,
        metavar="FILE",
        help="trust file of operator keys (default: $AGENTGOV_OPERATORS_FILE, else $AGENTGOV_HOME/operators.json)",
    )
    policy.set_defaults(handler=run_policy)


POLICY_HELP = """\
Answer CheckAction requests on gov.check.<agent> (core NATS request/reply, queue group 'policy'): verify
the agent's token, check the registry and pauses, evaluate the active bundle, append ActionDecided to GOV
and wait for JetStream's ack, then reply with the Decision. The replica first loads the registry, pauses
and bundles from the stream and only then serves. Rate limits are in-process unless a Redis URL is given,
which makes them exact across replicas.
"""


def run_policy(args: argparse.Namespace) -> int:
    """Run one policy replica until Ctrl-C / SIGTERM."""
    return _run(
        "policy",
        lambda: policy_settings.PolicySettings.from_env(redis_url=args.redis_url, operators_file=args.operators),
        lambda s, rt: (
            f"NATS {rt.url}, operators {s.operators_file}, rate limits {'redis' if s.redis_url else 'in-process'}"
        ),
        policy_service.serve,
        args,
    )


def run_audit(args: argparse.Namespace) -> int:
    """Run the audit service until Ctrl-C / SIGTERM."""
    return _run(
        "audit",
        lambda: AuditSettings.from_env(
            database=args.database,
            seal_every=args.seal_every,
            seal_interval_ms=args.seal_interval_ms,
            rebuild=args.rebuild or None,
        ),
        lambda s, rt: f"NATS {rt.url}, read model {s.database}",
        serve,
        args,
    )


def _run(
    name: str,
    settings_of: Callable[[], S],
    describe: Callable[[S, Runtime], str],
    serve_fn: Callable[[S, Runtime, asyncio.Event], Awaitable[object]],
    args: argparse.Namespace,
) -> int:
    """Settings (exit 2 when invalid), the connection target (exit 1 when none), then serve until stopped."""
    try:
        settings = settings_of()
        rt = runtime_from(args)
    except ValidationError as exc:
        error(f"invalid setting: {describe_validation(exc)}")
        return 2
    except StreamingError as exc:
        error(str(exc))
        return 1
    note(f"{name}: {describe(settings, rt)}; Ctrl-C stops")

    async def _main(stop: asyncio.Event) -> None:
        await serve_fn(settings, rt, stop)

    asyncio.run(run_until_stopped(_main))
    return 0
