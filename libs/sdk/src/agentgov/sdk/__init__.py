"""agentgov Python SDK: ask the policy before an agent acts, guard tool functions, follow decisions.

::

    from agentgov.sdk import Client, actions

    async with Client.connect(credentials="~/.agentgov/agents/a1.json") as client:
        decision = await client.check(actions.shell("git push"))
        if decision.verdict == "allow": ...

The public names are listed in ``__all__`` and pinned by ``tests/test_public_api.py``; the modules behind
them (``client``, ``sync``, ``guard``, ``actions``, ``decisions``, ``credentials``, ``tracing``,
``errors``, ``tickets``) stay importable as ``agentgov.sdk.X`` for everything else.
"""

from agentgov.contracts.events import Action, ActionDecided
from agentgov.contracts.requests import Decision
from agentgov.sdk import actions
from agentgov.sdk.client import Client
from agentgov.sdk.credentials import AgentCredentials
from agentgov.sdk.errors import (
    ActionBlocked,
    ActionDenied,
    ActionPending,
    AgentgovError,
    ConfigurationError,
    ConnectError,
    SpendRefused,
    TicketError,
    TicketExpired,
    TicketInvalid,
    TicketMismatch,
    TicketReplayed,
)
from agentgov.sdk.guard import guard
from agentgov.sdk.sync import SyncClient
from agentgov.sdk.tickets import TicketClaims, TicketVerifier
from agentgov.sdk.tracing import current_trace_id, trace

__all__ = [
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
