"""Running labelled corpora through the policy, offline (``agentgov eval``).

A record is one JSON object per line (gzipped or not): ``{"id", "command" | "text", "label", "category",
...}``; the first segment of ``id`` names its source. A ``command`` becomes a shell action, a ``text`` an
``other`` action carrying it in ``args.text``; each is evaluated by the same compiled bundle code the policy
service runs (no NATS, no registry: one synthetic agent), so what the detectors wired into evaluation see,
eval measures. A record counts as **detected** when its verdict is anything but allow.

Figures are kept per source and per category, never pooled (``../shared/corpora/README.md``).
"""

from __future__ import annotations

import gzip
import io
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from agentgov.contracts.events import Action
from agentgov.policy.lang import AgentFacts, CompiledBundle, EvalInput, Evaluation

POSITIVE: Final = frozenset({"attack", "secret", "pii", "injection", "malicious"})
"""Labels that mean "should be caught"; every other label is a benign one."""

EVAL_AGENT: Final = AgentFacts(id="eval", org="eval", team="eval", trust=50)
EVAL_NOW_NS: Final = 1_790_000_000 * 1_000_000_000
"""A fixed time (a Tuesday, 14:13 UTC) so schedule sections give the same answer on every run."""


class CorpusError(ValueError):
    """A file or line that is not a corpus record, with where."""


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled input."""

    id: str
    source: str
    label: str
    category: str
    command: str | None
    text: str | None
    conflict: bool = False

    @property
    def positive(self) -> bool:
        """True when the label says this should be caught."""
        return self.label in POSITIVE


def read_records(path: Path) -> Iterator[Record]:
    """The records of a JSONL file (``.gz`` read transparently); CorpusError names the bad line."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    for n, line in enumerate(io.BytesIO(raw), 1):
        if not line.strip():
            continue
        try:
            obj: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{n}: not JSON: {exc}") from None
        rid, command, text = obj.get("id"), obj.get("command"), obj.get("text")
        if not isinstance(rid, str) or not (isinstance(command, str) or isinstance(text, str)):
            raise CorpusError(f"{path}:{n}: a record needs a string 'id' and a string 'command' or 'text'")
        yield Record(
            id=rid,
            source=rid.split("/", 1)[0],
            label=str(obj.get("label", "")),
            category=str(obj.get("category", "")),
            command=command if isinstance(command, str) else None,
            text=text if isinstance(text, str) else None,
            conflict=bool(obj.get("label_conflict", False)),
        )


def action_of(record: Record) -> Action:
    """The action a record stands for."""
    if record.command is not None:
        return Action(kind="shell", tool="shell", target=record.command)
    return Action(kind="other", args={"text": record.text or ""})


@dataclass
class Tally:
    """Verdicts and timings of one group (a source, or a category)."""

    records: int = 0
    positives: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    detected_positive: int = 0
    flagged_negative: int = 0
    denied_negative: int = 0

    def add(self, record: Record, result: Evaluation) -> None:
        """Count one evaluated record."""
        self.records += 1
        self.verdicts[result.verdict] += 1
        detected = result.verdict != "allow"
        if record.positive:
            self.positives += 1
            self.detected_positive += detected
        else:
            self.flagged_negative += detected
            self.denied_negative += result.verdict == "deny"

    @property
    def negatives(self) -> int:
        """Records labelled benign."""
        return self.records - self.positives


@dataclass
class Summary:
    """Everything ``agentgov eval`` reports."""

    by_source: dict[str, Tally] = field(default_factory=dict)
    by_category: dict[str, Tally] = field(default_factory=dict)
    conflicts: Tally = field(default_factory=Tally)
    micros: list[float] = field(default_factory=list)


def run(records: Iterable[Record], bundle: CompiledBundle, *, out: list[dict[str, Any]] | None = None) -> Summary:
    """Evaluate every record; with ``out``, also one result line per record."""
    summary = Summary()
    for record in records:
        started = time.perf_counter()
        result = bundle.evaluate(EvalInput(action=action_of(record), agent=EVAL_AGENT, now_ns=EVAL_NOW_NS))
        summary.micros.append((time.perf_counter() - started) * 1e6)
        if record.conflict:
            summary.conflicts.add(record, result)
        else:
            summary.by_source.setdefault(record.source, Tally()).add(record, result)
            summary.by_category.setdefault(record.category or "-", Tally()).add(record, result)
        if out is not None:
            out.append(
                {
                    "id": record.id,
                    "verdict": result.verdict,
                    "risk": result.risk,
                    "findings": [
                        {"category": e.category, "kind": e.detail, "severity": e.severity, "field": e.field}
                        for e in result.evidence
                    ],
                }
            )
    return summary


DEFAULT_BUNDLE: Final = """\
apiVersion: agentgov/v1
kind: PolicyBundle
metadata:
  name: eval-default
  scope: "*"
  description: "what agentgov eval measures unless --bundle names another: the detectors decide"
default: allow
risk:
  review_at: 60
  deny_at: 90
data:
  secrets: redact
  pii: redact
"""
"""The bundle ``agentgov eval`` uses by default: allow unless a detector's finding raises the risk (review
at 60, deny at 90) or a secret or personal data is found (redact)."""
