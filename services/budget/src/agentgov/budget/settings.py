"""Budget service settings: from the environment (``AGENTGOV_*``), overridable by command-line flags."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

from agentgov.identity.operators import trust_file
from agentgov.streaming import home

QUEUE_GROUP = "budget"
"""Every instance answers ``gov.usage.*`` in this queue group."""


class BudgetSettings(BaseModel, frozen=True):
    """How the budget service runs."""

    operators_file: Path = Field(description="trust file of operator keys (who may publish pricing and limits)")
    redis_url: str | None = Field(None, description="Redis for the ledger (JetStream KV when unset)")
    ledger_bucket: str = Field("agentgov_budget", description="JetStream KV bucket of the ledger")
    state_bucket: str = Field("agentgov_budget_state", description="JetStream KV bucket of the snapshot")
    queue_group: str = QUEUE_GROUP
    default_tz: str = Field("UTC", description="time zone of daily/monthly spend of scopes without a limit")
    hold_ttl_s: float = Field(300.0, gt=0, description="how long a reservation lives (matches the policy's)")
    tick_s: float = Field(1.0, gt=0, description="how often windows are rolled over when no spend arrives")
    batch: int = Field(1000, ge=1, description="stream messages applied per batch")
    ready_timeout_s: float = Field(60.0, gt=0, description="how long to wait for the projection to catch up")
    rebuild: bool = Field(False, description="reset the ledger and replay the stream from the start")

    @classmethod
    def from_env(cls, **overrides: object) -> BudgetSettings:
        """Defaults, then ``AGENTGOV_REDIS_URL`` / ``AGENTGOV_OPERATORS_FILE``, then overrides."""
        values: dict[str, object] = {
            "operators_file": trust_file(home.home()),
            "redis_url": os.environ.get("AGENTGOV_REDIS_URL") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
