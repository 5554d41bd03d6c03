"""``agentgov agent``: register agents, issue and revoke their tokens, pause and resume them."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from agentgov.cli.connection import runtime_from
from agentgov.cli.output import error, note

if TYPE_CHECKING:
    from agentgov.contracts.events import AgentPaused, AgentResumed, AgentRetired
    from agentgov.streaming.home import Runtime

DEFAULT_TTL_S: Final = 3600  # agentgov.identity.tokens.DEFAULT_TTL_S, kept out of `--help` (a test keeps them equal)

AGENT_HELP = """\
Manage agents. `register` appends AgentRegistered (team, org, lineage, trust), issues a short-lived signed
token (JWT, EdDSA, signed by your operator key) and writes the agent's credentials file
($AGENTGOV_HOME/agents/<agent>.json, mode 0600) that the SDK and `agentgov check` use. With the embedded
server of `agentgov up`, it also creates the agent's NATS user, which may publish only gov.check.<agent>
and gov.usage.<agent> (spend reports) and read only its own replies.

`pause` / `resume` publish AgentPaused / AgentResumed: a paused agent's checks are denied (agent_paused).
`revoke` stops one token (--token-id) or every token issued so far; `token` issues a fresh one.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``agent`` and its subcommands."""
    p = sub.add_parser(
        "agent",
        help="register agents, issue/revoke tokens, pause/resume",
        description=AGENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="agent_command", metavar="ACTION", required=True)

    reg = cmds.add_parser("register", parents=[common], help="register an agent and write its credentials")
    reg.add_argument("agent", help="agent id (letters, digits, '_' and '-')")
    reg.add_argument("--org", required=True, help="the agent's organisation id")
    reg.add_argument("--team", required=True, help="the agent's team id")
    reg.add_argument("--parent", help="the agent that spawned this one (lineage)")
    reg.add_argument("--trust", type=int, default=50, help="trust 0-100 (policies can read agent.trust; default 50)")
    reg.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="a label (repeatable)")
    reg.add_argument("--ttl", type=int, default=DEFAULT_TTL_S, help="token lifetime in seconds (default 3600)")
    reg.add_argument("--out", type=Path, help="credentials file (default $AGENTGOV_HOME/agents/<agent>.json)")
    reg.set_defaults(handler=_sync(_register))

    tok = cmds.add_parser("token", parents=[common], help="issue a fresh token into the agent's credentials file")
    tok.add_argument("agent")
    tok.add_argument("--ttl", type=int, default=DEFAULT_TTL_S, help="token lifetime in seconds (default 3600)")
    tok.add_argument("--credentials", type=Path, help="credentials file (default $AGENTGOV_HOME/agents/<agent>.json)")
    tok.set_defaults(handler=_sync(_token))

    for name, helptext in (
        ("pause", "deny every check of the agent until resumed"),
        ("resume", "lift a pause"),
        ("retire", "remove the agent from the registry"),
    ):
        c = cmds.add_parser(name, parents=[common], help=helptext)
        c.add_argument("agent")
        c.add_argument("--reason", default="", help="why (recorded in the event)")
        c.set_defaults(handler=_sync(_lifecycle), action_name=name)

    rev = cmds.add_parser("revoke", parents=[common], help="revoke one token, or every token issued so far")
    rev.add_argument("agent")
    rev.add_argument("--token-id", help="the token's jti (default: every token issued until now)")
    rev.add_argument("--reason", default="")
    rev.set_defaults(handler=_sync(_revoke))


def _sync(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from agentgov.contracts.errors import InvalidIdError
        from agentgov.streaming.errors import StreamingError

        try:
            return int(asyncio.run(fn(args)))
        except (InvalidIdError, StreamingError, OSError, ValueError) as exc:
            error(str(exc))
            return 1

    return run


def credentials_path(agent: str, base: Path | None = None) -> Path:
    """The default credentials file of an agent."""
    from agentgov.contracts.ids import check_token
    from agentgov.streaming import home

    return (base or home.home()) / "agents" / f"{check_token('agent', agent)}.json"


def write_credentials(path: Path, data: dict[str, Any]) -> None:
    """Write a credentials file with mode 0600 (its directory 0700), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


async def register_agent(
    args: argparse.Namespace, *, rt: Runtime | None = None, base: Path | None = None, wait_for_user: float = 10.0
) -> dict[str, Any]:
    """Register ``args.agent``; returns the credentials written (also used by ``agentgov up``)."""
    from agentgov.cli.operator import local_operator, operator_session
    from agentgov.contracts import subjects
    from agentgov.contracts.events import AgentRegistered
    from agentgov.contracts.ids import check_token
    from agentgov.identity.tokens import issue_token
    from agentgov.streaming import home
    from agentgov.streaming.natsconf import NatsUsers

    base = base or home.home()
    agent = check_token("agent", args.agent)
    org, team = check_token("org", args.org), check_token("team", args.team)
    parent = check_token("agent", args.parent) if args.parent else None
    labels = dict(_label(x) for x in args.label)
    if not 0 <= args.trust <= 100:
        raise ValueError("--trust must be between 0 and 100")
    identity = local_operator(base)
    rt = rt or runtime_from(args)
    users_file = base / "secrets" / "nats-users.json"
    nats: dict[str, Any] = {"url": rt.url}
    if users_file.exists() and not args.nats_url:
        users = NatsUsers.load_or_create(users_file, agents=())
        cred = users.add_agent(agent)
        nats.update(user=cred.user, password=cred.password, inbox_prefix=cred.inbox_prefix)
    token, claims = issue_token(identity.key, agent=agent, org=org, team=team, ttl_s=args.ttl)
    event = AgentRegistered(agent=agent, org=org, team=team, parent=parent, trust=args.trust, labels=labels)
    async with operator_session(rt, "agentgov-agent-register") as (_, producer):
        await producer.publish(subjects.registry(agent), event)
    data = {
        "agent": agent,
        "org": org,
        "team": team,
        "token": token,
        "token_id": claims.token_id,
        "token_expires_at": claims.expires_at,
        "issuer": identity.key_id,
        "nats": nats,
    }
    path = args.out or credentials_path(agent, base)
    write_credentials(path, data)
    data["path"] = str(path)
    if "user" in nats and wait_for_user > 0:
        await _wait_user_active(nats, wait_for_user)
    return data


async def _wait_user_active(nats: dict[str, Any], timeout: float) -> None:
    """Wait until the embedded server has reloaded its users and accepts the agent's login."""
    from agentgov.streaming.natsconf import connect

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            nc = await connect(
                nats["url"],
                None,
                user=nats["user"],
                password=nats["password"],
                inbox_prefix=nats["inbox_prefix"],
                allow_reconnect=False,
                connect_timeout=1,
                error_cb=_quiet,
            )
        except Exception as exc:
            last = exc
            await asyncio.sleep(0.1)
        else:
            await nc.close()
            return
    note(f"the agent's NATS user is not active yet ({last}); is `agentgov up` running on this home?")


async def _quiet(exc: Exception) -> None:
    """Connection errors while probing are expected (the server may not have reloaded yet)."""


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--label {text!r}: use KEY=VALUE")
    return key, value


async def _register(args: argparse.Namespace) -> int:
    from agentgov.contracts import subjects

    data = await register_agent(args)
    note(f"registered agent {data['agent']} (org {data['org']}, team {data['team']}); credentials: {data['path']}")
    note(
        f"token {data['token_id']} expires {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(data['token_expires_at']))}"
    )
    if "user" not in data["nats"]:
        note(
            "no NATS user was created (not the embedded server): give the agent a NATS user that may publish "
            f"only {subjects.check(data['agent'])} and {subjects.usage(data['agent'])} and subscribe only "
            f"{subjects.inbox_prefix(data['agent'])}.> (deploy/README.md)"
        )
    return 0


async def _token(args: argparse.Namespace) -> int:
    from agentgov.cli.operator import local_operator
    from agentgov.identity.tokens import issue_token

    path = args.credentials or credentials_path(args.agent)
    if not path.exists():
        error(f"{path} does not exist; register the agent first (agentgov agent register {args.agent} ...)")
        return 1
    data = json.loads(path.read_text())
    identity = local_operator()
    token, claims = issue_token(identity.key, agent=data["agent"], org=data["org"], team=data["team"], ttl_s=args.ttl)
    data.update(token=token, token_id=claims.token_id, token_expires_at=claims.expires_at, issuer=identity.key_id)
    write_credentials(path, data)
    note(f"new token {claims.token_id} for {data['agent']} written to {path}")
    return 0


async def _lifecycle(args: argparse.Namespace) -> int:
    from agentgov.cli.operator import local_operator, operator_session
    from agentgov.contracts import subjects
    from agentgov.contracts.events import AgentPaused, AgentResumed, AgentRetired
    from agentgov.contracts.ids import check_token

    agent = check_token("agent", args.agent)
    identity = local_operator()
    by = f"operator:{identity.operator.name}"
    event: AgentPaused | AgentResumed | AgentRetired
    if args.action_name == "pause":
        event, subject = AgentPaused(agent=agent, reason=args.reason, by=by), subjects.anomaly(agent)
    elif args.action_name == "resume":
        event, subject = AgentResumed(agent=agent, reason=args.reason, by=by), subjects.anomaly(agent)
    else:
        event, subject = AgentRetired(agent=agent, reason=args.reason), subjects.registry(agent)
    async with operator_session(runtime_from(args), f"agentgov-agent-{args.action_name}") as (_, producer):
        ack = await producer.publish(subject, event)
    note(f"{type(event).__name__} for {agent} appended (stream seq {ack.seq})")
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    from agentgov.cli.operator import local_operator, operator_session
    from agentgov.contracts import subjects
    from agentgov.contracts.events import AgentTokenRevoked
    from agentgov.contracts.ids import check_token

    agent = check_token("agent", args.agent)
    identity = local_operator()
    event = AgentTokenRevoked(agent=agent, token_id=args.token_id, reason=args.reason, by=identity.operator.name)
    async with operator_session(runtime_from(args), "agentgov-agent-revoke") as (_, producer):
        ack = await producer.publish(subjects.registry(agent), event)
    what = f"token {args.token_id}" if args.token_id else "every token issued until now"
    note(f"revoked {what} of {agent} (stream seq {ack.seq})")
    return 0
