"""The public names of agentgov.sdk are pinned, and the SDK stays light."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from agentgov import sdk


def test_public_api_is_pinned() -> None:
    """__all__ lists exactly the names we promise; change this test deliberately when it grows."""
    assert sorted(sdk.__all__) == sorted(
        [
            "Action",
            "ActionBlocked",
            "ActionDecided",
            "ActionDenied",
            "ActionPending",
            "AgentCredentials",
            "AgentgovError",
            "Client",
            "ConfigurationError",
            "ConnectError",
            "Decision",
            "SpendRefused",
            "SyncClient",
            "TicketClaims",
            "TicketError",
            "TicketExpired",
            "TicketInvalid",
            "TicketMismatch",
            "TicketReplayed",
            "TicketVerifier",
            "actions",
            "current_trace_id",
            "guard",
            "trace",
        ]
    )
    for name in sdk.__all__:
        assert hasattr(sdk, name), name


def test_error_hierarchy() -> None:
    """Every SDK error derives from AgentgovError; denied and pending are both ActionBlocked."""
    assert issubclass(sdk.ActionDenied, sdk.ActionBlocked) and issubclass(sdk.ActionPending, sdk.ActionBlocked)
    for err in (sdk.ActionBlocked, sdk.ConfigurationError, sdk.ConnectError):
        assert issubclass(err, sdk.AgentgovError)


def test_sdk_imports_only_contracts_nats_and_msgspec() -> None:
    """The SDK depends on agentgov.contracts, nats-py and msgspec only: never the streaming library or a service."""
    src = Path(sdk.__file__).parent
    allowed = {"agentgov.contracts", "agentgov.sdk", "nats", "msgspec"}
    for path in src.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "agentgov":
                    assert ".".join(name.split(".")[:2]) in allowed, f"{path.name} imports {name}"
                else:
                    assert top in {"nats", "msgspec"} or top in sys.stdlib_module_names, f"{path.name} imports {name}"
