"""The budget, approval and anomaly services as `agentgov up` runs them: in this process, each with its own
NATS user (its role's subject permissions), settings from the environment with paths under the data
directory, and a task that stops everything when it fails."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgov.anomaly import service as anomaly_service
from agentgov.anomaly.settings import AnomalySettings
from agentgov.approval import service as approval_service
from agentgov.approval.settings import ApprovalSettings
from agentgov.budget import service as budget_service
from agentgov.budget.settings import BudgetSettings
from agentgov.cli.output import error, note
from agentgov.streaming.home import Runtime
from agentgov.streaming.natsconf import NatsUsers

READY_TIMEOUT_S = 60.0


@dataclass
class Governance:
    """The three running services and their tasks."""

    budget: budget_service.BudgetService
    approval: approval_service.ApprovalService
    anomaly: anomaly_service.AnomalyService
    tasks: dict[str, asyncio.Task[None]]


def role_runtime(rt: Runtime, users: NatsUsers | None, role: str) -> Runtime:
    """The runtime of one service role on the embedded server (the given one on an external server)."""
    if users is None:
        return rt
    cred = users.role(role)
    return Runtime(url=rt.url, user=cred.user, password=cred.password)


async def start(
    stack: contextlib.AsyncExitStack,
    rt: Runtime,
    users: NatsUsers | None,
    base: Path,
    trust_path: Path,
    stop: asyncio.Event,
) -> Governance:
    """Open and start the three services; return once each has caught up with the stream."""
    budget = await stack.enter_async_context(
        budget_service.opened(BudgetSettings.from_env(operators_file=trust_path), role_runtime(rt, users, "budget"))
    )
    approval = await stack.enter_async_context(
        approval_service.opened(
            ApprovalSettings.from_env(
                operators_file=trust_path,
                database=os.environ.get("AGENTGOV_APPROVAL_DATABASE_URL") or str(base / "approval.db"),
            ),
            role_runtime(rt, users, "approval"),
        )
    )
    anomaly = await stack.enter_async_context(
        anomaly_service.opened(
            AnomalySettings.from_env(operators_file=trust_path, snapshot_file=base / "anomaly.db"),
            role_runtime(rt, users, "anomaly"),
        )
    )
    tasks: dict[str, asyncio.Task[None]] = {}
    for name, svc in (("budget", budget), ("approval", approval), ("anomaly", anomaly)):
        task = asyncio.create_task(svc.run(stop), name=name)
        task.add_done_callback(lambda _: stop.set())
        tasks[name] = task
    waiting: dict[asyncio.Future[Any], str] = {
        asyncio.ensure_future(e.wait()): name
        for name, e in (("budget", budget.serving), ("approval", approval.ready), ("anomaly", anomaly.caught_up))
    }
    late = await _until_ready(waiting, set(tasks.values()))
    if late and not stop.is_set():
        note(f"not caught up with the stream within {READY_TIMEOUT_S:.0f} s: {', '.join(late)} (still starting)")
    b = budget.health()
    pricing = b.pricing_revision or "none (usage reports are refused until one is published)"
    ledger = "redis" if budget.settings.redis_url else "JetStream KV"
    note(f"budget service: pricing revision {pricing}, {b.limits} limit(s), ledger {ledger}")
    note(f"approval service: history {approval.settings.database}")
    note(f"anomaly service: baselines snapshot {anomaly.settings.snapshot_file}")
    return Governance(budget, approval, anomaly, tasks)


async def _until_ready(waiting: dict[asyncio.Future[Any], str], running: set[asyncio.Task[None]]) -> list[str]:
    """Wait for every readiness event, or until a service task ends first; the names still not ready."""
    pending = set(waiting)
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_S
    while pending:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            break
        done, _ = await asyncio.wait(pending | running, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        if done & running:
            break
        pending -= done
    for f in pending:
        f.cancel()
    return sorted(waiting[f] for f in pending)


async def finish(gov: Governance) -> int:
    """Await the tasks after ``stop``; 1 when any of them failed (the error is printed)."""
    code = 0
    for name, task in gov.tasks.items():
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            error(f"the {name} service stopped: {type(exc).__name__}: {exc}")
            code = 1
    return code
