"""Anomaly service settings: from the environment (``AGENTGOV_*``), overridable by command-line flags.

The detection thresholds are not here: they come from the ``anomaly:`` section of the active policy bundle
(:mod:`agentgov.anomaly.config`), so they change with a signed bundle revision, not a restart.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

from agentgov.contracts.streams import GOV
from agentgov.identity.operators import trust_file
from agentgov.streaming import home


class AnomalySettings(BaseModel, frozen=True):
    """How the anomaly service runs."""

    stream: str = GOV
    operators_file: Path = Field(
        description="trust file of operator keys: only bundles they signed (role policy) set the thresholds"
    )
    snapshot_file: Path = Field(description="SQLite file holding the baselines snapshot and its stream position")
    snapshot_every: int = Field(5000, ge=1, description="snapshot after this many applied events...")
    snapshot_interval_s: float = Field(5.0, gt=0, description="...or this many seconds, when something changed")
    batch: int = Field(1000, ge=1, le=10_000)
    max_skew_s: float = Field(3600.0, gt=0, description="skip events whose ts is this far from their store time")
    rebuild: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> AnomalySettings:
        """Defaults, then ``AGENTGOV_ANOMALY_SNAPSHOT`` / ``AGENTGOV_ANOMALY_SNAPSHOT_EVERY`` /
        ``AGENTGOV_OPERATORS_FILE``, then overrides."""
        base = home.home()
        values: dict[str, object] = {
            "snapshot_file": os.environ.get("AGENTGOV_ANOMALY_SNAPSHOT") or base / "anomaly.db",
            "operators_file": trust_file(base),
        }
        if os.environ.get("AGENTGOV_ANOMALY_SNAPSHOT_EVERY"):
            values["snapshot_every"] = os.environ["AGENTGOV_ANOMALY_SNAPSHOT_EVERY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
