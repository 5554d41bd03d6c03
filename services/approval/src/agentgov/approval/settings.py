"""Approval service settings: from the environment (``AGENTGOV_*``), overridable by command-line flags."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from agentgov.identity.operators import trust_file
from agentgov.streaming import home


class ApprovalSettings(BaseModel, frozen=True):
    """How the approval service runs."""

    database: str = Field(description="approval history: SQLite path or postgresql:// URL")
    operators_file: Path = Field(description="trust file of operator keys (approvers and their scopes)")
    rebuild: bool = Field(False, description="empty the history and replay the stream from the start")
    tick_s: float = Field(1.0, gt=0, le=60, description="how often expiries are checked when the stream is idle")
    history_window_s: float = Field(
        172_800.0, gt=0, description="resolved approvals kept in memory (to answer late resolutions); pending always"
    )
    webhook_url: str | None = Field(None, description="generic JSON webhook for approval events")
    slack_url: str | None = Field(None, description="Slack-compatible incoming webhook for approval events")
    notify_queue: int = Field(1000, ge=1, description="notifications waiting at most; newer ones are dropped")
    notify_retries: int = Field(5, ge=0, le=20, description="retries of a failed notification")
    notify_backoff_s: float = Field(0.5, gt=0, description="first retry delay; doubles each retry")
    notify_max_backoff_s: float = Field(30.0, gt=0)
    notify_timeout_s: float = Field(5.0, gt=0, description="HTTP timeout of one notification attempt")
    notify_max_age_s: float = Field(
        300.0, ge=0, description="events older than this are not notified (a replay or rebuild stays quiet)"
    )

    @field_validator("webhook_url", "slack_url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("a webhook URL must start with http:// or https://")
        return url or None

    @classmethod
    def from_env(cls, **overrides: object) -> ApprovalSettings:
        """Defaults, then ``AGENTGOV_DATABASE_URL`` / ``AGENTGOV_OPERATORS_FILE`` /
        ``AGENTGOV_APPROVAL_WEBHOOK_URL`` / ``AGENTGOV_APPROVAL_SLACK_URL``, then overrides."""
        base = home.home()
        values: dict[str, object] = {
            "database": os.environ.get("AGENTGOV_DATABASE_URL") or str(base / "approval.db"),
            "operators_file": trust_file(base),
            "webhook_url": os.environ.get("AGENTGOV_APPROVAL_WEBHOOK_URL") or None,
            "slack_url": os.environ.get("AGENTGOV_APPROVAL_SLACK_URL") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
