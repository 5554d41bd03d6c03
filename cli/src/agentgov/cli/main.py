"""``agentgov``: the command-line program. Parses arguments and hands each command to its module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from agentgov.cli import (
    cmd_agent,
    cmd_approvals,
    cmd_audit,
    cmd_budget,
    cmd_check,
    cmd_cost,
    cmd_eval,
    cmd_policy,
    cmd_run,
)

# Commands whose module imports the services at the top (``up`` runs them all in one process): loaded only
# when named on the command line; otherwise the parser just lists them, so `agentgov --help` stays fast.
HEAVY_COMMANDS = {"up": ("agentgov.cli.cmd_up", "start embedded NATS, the services and a demo")}

DESCRIPTION = """\
agentgov: a zero-trust governance runtime for AI agents.

Every check, decision, spend record and observation is an event on one hash-chained JetStream stream
(GOV); services are projections of it, and anyone with the keys can verify it offline.

Start here:
  agentgov up                 embedded NATS + services + a short demo (what `make up` runs)
  agentgov check --agent a1 shell 'rm -rf /'   ask the policy for a decision
  agentgov policy validate FILE   check a bundle; `policy publish FILE` makes it active
  agentgov agent register a1 --org acme --team payments   an agent, its token and credentials
  agentgov audit verify       verify the stream's chains, signatures and checkpoints
  agentgov audit replay       the events, in order, filtered
"""

EPILOG = """\
Connection: commands find the server `agentgov up` started through $AGENTGOV_HOME (default ~/.agentgov).
Use --nats-url (or AGENTGOV_NATS_URL, AGENTGOV_NATS_USER, AGENTGOV_NATS_PASSWORD) for another server.
"""


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it).

    A command of HEAVY_COMMANDS gets its full subparser only when ``argv`` names it; else a placeholder
    that shows its help line and, when chosen, runs ``main`` again with the real one.
    """
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("connection")
    g.add_argument("--nats-url", metavar="URL", help="use this NATS server instead of the one `agentgov up` started")
    g.add_argument("--nats-user", metavar="USER", help="NATS user (default: the admin user of `agentgov up`)")
    g.add_argument("--nats-password", metavar="PASSWORD", help="NATS password (prefer AGENTGOV_NATS_PASSWORD)")
    common.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")

    parser = argparse.ArgumentParser(
        prog="agentgov",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in HEAVY_COMMANDS.items():
        if name == chosen:
            importlib.import_module(module).add_parser(sub, common)
        else:
            sub.add_parser(name, help=help_text).set_defaults(handler=lambda args: main([args.command]))
    cmd_run.add_parser(sub, common)
    cmd_audit.add_parser(sub, common)
    cmd_agent.add_parser(sub, common)
    cmd_policy.add_parser(sub, common)
    cmd_check.add_parser(sub, common)
    cmd_eval.add_parser(sub, common)
    cmd_approvals.add_parser(sub, common)
    cmd_budget.add_parser(sub, common)
    cmd_cost.add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit status (0 ok, 1 verification failed or error, 2 usage)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level={0: logging.WARNING, 1: logging.INFO}.get(getattr(args, "verbose", 0), logging.DEBUG),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = args.handler
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
