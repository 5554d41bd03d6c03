"""`agentgov --help` and the light commands start fast: the parser loads no service, NATS or CEL module."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agentgov.cli import cmd_agent, cmd_audit
from agentgov.contracts import streams
from agentgov.identity import tokens

HEAVY_PACKAGES = {"cel", "prompt_toolkit", "redis", "tree_sitter", "nats", "msgspec", "pydantic", "cryptography"}

PROBE = """\
import json, sys
from agentgov.cli.main import build_parser, main
argv = json.loads(sys.argv[1])
try:
    main(argv) if argv else build_parser()
except SystemExit:
    pass
heavy = set(json.loads(sys.argv[2]))
print(json.dumps(sorted(
    k for k in sys.modules
    if k.split(".")[0] in heavy or (k.startswith("agentgov.") and not k.startswith("agentgov.cli"))
)))
"""


@pytest.mark.parametrize(
    "argv",
    [[], ["--help"], ["approvals", "list", "--help"], ["agent", "resume", "--help"], ["policy", "replay", "--help"]],
    ids=lambda a: " ".join(a) or "build_parser()",
)
def test_the_parser_imports_no_service(argv: list[str]) -> None:
    """Building the parser and printing help import no service, NATS, CEL or Redis module (a fresh process)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(sorted(HEAVY_PACKAGES))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_defaults_copied_to_keep_help_light_match_their_source() -> None:
    """The defaults the parser holds itself (so as not to import their modules) equal the originals."""
    assert cmd_agent.DEFAULT_TTL_S == tokens.DEFAULT_TTL_S
    assert (cmd_audit.GOV, cmd_audit.CHECKPOINTS) == (streams.GOV, streams.CHECKPOINTS)
