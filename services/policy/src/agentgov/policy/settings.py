"""Policy service settings: from the environment (``AGENTGOV_*``), overridable by command-line flags."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

from agentgov.contracts.requests import MAX_REQUEST_BYTES
from agentgov.identity.operators import trust_file
from agentgov.streaming import home

QUEUE_GROUP = "policy"
"""Every replica subscribes to ``gov.check.*`` in this queue group, so each request reaches one replica."""


class PolicySettings(BaseModel, frozen=True):
    """How one policy replica runs."""

    operators_file: Path = Field(description="trust file of operator keys (roles and scopes)")
    salt_file: Path = Field(description="salt for the hashes of redacted values (created on first run)")
    redis_url: str | None = Field(None, description="Redis for rate limits shared by every replica")
    redis_prefix: str = "agentgov:rl:"
    queue_group: str = QUEUE_GROUP
    max_request_bytes: int = Field(MAX_REQUEST_BYTES, ge=1024)
    max_in_flight: int = Field(1024, ge=1, description="requests decided concurrently by this replica")
    dedup_entries: int = Field(100_000, ge=100, description="recent request ids remembered for retries")
    ready_timeout_s: float = Field(30.0, gt=0, description="how long to wait for the projections to catch up")
    session_ttl_s: float = Field(
        86_400.0, gt=0, description="how long an idle session's taint is kept (and how far back a replica reads)"
    )
    ticket_key_file: Path | None = Field(
        None, description="Ed25519 key of execution tickets (default: tickets.ed25519 beside the salt file)"
    )
    ticket_ttl_s: float = Field(60.0, gt=0, le=3600, description="how long an execution ticket stays valid")
    approval_use_grace_s: float = Field(
        600.0, ge=0, description="how long after an approval's expiry a grant may still be carried out"
    )
    budget_bucket: str = Field("agentgov_budget", description="JetStream KV bucket of the budget ledger (no Redis)")
    budget_prefix: str = Field("agentgov:budget:", description="Redis key prefix of the budget ledger")
    budget_hold_s: float = Field(
        900.0, gt=0, description="how long a budget reservation is held waiting for its SpendRecorded"
    )

    @classmethod
    def from_env(cls, **overrides: object) -> PolicySettings:
        """Defaults, then ``AGENTGOV_REDIS_URL`` / ``AGENTGOV_OPERATORS_FILE``, then overrides."""
        base = home.home()
        values: dict[str, object] = {
            "operators_file": trust_file(base),
            "salt_file": base / "keys" / "redaction.salt",
            "ticket_key_file": base / "keys" / "tickets.ed25519",
            "redis_url": os.environ.get("AGENTGOV_REDIS_URL") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
