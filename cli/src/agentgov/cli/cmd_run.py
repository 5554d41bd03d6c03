"""``agentgov run SERVICE``: run one service against any NATS server, in the foreground."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentgov.cli.connection import runtime_from
from agentgov.cli.output import describe_validation, error, note

if TYPE_CHECKING:
    from agentgov.streaming.home import Runtime

S = TypeVar("S")

AUDIT_HELP = """\
Follow the GOV stream: verify every producer's hash chain and signatures, write the SQL read model
(SQLite by default, PostgreSQL when AGENTGOV_DATABASE_URL is set), append ChainBroken / MalformedEvent
diagnostics, and every N messages or T milliseconds append a signed checkpoint to GOV_CHECKPOINTS.
Restarts resume from the read model's committed position: nothing is lost or written twice.
"""


def _service(services: Any, common: argparse.ArgumentParser, name: str, help_: str, description: str) -> Any:
    """The parser of ``agentgov run <name>``: the connection options, ``description`` shown as written."""
    return services.add_parser(
        name,
        parents=[common],
        help=help_,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``run`` and its services."""
    run = sub.add_parser("run", help="run one service in the foreground", description="Run one agentgov service.")
    services = run.add_subparsers(dest="service", metavar="SERVICE", required=True)
    audit = _service(services, common, "audit", "the audit service", AUDIT_HELP)
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
    policy = _service(
        services, common, "policy", "one policy replica (run several: they form the queue group 'policy')", POLICY_HELP
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
    _add_budget(services, common)
    _add_approval(services, common)
    _add_anomaly(services, common)


BUDGET_HELP = """\
Price usage reports on gov.usage.<agent> (queue group 'budget') into SpendRecorded, project spend per
agent/team/org/global in daily, monthly and rolling windows, append BudgetAlert (80/95 %), BudgetExceeded
and BudgetReset, and keep the ledger the policy replicas reserve against (Redis when AGENTGOV_REDIS_URL is
set, else JetStream KV). Restarts resume from the committed snapshot.
"""


def _add_budget(services: Any, common: argparse.ArgumentParser) -> None:
    budget = _service(services, common, "budget", "the budget service", BUDGET_HELP)
    budget.add_argument("--redis-url", metavar="URL", help="Redis for the ledger (default: $AGENTGOV_REDIS_URL)")
    budget.add_argument("--operators", type=Path, metavar="FILE", help="trust file of operator keys")
    budget.add_argument("--rebuild", action="store_true", help="reset the ledger and replay the stream from the start")

    def run_budget(args: argparse.Namespace) -> int:
        from agentgov.budget.service import serve as budget_serve
        from agentgov.budget.settings import BudgetSettings

        return _run(
            "budget",
            lambda: BudgetSettings.from_env(
                redis_url=args.redis_url, operators_file=args.operators, rebuild=args.rebuild or None
            ),
            lambda s, rt: f"NATS {rt.url}, ledger {'redis' if s.redis_url else 'JetStream KV'}",
            budget_serve,
            args,
        )

    budget.set_defaults(handler=run_budget)


APPROVAL_HELP = """\
Turn every review verdict into an ApprovalRequested on gov.approval.<agent> (bound to the hash of the exact
action, with the bundle's timeout and fallback), append ApprovalExpired when nobody resolves it in time,
keep the approval history in SQL (SQLite by default, PostgreSQL when AGENTGOV_DATABASE_URL is set) and
notify approvers through webhooks (AGENTGOV_APPROVAL_WEBHOOK_URL, AGENTGOV_APPROVAL_SLACK_URL). Restarts
resume from the history's committed position: nothing is lost, requested or expired twice.
"""


def _add_approval(services: Any, common: argparse.ArgumentParser) -> None:
    approval = _service(services, common, "approval", "the approval service", APPROVAL_HELP)
    approval.add_argument(
        "--database",
        metavar="PATH|URL",
        help="history: SQLite path or postgresql:// URL (default: $AGENTGOV_DATABASE_URL, else "
        "$AGENTGOV_HOME/approval.db)",
    )
    approval.add_argument("--operators", type=Path, metavar="FILE", help="trust file of operator keys (approvers)")
    approval.add_argument("--webhook-url", metavar="URL", help="JSON webhook (default: $AGENTGOV_APPROVAL_WEBHOOK_URL)")
    approval.add_argument("--slack-url", metavar="URL", help="Slack webhook (default: $AGENTGOV_APPROVAL_SLACK_URL)")
    approval.add_argument("--rebuild", action="store_true", help="rebuild the history from the start of the stream")

    def run_approval(args: argparse.Namespace) -> int:
        from agentgov.approval.service import serve as approval_serve
        from agentgov.approval.settings import ApprovalSettings

        return _run(
            "approval",
            lambda: ApprovalSettings.from_env(
                database=args.database,
                operators_file=args.operators,
                webhook_url=args.webhook_url,
                slack_url=args.slack_url,
                rebuild=args.rebuild or None,
            ),
            lambda s, rt: (
                f"NATS {rt.url}, history {s.database}, notifiers "
                f"{', '.join(n for n, u in (('webhook', s.webhook_url), ('slack', s.slack_url)) if u) or 'none'}"
            ),
            approval_serve,
            args,
        )

    approval.set_defaults(handler=run_approval)


POLICY_HELP = """\
Answer CheckAction requests on gov.check.<agent> (core NATS request/reply, queue group 'policy'): verify
the agent's token, check the registry and pauses, evaluate the active bundle, append ActionDecided to GOV
and wait for JetStream's ack, then reply with the Decision. The replica first loads the registry, pauses
and bundles from the stream and only then serves. Rate limits are in-process unless a Redis URL is given,
which makes them exact across replicas.
"""


ANOMALY_HELP = """\
Learn per-agent baselines from the GOV stream (rate per tool, tools, domains, active hours, deny ratio,
spend rate) and append an explained AnomalyDetected on gov.anomaly.<agent> for rate spikes, first-seen tools
and domains, off-hours activity, deny bursts, loops, spend spikes and cumulative risk; loops, spend spikes,
risk over the pause threshold and a tripped per-agent breaker append AgentPaused (by: anomaly), which the
policy enforces until `agentgov agent resume`. Thresholds come from the bundle's anomaly: section. The
baselines snapshot and its stream position live in $AGENTGOV_HOME/anomaly.db; restarts resume from it.
"""


def _add_anomaly(services: Any, common: argparse.ArgumentParser) -> None:
    anomaly = _service(
        services, common, "anomaly", "the anomaly service (baselines, explained anomalies, auto-pause)", ANOMALY_HELP
    )
    anomaly.add_argument(
        "--snapshot", type=Path, metavar="FILE", help="snapshot file (default: $AGENTGOV_HOME/anomaly.db)"
    )
    anomaly.add_argument(
        "--operators",
        type=Path,
        metavar="FILE",
        help="trust file of operator keys whose signed bundles may tune it (default: $AGENTGOV_OPERATORS_FILE)",
    )
    anomaly.add_argument(
        "--rebuild", action="store_true", help="ignore the snapshot and replay the stream from the start"
    )

    def run_anomaly(args: argparse.Namespace) -> int:
        from agentgov.anomaly.service import serve as anomaly_serve
        from agentgov.anomaly.settings import AnomalySettings

        return _run(
            "anomaly",
            lambda: AnomalySettings.from_env(
                snapshot_file=args.snapshot, operators_file=args.operators, rebuild=args.rebuild or None
            ),
            lambda s, rt: f"NATS {rt.url}, snapshot {s.snapshot_file}{' (rebuild)' if s.rebuild else ''}",
            anomaly_serve,
            args,
        )

    anomaly.set_defaults(handler=run_anomaly)


def run_policy(args: argparse.Namespace) -> int:
    """Run one policy replica until Ctrl-C / SIGTERM."""
    from agentgov.policy import service as policy_service
    from agentgov.policy import settings as policy_settings

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
    from agentgov.audit.service import serve
    from agentgov.audit.settings import AuditSettings

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
    from pydantic import ValidationError

    from agentgov.streaming.errors import StreamingError
    from agentgov.streaming.lifecycle import run_until_stopped

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
