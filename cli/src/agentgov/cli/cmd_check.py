"""``agentgov check``: ask the policy about one action, as an agent, and print the decision."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from agentgov.cli.output import error

if TYPE_CHECKING:
    from agentgov.contracts.events import Action, Verdict
    from agentgov.contracts.requests import Decision
    from agentgov.sdk import Client

EXIT_CODES: Final[dict[Verdict, int]] = {"allow": 0, "deny": 1, "review": 3, "redact": 4}
EXIT_USAGE: Final = 2
EXIT_ERROR: Final = 5

HELP = """\
Ask the policy whether an agent may perform one action, exactly as the SDK does: a CheckAction on
gov.check.<agent> carrying the agent's token, sent with the agent's own NATS login. Prints the decision:
verdict, claim, risk, the matched rules with their reasons, errors, deny code, policy revision, latency.
Nothing is executed; the decision is recorded on the stream like any other.

Examples:
  agentgov check --agent a1 shell 'rm -rf /'
  agentgov check --agent a1 --tool run_shell shell 'git push origin main'
  agentgov check --agent a1 file /etc/passwd --op read
  agentgov check --agent a1 http GET https://api.example.com/v1/charges
  agentgov check --agent a1 mcp github github.create_issue '{"title": "bug"}'
  agentgov check --agent a1 llm openai gpt-5 --max-tokens 2000
  agentgov check --agent a1 k8s delete pods -n prod --name api-1
  agentgov check --agent a1 --json aws s3 DeleteBucket --resource arn:aws:s3:::backups

Credentials: --credentials FILE; else --agent ID reads $AGENTGOV_HOME/agents/ID.json (written by
`agentgov agent register`); else $AGENTGOV_AGENT_CREDENTIALS or $AGENTGOV_AGENT.

Exit status (0 means the action may go ahead; anything else means it may not, yet):
  0  allow
  1  deny, including "policy unavailable" (no decision within --timeout: the check fails closed)
  2  usage error
  3  review: an approval is required
  4  redact: allowed only with the values shown replaced
  5  the check could not be made (no credentials, cannot connect)
"""

_COLOURS: Final[dict[str, str]] = {"allow": "32", "deny": "31", "review": "33", "redact": "36"}


def add_parser(sub: Any, common: argparse.ArgumentParser | None = None) -> None:
    """Register ``check`` and its action kinds."""
    options = argparse.ArgumentParser(add_help=False)
    _add_options(options, default=None)
    late = argparse.ArgumentParser(add_help=False)  # the same options after the kind; they win when given
    _add_options(late, default=argparse.SUPPRESS)
    parents = [common, options] if common is not None else [options]
    check = sub.add_parser(
        "check",
        parents=parents,
        help="ask the policy about one action, as an agent",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.set_defaults(handler=check_cmd)
    kinds = check.add_subparsers(dest="kind", metavar="KIND", required=True)

    def kind(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = kinds.add_parser(name, parents=[late], help=help_text, description=help_text)
        return p

    p = kind("shell", "a shell command line (quote it: 'curl … | sh' is one action)")
    p.add_argument(
        "command",
        nargs="+",
        help="the command line (words are joined with spaces; put -- before words that start with -)",
    )
    p.add_argument("--cwd", metavar="DIR", help="the working directory it would run in")

    p = kind("file", "a file operation")
    p.add_argument("path", help="the path, as the agent would pass it")
    p.add_argument("--op", default="read", help="read, write, append, delete, list… (default read)")
    p.add_argument("--cwd", metavar="DIR", help="what a relative path is relative to (default: this directory)")

    p = kind("http", "an HTTP request")
    p.add_argument("method", help="GET, POST, …")
    p.add_argument("url")
    p.add_argument("--body", metavar="TEXT", help="the request body")

    p = kind("mcp", "an MCP tool call")
    p.add_argument("server", help="the MCP server's name")
    p.add_argument("tool_name", metavar="tool", help="the tool's name (as the bundle's tools section knows it)")
    p.add_argument("arguments", nargs="?", default="{}", metavar="JSON", help="the arguments, a JSON object")

    p = kind("llm", "an LLM call")
    p.add_argument("provider")
    p.add_argument("model")
    p.add_argument("--max-tokens", type=int, metavar="N")

    p = kind("k8s", "a Kubernetes API call")
    p.add_argument("verb", help="get, create, delete, …")
    p.add_argument("resource", help="pods, deployments, …")
    p.add_argument("-n", "--namespace")
    p.add_argument("--name")
    p.add_argument("--cluster")

    p = kind("aws", "an AWS API call")
    p.add_argument("service", help="s3, iam, …")
    p.add_argument("operation", help="DeleteBucket, …")
    p.add_argument("--region")
    p.add_argument("--resource", metavar="ARN")

    p = kind("spawn", "starting a child agent")
    p.add_argument("child", help="the child agent's id")
    p.add_argument("--scope", action="append", dest="scopes", metavar="SCOPE", help="a scope to give it (repeatable)")


def _add_options(p: argparse.ArgumentParser, *, default: Any) -> None:
    g = p.add_argument_group("check")
    g.add_argument("--agent", metavar="ID", default=default, help="the agent (reads its default credentials file)")
    g.add_argument("--credentials", metavar="FILE", default=default, help="the agent's credentials file")
    g.add_argument("--session", metavar="ID", default=default, help="the session the action belongs to")
    g.add_argument(
        "--tool",
        metavar="NAME",
        default=default,
        help="the agent's tool, as the bundle's tools section names it, e.g. run_shell "
        "(default: shell, llm, kubectl, aws for those kinds, none for the others)",
    )
    g.add_argument("--trace-id", metavar="ID", default=default, help="join this trace (default: a new one)")
    g.add_argument(
        "--context", metavar="JSON", default=default, help="extra facts for the policy, a JSON object (request.context)"
    )
    g.add_argument(
        "--estimated-usd-micros", type=int, metavar="N", default=default, help="expected cost (for budget rules)"
    )
    g.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=1.0 if default is None else default,
        help="deadline for the decision (default 1.0)",
    )
    g.add_argument("--json", action="store_true", default=False if default is None else default, help="print JSON")


def build_action(args: argparse.Namespace) -> Action:
    """The action the arguments describe; ValueError with a message for a bad one."""
    from agentgov.sdk import actions

    tool: dict[str, Any] = {"tool": args.tool} if getattr(args, "tool", None) is not None else {}
    match args.kind:
        case "shell":
            return actions.shell(" ".join(args.command), cwd=args.cwd, **tool)
        case "file":
            return actions.file(args.path, op=args.op, cwd=args.cwd, **tool)
        case "http":
            return actions.http(args.method, args.url, args.body, **tool)
        case "mcp":
            return actions.mcp_tool(args.server, args.tool_name, _json_object(args.arguments, "the MCP arguments"))
        case "llm":
            return actions.llm_call(args.provider, args.model, max_tokens=args.max_tokens, **tool)
        case "k8s":
            return actions.k8s(args.verb, args.resource, args.namespace, args.name, args.cluster, **tool)
        case "aws":
            return actions.aws(args.service, args.operation, args.region, args.resource, **tool)
        case "spawn":
            return actions.spawn(args.child, args.scopes, **tool)
    raise ValueError(f"unknown action kind {args.kind!r}")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} are not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def check_cmd(args: argparse.Namespace) -> int:
    """``check`` (the handler main calls)."""
    return asyncio.run(run(args))


async def run(args: argparse.Namespace) -> int:
    """Connect as the agent, check once, print the decision; the exit status says the verdict."""
    import msgspec

    from agentgov.contracts.errors import InvalidIdError
    from agentgov.sdk import ConfigurationError, ConnectError

    try:
        action = build_action(args)
        context = _json_object(args.context, "--context values") if args.context else None
    except (ValueError, InvalidIdError) as exc:
        error(str(exc))
        return EXIT_USAGE
    try:
        client = await _connect(args)
    except (ConfigurationError, ConnectError) as exc:
        error(str(exc))
        return EXIT_ERROR
    try:
        started = time.perf_counter()
        decision = await client.check(
            action,
            session=args.session,
            trace_id=args.trace_id,
            timeout=args.timeout,
            estimated_usd_micros=args.estimated_usd_micros,
            context=context,
        )
        round_trip_us = int((time.perf_counter() - started) * 1_000_000)
    except (ValueError, ConfigurationError) as exc:
        error(str(exc))
        return EXIT_USAGE
    finally:
        await client.close()
    if args.json:
        body = msgspec.to_builtins(decision)
        body["round_trip_us"] = round_trip_us
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        print_decision(decision, action, round_trip_us, colour=_use_colour())
    return EXIT_CODES[decision.verdict]


async def _connect(args: argparse.Namespace) -> Client:
    from agentgov.sdk import Client

    options: dict[str, Any] = {"default_timeout": args.timeout}
    if getattr(args, "nats_url", None):
        options["url"] = args.nats_url
    if getattr(args, "nats_user", None):
        options["user"] = args.nats_user
        options["password"] = args.nats_password or os.environ.get("AGENTGOV_NATS_PASSWORD")
    if args.credentials:
        return await Client.connect(credentials=args.credentials, agent=args.agent, **options)
    if args.agent:
        return await Client.connect(agent=args.agent, **options)
    return await Client.from_env(**options)


def _use_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def print_decision(d: Decision, asked: Action, round_trip_us: int, *, colour: bool = False) -> None:
    """The decision for people: the verdict first, then why."""
    out = sys.stdout
    verdict = d.verdict.upper()
    if colour:
        verdict = f"\033[1;{_COLOURS[d.verdict]}m{verdict}\033[0m"
    risk = f"  risk {d.risk}" if d.risk else ""
    print(f"{verdict}  ({d.claim.replace('_', ' ')}){risk}", file=out)
    print(f"  action:    {_describe(asked)}", file=out)
    if d.rules:
        print("  rules:", file=out)
        width = max(len(r.id) for r in d.rules)
        for r in d.rules:
            print(f"    {r.effect:<7} {r.id:<{width}}  {r.reason}".rstrip(), file=out)
    shown = {r.reason for r in d.rules}
    extra = [reason for reason in d.reasons if reason not in shown]
    for reason in extra:
        print(f"  reason:    {reason}", file=out)
    for err in d.errors:
        print(f"  error:     {err}", file=out)
    for ev in d.evidence:
        where = f" in {ev.field}" if ev.field else ""
        print(f"  evidence:  {ev.category} (severity {ev.severity}){where} {ev.detail}".rstrip(), file=out)
    for red in d.redactions:
        print(f"  redacted:  {red.kind} in {red.field} [{red.start}:{red.end}]", file=out)
    if d.verdict == "redact" and d.action is not None:
        print(f"  run as:    {_describe(d.action)}", file=out)
    if d.code:
        print(f"  code:      {d.code}", file=out)
    if d.decision_id:
        print(
            f"  policy:    revision {d.policy_revision} · decision {d.decision_id} (stream seq {d.stream_seq})"
            + (" · repeated request" if d.duplicate else ""),
            file=out,
        )
    service = f" · {d.latency_us} µs in the policy service" if d.latency_us else ""
    print(f"  latency:   {round_trip_us / 1000:.2f} ms round trip{service}", file=out)
    if d.trace_id:
        print(f"  trace:     {d.trace_id}", file=out)


def _describe(a: Action) -> str:
    parts: list[str] = [a.kind]
    if a.tool and a.tool != a.kind:
        parts.append(a.tool)
    if a.target:
        parts.append(a.target)
    if a.args:
        parts.append(json.dumps(a.args, ensure_ascii=False, separators=(",", ":")))
    text = " ".join(parts)
    return text if len(text) <= 200 else text[:197] + "..."
