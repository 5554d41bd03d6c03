"""Audit service settings: from the environment (``AGENTGOV_*``), overridable by command-line flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from agentgov.contracts.streams import AUDIT_CONSUMER, CHECKPOINTS
from agentgov.streaming import home


class AuditSettings(BaseModel, frozen=True):
    """How the audit service runs."""

    stream: str = AUDIT_CONSUMER.stream
    checkpoint_stream: str = CHECKPOINTS
    database: str = Field(description="SQLite path or postgresql:// URL of the read model")
    key_file: Path = Field(description="the audit producer's Ed25519 key (created on first run)")
    seal_every: int = Field(1000, ge=1, le=100_000, description="seal a checkpoint every N messages")
    seal_interval_ms: int = Field(1000, ge=10, description="...or every T ms when messages are waiting")
    batch: int = Field(1000, ge=1, le=10_000)
    rebuild: bool = False
    writer: Literal["process", "thread"] = Field(
        "process", description="commit the read model in a child process (beside verification) or a thread"
    )

    @field_validator("database")
    @classmethod
    def _database(cls, v: str) -> str:
        if not v:
            raise ValueError("empty database target")
        return v

    @classmethod
    def from_env(cls, **overrides: object) -> AuditSettings:
        """Defaults, then ``AGENTGOV_DATABASE_URL`` / ``AGENTGOV_AUDIT_SEAL_EVERY`` / ..., then overrides."""
        base = home.home()
        values: dict[str, object] = {
            "database": os.environ.get("AGENTGOV_DATABASE_URL") or str(base / "audit.db"),
            "key_file": base / "keys" / "audit.ed25519",
        }
        for name, var in (
            ("seal_every", "AGENTGOV_AUDIT_SEAL_EVERY"),
            ("seal_interval_ms", "AGENTGOV_AUDIT_SEAL_MS"),
        ):
            if os.environ.get(var):
                values[name] = os.environ[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
