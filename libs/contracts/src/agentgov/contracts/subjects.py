"""Subject builders (DESIGN.md §2). Every builder validates its ids and raises InvalidIdError otherwise."""

from __future__ import annotations

from agentgov.contracts.ids import check_token

PREFIX = "gov"

POLICY = "gov.policy"
CHECKPOINT = "gov.audit.checkpoint"
CHAIN_BROKEN = "gov.audit.diag.chain"
MALFORMED = "gov.audit.diag.malformed"


def check(agent: str) -> str:
    """``gov.check.<agent>``: CheckAction requests (core NATS request/reply, never stored)."""
    return f"gov.check.{check_token('agent', agent)}"


def decision(agent: str) -> str:
    """``gov.decision.<agent>``: ActionDecided."""
    return f"gov.decision.{check_token('agent', agent)}"


def observe(source: str, agent: str) -> str:
    """``gov.observe.<source>.<agent>``: collector observations."""
    return f"gov.observe.{check_token('source', source)}.{check_token('agent', agent)}"


def spend(agent: str) -> str:
    """``gov.spend.<agent>``: SpendRecorded."""
    return f"gov.spend.{check_token('agent', agent)}"


def usage(agent: str) -> str:
    """``gov.usage.<agent>``: RecordSpend requests (core NATS request/reply to the budget service, never
    stored; the budget service records the priced SpendRecorded on ``gov.spend.<agent>``)."""
    return f"gov.usage.{check_token('agent', agent)}"


def budget(scope: str) -> str:
    """``gov.budget.<scope>``: budget reservations, alerts, resets."""
    return f"gov.budget.{check_token('scope', scope)}"


def approval(agent: str) -> str:
    """``gov.approval.<agent>``: approval requests and resolutions."""
    return f"gov.approval.{check_token('agent', agent)}"


def anomaly(agent: str) -> str:
    """``gov.anomaly.<agent>``: anomalies, pauses and resumes."""
    return f"gov.anomaly.{check_token('agent', agent)}"


REJECTING_SERVICES = ("approval", "anomaly")
"""The services that append EventRejected, each below its own subject prefix (which its NATS user may write)."""


def rejected(service: str) -> str:
    """``gov.<service>._rejected``: the EventRejected a service appends for events it refused. The leading
    ``_`` keeps it apart from ``gov.<service>.<agent>`` (an agent id starts with a letter or digit)."""
    if service not in REJECTING_SERVICES:
        raise ValueError(f"{service!r} does not append EventRejected (one of {', '.join(REJECTING_SERVICES)})")
    return f"gov.{service}._rejected"


def registry(subject_id: str) -> str:
    """``gov.registry.<id>``: agent registrations and producer keys (the id is the agent or producer)."""
    return f"gov.registry.{check_token('registry', subject_id)}"


def inbox_prefix(agent: str) -> str:
    """The reply-inbox prefix an agent's connection must use; its NATS user may subscribe only below it."""
    return f"_INBOX_{check_token('agent', agent)}"
